// replicas: on redis: the plugin's command table says which commands read,
// which write every copy and which run on the primary only (the others
// then lose the key); replies are the primary's, and a copy whose reply
// differs loses the key.
#include <doctest/doctest.h>

#include "backend_servers.hpp"
#include "harness.hpp"
#include "settle.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// A redis pool of two copies of one server each: s1 the primary, s2 the other.
struct TwoRedisCopies {
    BackendServers b{Protocol::Redis, 2};
    std::unique_ptr<Proxy> proxy;

    TwoRedisCopies() {
        resp::require_redis_plugin(ProxyKind::Cachemux);
        PoolSpec pool;
        pool.servers = b.specs(0, 1, "s");
        pool.set("redis", "true").set("timeout", "500");
        pool.set("replicas", "\n   - servers:\n      - " + b.specs(1, 2, "s")[0].line());
        proxy = std::make_unique<Proxy>(ProxyKind::Cachemux, std::vector<PoolSpec>{pool});
    }
    std::string direct(std::size_t i, const std::string& request) const {
        Connection c(b.port(i));
        return resp::call(c, request);
    }
};

}  // namespace

HARNESS_CACHEMUX_TEST("replicas, redis: a pipeline answers as one redis does, and both copies end equal") {
    TwoRedisCopies px;
    RedisServer single;
    const std::string pipeline = resp::cmd("SET", "k", "v") + resp::cmd("GET", "k") + resp::cmd("INCR", "c") +
                                 resp::cmd("INCR", "c") + resp::cmd("GET", "c") + resp::cmd("MGET", "k", "c", "x") +
                                 resp::cmd("HSET", "h", "f", "1") + resp::cmd("HGET", "h", "f") +
                                 resp::cmd("DEL", "k", "x") + resp::cmd("EXISTS", "k");
    Connection via(px.proxy->port()), alone(single.port());
    via.send_all(pipeline);
    alone.send_all(pipeline);
    CHECK(resp::read_replies(via, 10) == resp::read_replies(alone, 10));
    for (std::size_t i = 0; i < 2; ++i) {
        CAPTURE(i);
        CHECK(px.direct(i, resp::cmd("GET", "c")) == "$1\r\n2\r\n");
        CHECK(px.direct(i, resp::cmd("HGET", "h", "f")) == "$1\r\n1\r\n");
        CHECK(px.direct(i, resp::cmd("EXISTS", "k")) == ":0\r\n");
    }
}

HARNESS_CACHEMUX_TEST("replicas, redis: the primary's reply wins; a copy that answered otherwise loses the key") {
    TwoRedisCopies px;
    Connection c(px.proxy->port());
    REQUIRE(resp::call(c, resp::cmd("SET", "n", "1")) == "+OK\r\n");
    REQUIRE(px.direct(1, resp::cmd("SET", "n", "100")) == "+OK\r\n");
    CHECK(resp::call(c, resp::cmd("INCR", "n")) == ":2\r\n");
    CHECK(px.direct(0, resp::cmd("GET", "n")) == "$1\r\n2\r\n");
    CHECK(settle([&] { return px.direct(1, resp::cmd("EXISTS", "n")); }, std::string(":0\r\n")) == ":0\r\n");
}

HARNESS_CACHEMUX_TEST("replicas, redis: SPOP runs on the primary only, and the other copy loses the set") {
    TwoRedisCopies px;
    Connection c(px.proxy->port());
    REQUIRE(resp::call(c, resp::cmd("SADD", "s", "a", "b", "c")) == ":3\r\n");
    REQUIRE(px.direct(1, resp::cmd("SCARD", "s")) == ":3\r\n");
    std::string popped = resp::call(c, resp::cmd("SPOP", "s"));
    CHECK((popped == "$1\r\na\r\n" || popped == "$1\r\nb\r\n" || popped == "$1\r\nc\r\n"));
    CHECK(px.direct(0, resp::cmd("SCARD", "s")) == ":2\r\n");
    CHECK(settle([&] { return px.direct(1, resp::cmd("EXISTS", "s")); }, std::string(":0\r\n")) == ":0\r\n");
}

HARNESS_CACHEMUX_TEST("replicas, redis: GET and MGET fail over on a nil; other reads stay on the primary") {
    TwoRedisCopies px;
    Connection c(px.proxy->port());
    REQUIRE(resp::call(c, resp::cmd("SET", "k", "v")) == "+OK\r\n");
    REQUIRE(resp::call(c, resp::cmd("HSET", "h", "f", "1")) == ":1\r\n");
    REQUIRE(px.direct(0, resp::cmd("DEL", "k", "h")) == ":2\r\n");
    CHECK(resp::call(c, resp::cmd("GET", "k")) == "$1\r\nv\r\n");
    CHECK(resp::call(c, resp::cmd("MGET", "x", "k")) == "*2\r\n$-1\r\n$1\r\nv\r\n");
    CHECK(resp::call(c, resp::cmd("HGET", "h", "f")) == "$-1\r\n");
}
