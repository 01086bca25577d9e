// Clients that abuse the proxy's resources rather than its parsers (issue
// 10): 10,000 idle connections, slowloris clients, and a client that never
// reads its replies. Each must leave the other clients served, and the
// proxy's memory under a bound the test measures.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "load.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kKiB = 1024;

// One memcached behind cachemux, with checked load on the same pool.
struct Fixture {
    std::unique_ptr<ProxiedMemcached> px;
    std::unique_ptr<load::Load> bystanders;

    explicit Fixture(std::unique_ptr<ProxiedMemcached> proxied) : px(std::move(proxied)) {
        load::Options o;
        o.port = px->port();
        o.clients = 2;
        o.window = 8;
        o.pause = 2ms;
        o.tag = "abuse";
        o.max_duration = 120000ms;
        bystanders = std::make_unique<load::Load>(o);
        bystanders->start();
    }

    pid_t proxy_pid() { return px->proxy->process().pid(); }

    void check_bystanders() {
        const auto& results = bystanders->stop();
        INFO(load::summary(results));
        for (const auto& r : results) {
            CHECK(r.failure == "");
            CHECK(r.errors == 0);
            CHECK(r.replies == r.sent);
            CHECK(r.replies > 0);
        }
        CHECK_MESSAGE(px->proxy->process().running(), px->proxy->process().describe());
    }
};

// The pool's "client_connections" from the stats port.
long pool_clients(int stats_port) {
    Connection c(stats_port);
    c.wait_closed(5000ms);
    const std::string& json = c.buffered();
    std::size_t at = json.find("\"client_connections\":");
    REQUIRE(at != std::string::npos);
    return std::stol(json.substr(at + 21));
}

// A raw non-blocking socket to 127.0.0.1:port (no harness buffering).
int raw_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

// Raises this process's fd limit (the proxies it starts inherit it).
void raise_fd_limit(rlim_t want) {
    rlimit r{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &r) == 0);
    if (r.rlim_cur >= want) return;
    r.rlim_cur = want;
    if (r.rlim_max < want) r.rlim_max = want;  // root may raise the hard limit
    REQUIRE_MESSAGE(setrlimit(RLIMIT_NOFILE, &r) == 0, "cannot raise RLIMIT_NOFILE to " << want);
}

}  // namespace

HARNESS_CACHEMUX_TEST("abuse: 10,000 idle clients are held, and the others are served") {
    raise_fd_limit(12000);
    Fixture f(std::make_unique<ProxiedMemcached>(ProxyKind::Cachemux, 1));
    std::size_t rss_before = load::rss_kib(f.proxy_pid());

    constexpr int kIdle = 10000;
    std::vector<int> idle;
    idle.reserve(kIdle);
    for (int i = 0; i < kIdle; ++i) idle.push_back(raw_connect(f.px->port()));
    // Every one accepted and counted (the bystanders have 2 more).
    long clients = 0;
    for (auto deadline = Clock::now() + 20s; Clock::now() < deadline; std::this_thread::sleep_for(100ms)) {
        clients = pool_clients(f.px->proxy->stats_port());
        if (clients >= kIdle + 2) break;
    }
    CHECK(clients == kIdle + 2);
    std::size_t rss_held = load::rss_kib(f.proxy_pid());
    MESSAGE("cachemux RSS: " << rss_before << " KiB, with 10,000 idle clients " << rss_held << " KiB");
    // An idle client holds no buffer: well under 2 KiB each.
    CHECK(rss_held < rss_before + kIdle * 2 * kSlackFactor);  // KiB
    // A few of them, picked across the range, are served at once.
    for (int i = 0; i < kIdle; i += 997) {
        std::string request = "get idle" + std::to_string(i) + "\r\n";
        REQUIRE(write(idle[i], request.data(), request.size()) == static_cast<ssize_t>(request.size()));
    }
    for (int i = 0; i < kIdle; i += 997) {
        char buf[16];
        ssize_t n = -1;
        for (auto deadline = Clock::now() + 5s; n < 0 && Clock::now() < deadline;) {
            n = read(idle[i], buf, sizeof buf);
            if (n < 0) std::this_thread::sleep_for(5ms);
        }
        CHECK(std::string(buf, std::max<ssize_t>(n, 0)) == "END\r\n");
    }
    for (int fd : idle) close(fd);
    f.check_bystanders();
}

HARNESS_CACHEMUX_TEST("abuse: slowloris clients sending a byte at a time do not hold up the others") {
    Fixture f(std::make_unique<ProxiedMemcached>(ProxyKind::Cachemux, 1));
    const std::string request = "get slowloris\r\n";
    std::vector<std::unique_ptr<Connection>> slow;
    for (int i = 0; i < 50; ++i) slow.push_back(std::make_unique<Connection>(f.px->port()));
    Connection other(f.px->port());
    int served = 0;
    for (char ch : request) {
        for (auto& c : slow) c->send_all(std::string_view(&ch, 1));
        // Between two bytes of theirs, another client is served in full.
        CHECK(other.mc("set quick 0 0 1\r\nq\r\n", 2000ms) == "STORED\r\n");
        CHECK(other.mc("get quick\r\n", 2000ms) == "VALUE quick 0 1\r\nq\r\nEND\r\n");
        ++served;
        std::this_thread::sleep_for(100ms);
    }
    CHECK(served == static_cast<int>(request.size()));
    for (auto& c : slow) CHECK(c->read_mc_reply(5000ms) == "END\r\n");
    f.check_bystanders();
}

HARNESS_CACHEMUX_TEST("abuse: a client that never reads its replies is bounded, then closed") {
    Fixture f(std::make_unique<ProxiedMemcached>(ProxyKind::Cachemux, 1));
    // 32 KiB values: at most 1024 owed replies is 32 MiB.
    const std::string value(32 * kKiB, 'v');
    {
        Connection c(f.px->port());
        REQUIRE(c.mc("set abuse:big 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n") == "STORED\r\n");
    }
    std::size_t rss_before = load::rss_kib(f.proxy_pid());

    int fd = raw_connect(f.px->port());
    const std::string gets = [] {
        std::string s;
        for (int i = 0; i < 64; ++i) s += "get abuse:big\r\n";
        return s;
    }();
    std::size_t sent = 0;
    std::size_t rss_peak = rss_before;
    bool closed = false;
    auto start = Clock::now();
    // Send gets as fast as the proxy takes them, never read; sample RSS.
    while (!closed && Clock::now() - start < 30s) {
        ssize_t n = send(fd, gets.data(), gets.size(), MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            closed = true;  // EPIPE / ECONNRESET: the proxy closed it
        } else {
            std::this_thread::sleep_for(20ms);
        }
        rss_peak = std::max(rss_peak, load::rss_kib(f.proxy_pid()));
    }
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
    close(fd);
    MESSAGE("non-reading client: " << sent / 15 << " gets sent, closed after " << took.count()
                                   << " ms; cachemux RSS " << rss_before << " KiB before, peak " << rss_peak << " KiB");
    CHECK_MESSAGE(closed, "the proxy did not close a client that read nothing for 30 s");
    // The pause at 1024 owed replies bounds what it holds: 1024 x 32 KiB,
    // plus socket buffers the kernel accounts elsewhere. Without it the
    // proxy would take every get the client sends (nutcracker: GBs).
    CHECK(rss_peak < rss_before + 48 * kKiB * kSlackFactor);
    // The stall timeout is 10 s; it starts once the socket is full.
    CHECK(took >= 9000ms);
    // Memory goes back once it is gone.
    std::this_thread::sleep_for(2500ms);
    std::size_t rss_after = load::rss_kib(f.proxy_pid());
    if (!kSanitized) CHECK(rss_after < rss_before + 8 * kKiB);
    f.check_bystanders();
}
