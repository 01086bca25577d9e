// Malformed and abusive input through a running cachemux, for both
// protocols (issue 10): truncated commands, bad, negative and huge lengths,
// binary garbage, keys over 250 bytes, a request in 1-byte writes, 10,000
// pipelined requests in one write, a 64 MiB value.
//
// Each hostile connection must get the protocol's error or be closed, and
// must be closed once it half-closes (no hang). Meanwhile well-formed
// clients (tests/support/load.hpp) run on the same pool, hence on the same
// single server connection, and every one of their requests must get its
// own, right reply. The proxy must be alive at the end.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "load.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// Two pools behind one cachemux, one server connection each, with checked
// load running on both while the test sends its hostile input.
struct Bystanders {
    MemcachedServer memcached;
    RedisServer redis;
    std::unique_ptr<Proxy> proxy;
    std::unique_ptr<load::Load> mc_load;
    std::unique_ptr<load::Load> redis_load;

    Bystanders() {
        resp::require_redis_plugin(ProxyKind::Cachemux);
        PoolSpec mc;
        mc.name = "mc";
        mc.set("timeout", "2000");
        mc.servers = {ServerSpec{"127.0.0.1", memcached.port(), 1, ""}};
        PoolSpec rd;
        rd.name = "rd";
        rd.set("redis", "true").set("timeout", "2000");
        rd.servers = {ServerSpec{"127.0.0.1", redis.port(), 1, ""}};
        proxy = std::make_unique<Proxy>(ProxyKind::Cachemux, std::vector<PoolSpec>{mc, rd});
        mc_load = std::make_unique<load::Load>(options(load::Protocol::Memcache, proxy->port(0), "hm"));
        redis_load = std::make_unique<load::Load>(options(load::Protocol::Redis, proxy->port(1), "hr"));
        mc_load->start();
        redis_load->start();
    }

    static load::Options options(load::Protocol protocol, int port, const std::string& tag) {
        load::Options o;
        o.protocol = protocol;
        o.port = port;
        o.clients = 2;
        o.window = 8;
        o.tag = tag;
        o.pause = 2ms;
        o.max_duration = 120000ms;
        return o;
    }

    int mc_port() const { return proxy->port(0); }
    int redis_port() const { return proxy->port(1); }

    // The well-formed clients got every reply, each the right one, no error.
    void check() {
        std::uint64_t before = mc_load->replies() + redis_load->replies();
        std::this_thread::sleep_for(200ms);
        CHECK_MESSAGE(mc_load->replies() + redis_load->replies() > before,
                      "the well-formed clients made no progress at the end");
        for (load::Load* l : {mc_load.get(), redis_load.get()}) {
            const auto& results = l->stop();
            INFO(load::summary(results));
            for (const auto& r : results) {
                CHECK(r.failure == "");
                CHECK(r.errors == 0);
                CHECK(r.replies == r.sent);
                CHECK(r.replies > 0);
            }
        }
        CHECK_MESSAGE(proxy->process().running(), proxy->process().describe());
    }
};

struct Outcome {
    std::string reply;
    bool closed_before_eof = false;  // the proxy closed before we half-closed
    bool closed_after_eof = false;   // ...or within 2 s after
};

// Sends `bytes` on a fresh connection, reads what comes within `wait`, then
// half-closes and waits for the proxy to close.
Outcome probe(int port, std::string_view bytes, Millis wait = 300ms) {
    Connection c(port);
    Outcome o;
    try {
        c.send_all(bytes, 10000ms);
    } catch (const HarnessError&) {
        // The proxy closed while we were still writing: that is an answer too.
    }
    o.reply = c.read_for(wait);
    o.closed_before_eof = c.closed();
    if (!o.closed_before_eof) {
        c.shutdown_write();
        o.closed_after_eof = c.wait_closed(2000ms);
        o.reply += c.buffered();
    } else {
        o.closed_after_eof = true;
    }
    return o;
}

struct Case {
    const char* what;
    std::string bytes;
    std::string reply;  // what must come back before the proxy closes, exactly
    bool closes;        // the proxy closes without waiting for our EOF
};

void run_cases(int port, const std::vector<Case>& cases) {
    for (const Case& k : cases) {
        INFO(k.what << ": sent " << escape(k.bytes, 120));
        Outcome o = probe(port, k.bytes);
        CHECK(escape(o.reply) == escape(k.reply));
        CHECK(o.closed_before_eof == k.closes);
        CHECK_MESSAGE(o.closed_after_eof, "the proxy kept the connection open after the client's EOF");
    }
}

// Random bytes, each blob on its own connection: no crash, no hang.
void run_garbage(int port, std::uint32_t seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < 60; ++i) {
        std::string blob(1 + rng() % 3000, '\0');
        for (char& ch : blob) ch = static_cast<char>(rng());
        if (i % 3 == 0) blob += "\r\n";
        INFO("garbage blob " << i << ": " << escape(blob, 80));
        Outcome o = probe(port, blob, 20ms);
        CHECK_MESSAGE(o.closed_after_eof, "the proxy kept the connection open after the client's EOF");
    }
}

// One byte per write, with TCP_NODELAY, so the proxy sees every split.
std::string one_byte_at_a_time(int port, std::string_view request, std::size_t reply_size) {
    Connection c(port);
    int one = 1;
    setsockopt(c.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (char ch : request) {
        c.send_all(std::string_view(&ch, 1));
        std::this_thread::sleep_for(200us);
    }
    return c.read_exact(reply_size, 10000ms);
}

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

std::string big_value(std::size_t n) {
    std::string v(n, '\0');
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    return v;
}

}  // namespace

HARNESS_CACHEMUX_TEST("hostile input: memcache, malformed requests next to well-formed traffic") {
    Bystanders b;
    const int port = b.mc_port();
    run_cases(port, {
        {"key of 251 bytes", "get " + std::string(251, 'k') + "\r\n", "CLIENT_ERROR bad command line format\r\n", false},
        {"key of 250 bytes is fine", "get " + std::string(250, 'k') + "\r\n", "END\r\n", false},
        {"set with a 251-byte key", "set " + std::string(251, 'k') + " 0 0 1\r\nx\r\n",
         "CLIENT_ERROR bad command line format\r\nERROR\r\n", false},
        {"negative length", "set k 0 0 -1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n", false},
        {"huge length", "set k 0 0 99999999999999999999\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n",
         false},
        {"data longer than its length", "set k 0 0 3\r\nabcdef\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n", false},
        {"non-numeric flags", "set k abc 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n", false},
        {"non-numeric delta", "incr k abc\r\n", "CLIENT_ERROR invalid numeric delta argument\r\n", false},
        {"non-numeric exptime", "touch k abc\r\n", "CLIENT_ERROR invalid exptime argument\r\n", false},
        {"no key", "get\r\n", "ERROR\r\n", false},
        {"unknown command", "bogus k\r\n", "ERROR\r\n", false},
        {"binary garbage line", std::string("\x00\xff\xfe garbage\r\n", 14), "ERROR\r\n", false},
        {"empty line", "\r\n", "ERROR\r\n", false},
        {"truncated value", "set k 0 0 3\r\nab", "", false},
        {"truncated command line", "get k", "", false},
        {"a line longer than a buffer", std::string(20000, 'x') + "\r\n", "", true},
    });
    run_garbage(port, 1);

    {
        INFO("a request in 1-byte writes");
        std::string expected = "STORED\r\nVALUE hostile:split 5 5\r\nhello\r\nEND\r\n";
        CHECK(one_byte_at_a_time(port, "set hostile:split 5 0 5\r\nhello\r\nget hostile:split\r\n", expected.size()) ==
              expected);
    }
    {
        INFO("10,000 pipelined requests in one write");
        Connection c(port);
        std::string value = "VALUE hostile:pipe 0 3\r\nabc\r\nEND\r\n";
        c.send_all("set hostile:pipe 0 0 3\r\nabc\r\n" + repeat("get hostile:pipe\r\n", 10000));
        std::string replies = c.read_exact(8 + value.size() * 10000, 30000ms);
        CHECK(replies == "STORED\r\n" + repeat(value, 10000));
    }
    {
        INFO("a 64 MiB value: memcached refuses it, the connection goes on");
        Connection c(port);
        std::string value = big_value(64u << 20);
        c.send_all("set hostile:big 0 0 " + std::to_string(value.size()) + "\r\n", 10000ms);
        c.send_all(value, 60000ms);
        CHECK(c.mc("\r\n", 30000ms) == "SERVER_ERROR object too large for cache\r\n");
        CHECK(c.mc("get hostile:big\r\n") == "END\r\n");
    }
    b.check();
}

HARNESS_CACHEMUX_TEST("hostile input: redis, malformed requests next to well-formed traffic") {
    Bystanders b;
    const int port = b.redis_port();
    run_cases(port, {
        {"null multibulk (ignored, as redis does)", "*-1\r\n", "", false},
        {"empty multibulk (ignored, as redis does)", "*0\r\n", "", false},
        {"negative bulk length", "*1\r\n$-5\r\n", "", true},
        {"huge multibulk length", "*99999999999\r\n", "", true},
        {"huge bulk length", "*2\r\n$3\r\nGET\r\n$999999999999\r\n", "", true},
        {"bulk longer than its length", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nabcdef\r\n", "", true},
        {"integers for arguments", "*2\r\n:1\r\n:2\r\n", "", true},
        {"unknown command", "*1\r\n$3\r\nFOO\r\n", "-ERR unknown command 'FOO', with args beginning with: \r\n", false},
        {"binary garbage (an inline command)", std::string("\x00\xff garbage\r\n", 12),
         "-ERR unknown command '" + std::string("\x00\xff", 2) + "', with args beginning with: 'garbage' \r\n", false},
        {"inline command", "GET hostile:nokey\r\n", "$-1\r\n", false},
        {"key of 10,000 bytes is fine", resp::cmd("GET", std::string(10000, 'k')), "$-1\r\n", false},
        {"truncated bulk", "*2\r\n$3\r\nGET\r\n$1\r\nk", "", false},
    });
    run_garbage(port, 2);

    {
        INFO("a request in 1-byte writes");
        std::string expected = "+OK\r\n$5\r\nhello\r\n";
        CHECK(one_byte_at_a_time(port, resp::cmd("SET", "hostile:split", "hello") + resp::cmd("GET", "hostile:split"),
                                 expected.size()) == expected);
    }
    {
        INFO("10,000 pipelined requests in one write");
        Connection c(port);
        c.send_all(resp::cmd("SET", "hostile:pipe", "abc") + repeat(resp::cmd("GET", "hostile:pipe"), 10000));
        std::string replies = c.read_exact(5 + 9 * 10000, 30000ms);
        CHECK(replies == "+OK\r\n" + repeat("$3\r\nabc\r\n", 10000));
    }
    {
        INFO("a 64 MiB value, stored and read back whole");
        Connection c(port);
        std::string value = big_value(64u << 20);
        c.send_all(resp::cmd("SET", "hostile:big", value), 60000ms);
        CHECK(c.read_exact(5, 30000ms) == "+OK\r\n");
        c.send_all(resp::cmd("STRLEN", "hostile:big"));
        CHECK(c.read_until("\r\n") == ":" + std::to_string(value.size()) + "\r\n");
        c.send_all(resp::cmd("GET", "hostile:big"));
        std::string header = "$" + std::to_string(value.size()) + "\r\n";
        std::string reply = c.read_exact(header.size() + value.size() + 2, 60000ms);
        CHECK(reply.compare(0, header.size(), header) == 0);
        CHECK((reply.substr(header.size(), value.size()) == value));
        c.send_all(resp::cmd("DEL", "hostile:big"));
        CHECK(c.read_until("\r\n") == ":1\r\n");
        // The reply was held whole before it went out; the buffers that held
        // it go back to the system within the next trims (once a second).
        std::this_thread::sleep_for(2500ms);
        std::size_t rss = load::rss_kib(b.proxy->process().pid());
        MESSAGE("cachemux RSS 2.5 s after a 64 MiB GET: " << rss << " KiB");
        if (!kSanitized) CHECK(rss < 32 * 1024);
    }
    b.check();
}
