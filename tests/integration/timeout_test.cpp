// The pool's `timeout`: a server that stops answering (or a connect that
// hangs) costs its requests a "Connection timed out" error, as nutcracker
// words it, and the proxy recovers once the server answers again.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

// A listener whose accept queue is full (nobody accepts, backlog 0, one
// connection queued): the kernel drops further SYNs, so a connect to it
// hangs, as to a host that went dark.
struct DarkListener {
    int fd = -1;
    int port = 0;
    std::vector<int> fillers;
    DarkListener() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port = ntohs(addr.sin_port);
        REQUIRE(::listen(fd, 0) == 0);
        for (int i = 0; i < 2; ++i) {
            int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
            fillers.push_back(c);
        }
        std::this_thread::sleep_for(100ms);
    }
    ~DarkListener() {
        for (int c : fillers) ::close(c);
        ::close(fd);
    }
};

static void connect_timeout(ProxyKind kind) {
    DarkListener dark;
    PoolSpec pool;
    pool.servers.push_back(ServerSpec{});
    pool.servers.back().port = dark.port;
    pool.set("timeout", "300");
    Proxy proxy = start_proxy(kind, pool);
    Connection c(proxy.port());
    auto started = Clock::now();
    std::string reply = c.mc("get k\r\n", 5000ms);
    auto waited = Clock::now() - started;
    CHECK(escape(reply) == escape("SERVER_ERROR Connection timed out\r\n"));
    CHECK(waited >= 250ms);
    CHECK(waited < 3000ms);
}
HARNESS_PROXY_TEST("memcache: a connect that hangs times out with nutcracker's error", connect_timeout)

static void redis_timeout(ProxyKind kind) {
    resp::require_redis_plugin(kind);
    RedisServer server;
    PoolSpec pool;
    pool.servers.push_back(ServerSpec{});
    pool.servers.back().port = server.port();
    pool.set("redis", "true").set("timeout", "300");
    Proxy proxy = start_proxy(kind, pool);
    Connection c(proxy.port());
    REQUIRE(resp::call(c, resp::cmd("SET", "k", "v")) == "+OK\r\n");
    freeze(server.process());
    c.send_all(resp::cmd("GET", "k") + resp::cmd("GET", "k"));
    std::string replies = resp::read_replies(c, 2, 5000ms);
    server.process().signal(SIGCONT);
    CHECK(escape(replies) == escape("-ERR Connection timed out\r\n-ERR Connection timed out\r\n"));
    std::string reply;
    for (auto deadline = Clock::now() + 3s; Clock::now() < deadline; std::this_thread::sleep_for(50ms))
        if ((reply = resp::call(c, resp::cmd("GET", "k"))) != "-ERR Connection timed out\r\n") break;
    CHECK(escape(reply) == escape("$1\r\nv\r\n"));
}
HARNESS_PROXY_TEST("redis: a stopped server times out with nutcracker's error", redis_timeout)
