// Client connection limits: clients beyond a limit are accepted and closed
// at once, never left hanging. The process-wide limit is nutcracker's (the
// fd limit less the server connections, 32 reserved fds and the
// listeners); the per-pool
// `client_connections` is enforced by cachemux, where nutcracker 0.5.0
// parses it and ignores it.
#include <doctest/doctest.h>

#include <sys/resource.h>

#include <memory>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// True if `c` is served (a get answers), false if the proxy closed it.
bool served(Connection& c) {
    try {
        c.send_all("get limit-probe\r\n");
    } catch (const HarnessError&) {
        return false;  // reset by the proxy already
    }
    std::string reply = c.read_for(300ms);
    while (reply.empty() && !c.closed()) reply = c.read_for(1000ms);
    if (c.closed()) return false;
    REQUIRE(reply == "END\r\n");
    return true;
}

// The proxy starts with RLIMIT_NOFILE lowered to `limit` (inherited from
// this process, which restores its own limit at once).
std::unique_ptr<ProxiedMemcached> proxy_with_fd_limit(ProxyKind kind, rlim_t limit) {
    rlimit saved{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit lowered = saved;
    lowered.rlim_cur = limit;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    std::unique_ptr<ProxiedMemcached> px;
    try {
        px = std::make_unique<ProxiedMemcached>(kind, 1);
    } catch (...) {
        setrlimit(RLIMIT_NOFILE, &saved);
        throw;
    }
    REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    return px;
}

void clients_beyond_the_fd_limit_are_closed(ProxyKind kind) {
    // 60 fds, one server connection, 32 reserved, and one more per pool
    // (nutcracker counts its listener): 26 clients. Each further cachemux
    // worker has its own server connection, an event loop and an eventfd.
    const int extra_workers = kind == ProxyKind::Cachemux ? cachemux_workers() - 1 : 0;
    const int expected = 26 - 3 * extra_workers;
    auto px = proxy_with_fd_limit(kind, 60);
    std::vector<std::unique_ptr<Connection>> clients;
    int accepted = 0;
    for (int i = 0; i < 35; ++i) {
        clients.push_back(std::make_unique<Connection>(px->port()));
        if (served(*clients.back())) ++accepted;
    }
    CHECK(accepted == expected);
    // Room again once a client leaves.
    clients.front().reset();
    bool room = false;
    for (auto deadline = Clock::now() + 3s; !room && Clock::now() < deadline;) {
        Connection c(px->port());
        room = served(c);
    }
    CHECK(room);
}

}  // namespace

HARNESS_PROXY_TEST("clients beyond the fd limit are accepted and closed", clients_beyond_the_fd_limit_are_closed)

HARNESS_CACHEMUX_TEST("client_connections: a pool's clients beyond its limit are closed") {
    PoolSpec pool;
    pool.set("client_connections", "2");
    ProxiedMemcached px(ProxyKind::Cachemux, 1, pool);
    Connection a(px.port());
    Connection b(px.port());
    REQUIRE(served(a));
    REQUIRE(served(b));
    {
        Connection c(px.port());
        CHECK(c.wait_closed(3000ms));
    }
    CHECK(served(a));  // the others are undisturbed
    a.shutdown_write();
    REQUIRE(a.wait_closed(3000ms));
    bool room = false;
    for (auto deadline = Clock::now() + 3s; !room && Clock::now() < deadline;) {
        Connection d(px.port());
        room = served(d);
    }
    CHECK(room);
    CHECK(served(b));
}
