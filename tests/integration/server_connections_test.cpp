// The pool keys that shape connections, each checked black-box against
// nutcracker: server_connections (how many connections each server gets),
// preconnect (opened at start-up, before any request) and backlog (the
// listener's accept queue).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "backend_stats.hpp"
#include "harness.hpp"
#include "settle.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// memcached's count of its open connections (its listener and the
// connection asking included, so only differences mean anything).
long curr_connections(int port) { return static_cast<long>(memcached_stat(port, "curr_connections")); }

// Waits (bounded) until `port`'s connection count is `want` more than `base`.
long settled_delta(int port, long base, long want) {
    return settle([&] { return curr_connections(port) - base; }, want, 3000ms);
}

void spreads_over_server_connections(ProxyKind kind) {
    MemcachedServer backend;
    long base = curr_connections(backend.port());
    PoolSpec pool;
    pool.servers.push_back(ServerSpec{});
    pool.servers.back().port = backend.port();
    pool.set("server_connections", "3");
    Proxy proxy = start_proxy(kind, pool);
    CHECK(curr_connections(backend.port()) - base == 0);  // none before the first request

    // Several clients, many requests: the pool opens its three connections
    // (in each worker: the clients spread over all of them) and no more.
    const long expected = 3 * (kind == ProxyKind::Cachemux ? cachemux_workers() : 1);
    std::vector<std::unique_ptr<Connection>> clients;
    for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<Connection>(proxy.port()));
    for (int round = 0; round < 5; ++round) {
        for (auto& c : clients) c->send_all(mc::set("k" + std::to_string(round), "v") + "get k0\r\n");
        for (auto& c : clients) {
            CHECK(c->read_mc_reply() == "STORED\r\n");
            CHECK(c->read_mc_reply() == mc::value("k0", "v") + "END\r\n");
        }
    }
    CHECK(settled_delta(backend.port(), base, expected) == expected);
}

void preconnect_opens_every_connection_at_start(ProxyKind kind) {
    auto backends = start_memcached(2);
    std::vector<long> base;
    for (auto& b : backends) base.push_back(curr_connections(b->port()));
    PoolSpec pool;
    pool.servers = server_specs(backends);
    pool.set("preconnect", "true").set("server_connections", "2");
    Proxy proxy = start_proxy(kind, pool);
    // nutcracker 0.5.0 preconnects one connection per server and opens the
    // others on demand; cachemux opens them all, in every worker.
    const long expected = kind == ProxyKind::Nutcracker ? 1 : 2 * cachemux_workers();
    for (std::size_t i = 0; i < backends.size(); ++i) {
        CAPTURE(i);
        CHECK(settled_delta(backends[i]->port(), base[i], expected) == expected);
    }
}

// Non-blocking connects to `port` while nothing accepts them; how many the
// kernel completes into the accept queue within `wait`.
int completed_connects(int port, int attempts, Millis wait) {
    std::vector<int> fds;
    for (int i = 0; i < attempts; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        fds.push_back(fd);
        std::this_thread::sleep_for(5ms);  // one at a time, in order
    }
    std::this_thread::sleep_for(wait);
    int connected = 0;
    for (int fd : fds) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        if (::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
            err == 0)
            ++connected;
        ::close(fd);
    }
    return connected;
}

void backlog_bounds_the_accept_queue(ProxyKind kind) {
    MemcachedServer backend;
    PoolSpec pool;
    pool.servers.push_back(ServerSpec{});
    pool.servers.back().port = backend.port();
    pool.set("backlog", "3");
    Proxy proxy = start_proxy(kind, pool);
    freeze(proxy.process());  // nothing accepts: the kernel's queue fills up
    int connected = completed_connects(proxy.port(), 12, 300ms);
    proxy.process().signal(SIGCONT);
    // Linux completes backlog + 1 handshakes into a full queue and drops
    // the SYNs after them (they would be retried a second later).
    CHECK(connected == 4);
    Connection c(proxy.port());
    CHECK(c.mc("get k\r\n") == "END\r\n");
}

}  // namespace

HARNESS_PROXY_TEST("server_connections: requests spread over that many connections per server",
                   spreads_over_server_connections)
HARNESS_PROXY_TEST("preconnect: server connections open at start-up", preconnect_opens_every_connection_at_start)
HARNESS_PROXY_TEST("backlog: the listener's accept queue holds that many", backlog_bounds_the_accept_queue)
