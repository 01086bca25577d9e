// The stats port: nutcracker 0.5.0's JSON (same keys, same order, same
// counts for the same traffic), Prometheus text on GET /metrics, and -D.
#include <doctest/doctest.h>

#include <csignal>
#include <map>
#include <thread>

#include "harness.hpp"
#include "stats_flat.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// ------------------------------------------------------------ flat JSON

using Flat = FlatStats;

// What a plain reader gets from the stats port: everything until the close.
std::string read_stats_raw(int port) {
    Connection c(port);
    std::string all = read_to_close(c);
    REQUIRE_MESSAGE(c.closed(), "the stats port did not close after " << escape(all));
    return all;
}

std::string leaf(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// Fields that are moments or identities, not counts.
bool is_counted(const std::string& path) {
    static const char* kNot[] = {"service", "source", "version", "uptime", "timestamp", "server_ejected_at"};
    for (const char* k : kNot)
        if (leaf(path) == k) return false;
    return true;
}

std::map<std::string, long long> counts(const Flat& flat) {
    std::map<std::string, long long> out;
    for (const auto& [k, v] : flat)
        if (is_counted(k)) out[k] = std::stoll(v);
    return out;
}

// nutcracker moves its numbers to the stats thread at intervals (-i 100
// here), so a read may show part of a burst: read until two reads agree.
Flat settled_stats(int port) {
    Flat last = flatten_stats(read_stats_raw(port));
    for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
        std::this_thread::sleep_for(300ms);
        Flat now = flatten_stats(read_stats_raw(port));
        if (counts(now) == counts(last)) return now;
        last = std::move(now);
    }
    return last;
}

// Counters (not gauges) as a difference from a baseline, so that the
// harness's own connects while it waited for the proxy do not count.
std::map<std::string, long long> delta(const Flat& before, const Flat& after) {
    static const char* kGauges[] = {"client_connections", "server_connections", "curr_connections", "in_queue",
                                    "in_queue_bytes",     "out_queue",          "out_queue_bytes"};
    auto b = counts(before);
    auto out = counts(after);
    for (auto& [k, v] : out) {
        bool gauge = false;
        for (const char* g : kGauges) gauge = gauge || leaf(k) == g;
        if (!gauge) v -= b[k];
    }
    return out;
}

std::vector<std::string> keys_of(const Flat& flat) {
    std::vector<std::string> out;
    for (const auto& kv : flat) out.push_back(kv.first);
    return out;
}

// --------------------------------------------------------- the traffic

struct Backends {
    std::vector<std::unique_ptr<MemcachedServer>> memcached = start_memcached(2);
    std::vector<std::unique_ptr<RedisServer>> redis;
    int dead_port = free_port();  // nothing listens here
    MemcachedServer stopped;      // SIGSTOPped: connects complete, requests time out
    Backends() {
        redis.push_back(std::make_unique<RedisServer>());
        redis.push_back(std::make_unique<RedisServer>());
        freeze(stopped.process());
    }
    ~Backends() { stopped.process().signal(SIGCONT); }
};

PoolSpec one_server_pool(const std::string& name, int port) {
    PoolSpec pool;
    pool.name = name;
    pool.servers.push_back(ServerSpec{});
    pool.servers.back().port = port;
    return pool;
}

std::vector<PoolSpec> stats_pools(const Backends& b) {
    PoolSpec mc;
    mc.name = "cache";
    mc.servers = server_specs(b.memcached, {1}, "");
    mc.servers.back().name = "named";  // a server keyed by its name
    mc.set("hash", "md5").set("distribution", "ketama");
    PoolSpec rd;
    rd.name = "kv";
    for (auto& r : b.redis) {
        rd.servers.push_back(ServerSpec{});
        rd.servers.back().port = r->port();
    }
    rd.set("redis", "true").set("hash", "fnv1a_64");
    PoolSpec dead = one_server_pool("deadpool", b.dead_port);
    PoolSpec ejecting = one_server_pool("ejecting", b.dead_port);
    ejecting.set("auto_eject_hosts", "true").set("server_failure_limit", "1").set("server_retry_timeout", "60000");
    PoolSpec slow = one_server_pool("slow", b.stopped.port());
    slow.set("timeout", "200");
    return {mc, rd, dead, ejecting, slow};
}

// The same requests through either proxy; each reply checked, so that both
// proxies are known to have done the same work. Returns a client left open,
// for the gauges to see.
std::unique_ptr<Connection> run_traffic(Proxy& proxy) {
    {
        Connection c(proxy.port(0));
        for (int i = 0; i < 10; ++i)
            REQUIRE(c.mc(mc::set("key" + std::to_string(i), std::string(i + 1, 'v'))) == "STORED\r\n");
        for (int i = 0; i < 10; ++i) REQUIRE(c.mc("get key" + std::to_string(i) + "\r\n").starts_with("VALUE"));
        for (int i = 0; i < 5; ++i) REQUIRE(c.mc("get miss" + std::to_string(i) + "\r\n") == "END\r\n");
        REQUIRE(c.mc("get key0 key1 key2 key3 key4 key5\r\n").starts_with("VALUE key0"));
        REQUIRE(c.mc("delete key9\r\n") == "DELETED\r\n");
        REQUIRE(c.mc(mc::set("n", "41")) == "STORED\r\n");
        REQUIRE(c.mc("incr n 1\r\n") == "42\r\n");
        c.send_all("quit\r\n");
        REQUIRE(c.wait_closed());
    }
    {
        Connection c(proxy.port(0));  // ends with EOF, not quit
        REQUIRE(c.mc("get key1\r\n").starts_with("VALUE"));
    }
    {
        Connection c(proxy.port(1));
        REQUIRE(resp::call(c, resp::cmd("SET", "a", "1")) == "+OK\r\n");
        REQUIRE(resp::call(c, resp::cmd("SET", "b", "22")) == "+OK\r\n");
        REQUIRE(resp::call(c, resp::cmd("GET", "a")) == "$1\r\n1\r\n");
        REQUIRE(resp::call(c, resp::cmd("MGET", "a", "b", "c", "d", "e", "f")).starts_with("*6\r\n"));
        REQUIRE(resp::call(c, resp::cmd("DEL", "a", "b", "zz")) == ":2\r\n");
        REQUIRE(resp::call(c, resp::cmd("PING")) == "+PONG\r\n");
    }
    {
        Connection c(proxy.port(2));
        for (int i = 0; i < 3; ++i) REQUIRE(c.mc("get k" + std::to_string(i) + "\r\n") == "SERVER_ERROR Connection refused\r\n");
    }
    {
        // The first request's failure ejects the server; the others find no server.
        Connection c(proxy.port(3));
        for (int i = 0; i < 3; ++i) REQUIRE(c.mc("get k" + std::to_string(i) + "\r\n") == "SERVER_ERROR Connection refused\r\n");
    }
    {
        Connection c(proxy.port(4));
        c.send_all("get a\r\nget b\r\n");
        REQUIRE(c.read_mc_reply() == "SERVER_ERROR Connection timed out\r\n");
        REQUIRE(c.read_mc_reply() == "SERVER_ERROR Connection timed out\r\n");
    }
    auto idle = std::make_unique<Connection>(proxy.port(0));
    REQUIRE(idle->mc("get key2\r\n").starts_with("VALUE"));
    return idle;
}

struct Observed {
    Flat before;
    Flat after;
    std::string raw;  // the last read, as it came
};

// The JSON with every number as 0 and the version blanked: the layout alone.
std::string layout(std::string raw) {
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(raw[i]))) {
            while (i + 1 < raw.size() && std::isdigit(static_cast<unsigned char>(raw[i + 1]))) ++i;
            out += '0';
        } else {
            out += raw[i];
        }
    }
    auto v = out.find("\"version\":\"");
    if (v != std::string::npos) out.erase(v + 11, out.find('"', v + 11) - (v + 11));
    return out;
}

// The traffic through a fresh proxy of `kind` in front of `backends`
// (emptied first, so both proxies meet the same data and server names).
Observed observe(ProxyKind kind, const Backends& backends) {
    if (kind == ProxyKind::Cachemux) resp::require_redis_plugin(kind);
    for (auto& m : backends.memcached) mc::flush_all(m->port());
    for (auto& r : backends.redis) resp::flush_server(r->port());
    ProxyOptions options;
    options.extra_args = {"-i", "100"};
    Proxy proxy(kind, stats_pools(backends), options);
    Observed o;
    o.before = settled_stats(proxy.stats_port());
    auto idle = run_traffic(proxy);
    o.after = settled_stats(proxy.stats_port());
    o.raw = read_stats_raw(proxy.stats_port());
    return o;
}

}  // namespace

TEST_CASE("stats: the same JSON keys in the same order and the same counts as nutcracker 0.5.0 [cachemux]" *
          doctest::test_suite("cachemux")) {
    Backends backends;
    Observed nc = observe(ProxyKind::Nutcracker, backends);
    Observed cm = observe(ProxyKind::Cachemux, backends);
    CHECK(keys_of(cm.after) == keys_of(nc.after));
    CHECK(layout(cm.raw) == layout(nc.raw));  // byte for byte but the numbers
    auto want = delta(nc.before, nc.after);
    auto got = delta(cm.before, cm.after);
    // Each worker connects to the servers its clients use: with several,
    // the connection counts may be up to N times nutcracker's. Every other
    // number is the exact sum over the workers.
    const int workers = cachemux_workers();
    auto counts_connections = [](const std::string& k) {
        return k.ends_with("server_connections") || k == "total_connections" || k == "curr_connections";
    };
    for (const auto& [k, v] : want) {
        CAPTURE(k);
        if (workers > 1 && counts_connections(k)) {
            CHECK(got[k] >= v);
            CHECK(got[k] <= v * workers);
        } else {
            CHECK(got[k] == v);
        }
    }
    // The moments: set for the same servers, header present.
    std::map<std::string, std::string> nc_all(nc.after.begin(), nc.after.end());
    std::map<std::string, std::string> cm_all(cm.after.begin(), cm.after.end());
    for (const auto& [k, v] : nc_all) {
        if (leaf(k) != "server_ejected_at") continue;
        CAPTURE(k);
        CHECK((v == "0") == (cm_all[k] == "0"));
        if (cm_all[k] != "0") CHECK(std::llabs(std::stoll(cm_all[k]) / 1000000 - std::stoll(cm_all["timestamp"])) < 60);
    }
    CHECK(cm_all["ejecting/127.0.0.1:" + std::to_string(backends.dead_port) + "/server_ejected_at"] != "0");
    CHECK(cm_all["service"] == "nutcracker");
    CHECK(std::stoll(cm_all["uptime"]) >= 0);
    CHECK(std::llabs(std::stoll(cm_all["timestamp"]) - std::stoll(nc_all["timestamp"])) < 60);
}

TEST_CASE("stats: counters match known traffic [cachemux]" * doctest::test_suite("cachemux")) {
    MemcachedServer backend;
    PoolSpec pool;
    pool.name = "p";
    pool.servers.push_back(ServerSpec{});
    pool.servers.back().port = backend.port();
    Proxy proxy = start_proxy(ProxyKind::Cachemux, pool);
    auto before = settled_stats(proxy.stats_port());

    Connection c(proxy.port());
    long long request_bytes = 0, response_bytes = 0;
    const int n = 50;
    for (int i = 0; i < n; ++i) {
        std::string set = mc::set("k" + std::to_string(i), std::string(static_cast<std::size_t>(i * 37), 'x'));
        request_bytes += static_cast<long long>(set.size());
        std::string reply = c.mc(set);
        REQUIRE(reply == "STORED\r\n");
        response_bytes += static_cast<long long>(reply.size());
    }
    for (int i = 0; i < n; ++i) {
        std::string get = "get k" + std::to_string(i) + "\r\n";
        request_bytes += static_cast<long long>(get.size());
        response_bytes += static_cast<long long>(c.mc(get).size());
    }
    auto after = settled_stats(proxy.stats_port());
    auto d = delta(before, after);
    const std::string server = "p/127.0.0.1:" + std::to_string(backend.port()) + "/";
    CHECK(d[server + "requests"] == 2 * n);
    CHECK(d[server + "responses"] == 2 * n);
    CHECK(d[server + "request_bytes"] == request_bytes);
    CHECK(d[server + "response_bytes"] == response_bytes);
    CHECK(d[server + "server_connections"] == 1);
    CHECK(d[server + "in_queue"] == 0);
    CHECK(d[server + "out_queue"] == 0);
    CHECK(d["p/client_connections"] == 1);
    CHECK(d["p/forward_error"] == 0);
}

TEST_CASE("stats: a plain read gets the bare JSON, GET / over HTTP the same with headers, others 404 [cachemux]" *
          doctest::test_suite("cachemux")) {
    MemcachedServer backend;
    PoolSpec pool;
    pool.servers.push_back(ServerSpec{});
    pool.servers.back().port = backend.port();
    Proxy proxy = start_proxy(ProxyKind::Cachemux, pool);
    std::string raw = read_stats_raw(proxy.stats_port());
    CHECK(raw.starts_with("{\"service\":\"nutcracker\", \"source\":"));
    CHECK(raw.ends_with("}}}\n"));
    CHECK_NOTHROW(flatten_stats(raw));

    Connection http(proxy.stats_port());
    http.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(http.wait_closed());
    CHECK(http.buffered().starts_with("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"));
    CHECK(http.buffered().ends_with("}}}\n"));

    Connection other(proxy.stats_port());
    other.send_all("GET /nothing HTTP/1.0\r\n\r\n");
    REQUIRE(other.wait_closed());
    CHECK(other.buffered().starts_with("HTTP/1.1 404 Not Found\r\n"));
}

TEST_CASE("stats: GET /metrics is Prometheus text a real parser reads, with the JSON's numbers [cachemux]" *
          doctest::test_suite("cachemux")) {
    resp::require_redis_plugin(ProxyKind::Cachemux);
    Backends backends;
    Proxy proxy(ProxyKind::Cachemux, stats_pools(backends));
    auto idle = run_traffic(proxy);
    // The script reads /metrics and the JSON and checks one against the other.
    auto r = run_command({python3(), source_dir() + "/tests/integration/prometheus_check.py",
                          std::to_string(proxy.stats_port())},
                         30000ms);
    INFO(r.describe());
    CHECK(r.ok());
    CHECK(r.output.find("families ok") != std::string::npos);
}

TEST_CASE("stats: -D describes the metrics as nutcracker does [cachemux]" * doctest::test_suite("cachemux")) {
    auto nc = run_command({nutcracker_binary(), "-D"}, 10000ms);
    auto cm = run_command({cachemux_binary(), "-D"}, 10000ms);
    REQUIRE(nc.ok());
    REQUIRE(cm.ok());
    auto after_banner = [](const std::string& s) { return s.substr(s.find('\n')); };
    CHECK(cm.output.starts_with("This is cachemux-"));
    CHECK(after_banner(cm.output) == after_banner(nc.output));
    CHECK(cm.output.find("server_ejected_at   \"timestamp when server was ejected in usec since epoch\"") !=
          std::string::npos);
}
