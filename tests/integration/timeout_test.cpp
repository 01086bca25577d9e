// The pool's `timeout`: a server that stops answering costs its requests a
// "Connection timed out" error, as nutcracker words it, and the proxy recovers
// once the server answers again.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

static void memcache_timeout(ProxyKind kind) {
    PoolSpec pool;
    pool.set("timeout", "300");
    ProxiedMemcached px(kind, 1, pool);
    Connection c(px.port());
    REQUIRE(c.mc(mc::set("k", "v")) == "STORED\r\n");

    freeze(px.backends[0]->process());
    auto started = Clock::now();
    c.send_all("get k\r\nget k\r\n");
    std::string replies = c.read_until("\r\n", 5000ms);
    replies += c.read_until("\r\n", 5000ms);
    auto waited = Clock::now() - started;
    px.backends[0]->process().signal(SIGCONT);

    CHECK(escape(replies) == escape("SERVER_ERROR Connection timed out\r\nSERVER_ERROR Connection timed out\r\n"));
    CHECK(waited >= 250ms);  // not before the timeout...
    CHECK(waited < 3000ms);  // ...and not much after it
    // The server answers again: a new connection serves the next request.
    std::string reply;
    for (auto deadline = Clock::now() + 3s; Clock::now() < deadline; std::this_thread::sleep_for(50ms))
        if ((reply = c.mc("get k\r\n")) != "SERVER_ERROR Connection timed out\r\n") break;
    CHECK(escape(reply) == escape(mc::value("k", "v") + "END\r\n"));
}
HARNESS_PROXY_TEST("memcache: a stopped server times out with nutcracker's error", memcache_timeout)
