// redis_auth and redis_db, against password-protected redis servers, as
// nutcracker 0.5.0 does them (docs/redis-nutcracker-0.5.md, "AUTH").
//
// HARNESS_PROXY_TEST cases hold for nutcracker and must hold for cachemux.
// Where nutcracker closes the connection (AUTH with a wrong argument count,
// an unknown command) cachemux answers an error and carries on; where
// nutcracker loses redis_db behind a password (it sends SELECT before AUTH,
// the server refuses it, the keys land in DB 0) cachemux must select the DB.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;
using resp::cmd;

namespace {

const std::string kPassword = "sekret";
const std::string kNoAuth = "-NOAUTH Authentication required\r\n";  // nutcracker's (no period)
const std::string kRedisNoAuth = "-NOAUTH Authentication required.\r\n";  // redis-server's
const std::string kInvalid = "-ERR invalid password\r\n";
const std::string kNoPasswordSet = "-ERR Client sent AUTH, but no password is set\r\n";

// Three keys, one on each of the servers s1, s2, s3 (fnv1a_64 + ketama by
// name; see kKeysByServer in redis_compat_test.cpp).
const std::vector<std::string> kKeys = {"beta", "alpha", "apple"};

struct Setup {
    Setup(ProxyKind kind, const std::vector<std::string>& server_args,
          const std::vector<std::pair<std::string, std::string>>& pool_options) {
        resp::require_redis_plugin(kind);
        for (int i = 0; i < 3; ++i) servers.push_back(std::make_unique<RedisServer>(server_args));
        PoolSpec p;
        p.set("hash", "fnv1a_64").set("distribution", "ketama").set("redis", "true");
        for (auto& [k, v] : pool_options) p.set(k, v);
        for (std::size_t i = 0; i < servers.size(); ++i)
            p.servers.push_back(ServerSpec{"127.0.0.1", servers[i]->port(), 1, "s" + std::to_string(i + 1)});
        proxy = std::make_unique<Proxy>(kind, std::vector<PoolSpec>{p});
    }
    int port() const { return proxy->port(); }

    // What server i holds for `key` in `db` (asked directly, with AUTH if needed).
    std::string direct_get(std::size_t i, const std::string& key, int db = 0,
                           const std::string& password = "") const {
        Connection c(servers.at(i)->port());
        if (!password.empty()) REQUIRE(resp::call(c, cmd("AUTH", password)) == "+OK\r\n");
        REQUIRE(resp::call(c, cmd("SELECT", std::to_string(db))) == "+OK\r\n");
        return resp::call(c, cmd("GET", key));
    }

    std::vector<std::unique_ptr<RedisServer>> servers;
    std::unique_ptr<Proxy> proxy;
};

void check_usable(Connection& c, const std::string& what) {
    INFO("the connection must still work after " << what);
    CHECK(resp::call(c, cmd("PING")) == "+PONG\r\n");
}

}  // namespace

// --------------------------------------------- redis_auth, servers protected

static void auth_required(ProxyKind kind) {
    Setup s(kind, {"--requirepass", kPassword}, {{"redis_auth", kPassword}});
    Connection c(s.port());

    // Nothing before AUTH: every command, local ones too, gets nutcracker's NOAUTH.
    CHECK(resp::call(c, cmd("GET", "apple")) == kNoAuth);
    CHECK(resp::call(c, cmd("PING")) == kNoAuth);
    CHECK(resp::call(c, cmd("MGET", "beta", "alpha", "apple")) == kNoAuth);
    CHECK(resp::call(c, cmd("DEL", "beta", "alpha")) == kNoAuth);
    CHECK(resp::call(c, cmd("MSET", "beta", "1", "alpha", "2")) == kNoAuth);
    CHECK(resp::call(c, cmd("EVAL", "return 1", "1", "apple")) == kNoAuth);
    CHECK(resp::call(c, cmd("LOLWUT")) == kNoAuth);

    // Wrong passwords.
    CHECK(resp::call(c, cmd("AUTH", "wrong")) == kInvalid);
    CHECK(resp::call(c, cmd("AUTH", "")) == kInvalid);
    CHECK(resp::call(c, cmd("AUTH", kPassword + "x")) == kInvalid);
    CHECK(resp::call(c, cmd("GET", "apple")) == kNoAuth);

    // The right one; then the proxy's own AUTH on each server lets everything through.
    CHECK(resp::call(c, cmd("auth", kPassword)) == "+OK\r\n");
    CHECK(resp::call(c, cmd("PING")) == "+PONG\r\n");
    for (std::size_t i = 0; i < kKeys.size(); ++i)
        CHECK(resp::call(c, cmd("SET", kKeys[i], "v" + std::to_string(i))) == "+OK\r\n");
    CHECK(resp::call(c, cmd("MGET", "beta", "alpha", "apple", "nokey")) ==
          "*4\r\n$2\r\nv0\r\n$2\r\nv1\r\n$2\r\nv2\r\n$-1\r\n");
    CHECK(resp::call(c, cmd("MSET", "beta", "w0", "alpha", "w1", "apple", "w2")) == "+OK\r\n");
    for (std::size_t i = 0; i < kKeys.size(); ++i) {
        INFO("key " << kKeys[i] << " on server s" << i + 1);
        CHECK(s.direct_get(i, kKeys[i], 0, kPassword) == "$2\r\nw" + std::to_string(i) + "\r\n");
    }
    CHECK(resp::call(c, cmd("AUTH", kPassword)) == "+OK\r\n");  // again: fine

    // A wrong AUTH after a good one de-authenticates the connection.
    CHECK(resp::call(c, cmd("AUTH", "wrong")) == kInvalid);
    CHECK(resp::call(c, cmd("GET", "apple")) == kNoAuth);
    CHECK(resp::call(c, cmd("AUTH", kPassword)) == "+OK\r\n");
    CHECK(resp::call(c, cmd("DEL", "beta", "alpha", "apple")) == ":3\r\n");

    // Pipelined: everything before the AUTH is refused, everything after passes.
    Connection p(s.port());
    p.send_all(cmd("PING") + cmd("GET", "apple") + cmd("AUTH", "wrong") + cmd("AUTH", kPassword) +
               cmd("SET", "apple", "x") + cmd("GET", "apple"));
    CHECK(escape(resp::read_replies(p, 6)) ==
          escape(kNoAuth + kNoAuth + kInvalid + "+OK\r\n" + "+OK\r\n" + "$1\r\nx\r\n"));

    // Authentication belongs to the connection.
    Connection fresh(s.port());
    CHECK(resp::call(fresh, cmd("GET", "apple")) == kNoAuth);

    // QUIT needs no AUTH: the connection closes (cachemux first says +OK, as
    // redis does; nutcracker sends nothing).
    Connection q(s.port());
    q.send_all(cmd("QUIT"));
    CHECK(q.wait_closed(3000ms));
    CHECK(escape(q.buffered()) == (kind == ProxyKind::Nutcracker ? "" : "+OK\\r\\n"));
}
HARNESS_PROXY_TEST("redis: redis_auth against password-protected servers", auth_required)

// Where nutcracker closes the connection, cachemux answers and carries on.
static void auth_malformed(ProxyKind kind) {
    Setup s(kind, {"--requirepass", kPassword}, {{"redis_auth", kPassword}});
    struct Case {
        std::string request;
        std::vector<std::string> cachemux_may_answer;
    };
    const std::vector<Case> cases = {
        {cmd("AUTH"), {"-ERR wrong number of arguments for 'auth' command\r\n"}},
        // redis 6+ reads two arguments as user and password
        {cmd("AUTH", "default", "wrong"),
         {"-WRONGPASS invalid username-password pair or user is disabled.\r\n", kInvalid,
          "-ERR wrong number of arguments for 'auth' command\r\n"}},
        {cmd("AUTH", kPassword, "x", "y"), {"-ERR syntax error\r\n", kInvalid,
                                             "-ERR wrong number of arguments for 'auth' command\r\n"}},
        // before AUTH: redis checks the command first, nutcracker's NOAUTH would do too
        {cmd("FOO"), {"-ERR unknown command 'FOO', with args beginning with: \r\n", kNoAuth}},
        {cmd("GET", "a", "b"), {"-ERR wrong number of arguments for 'get' command\r\n", kNoAuth}},
    };
    for (auto& cs : cases) {
        INFO("request " << escape(cs.request));
        Connection c(s.port());
        c.send_all(cs.request);
        if (kind == ProxyKind::Nutcracker) {
            CHECK(c.wait_closed(3000ms));
            CHECK(escape(c.buffered()) == "");
            continue;
        }
        std::string got = resp::read_reply(c);
        bool ok = false;
        for (auto& a : cs.cachemux_may_answer) ok = ok || got == a;
        CHECK_MESSAGE(ok, "unexpected reply \"" << escape(got) << "\"");
        // Still not authenticated, still usable.
        CHECK(resp::call(c, cmd("GET", "apple")) == kNoAuth);
        CHECK(resp::call(c, cmd("AUTH", kPassword)) == "+OK\r\n");
        check_usable(c, "a malformed AUTH or command");
    }
}
HARNESS_PROXY_TEST("redis: AUTH with wrong argument counts (nutcracker closes)", auth_malformed)

// ----------------------------- password on the servers, none in the pool

static void servers_protected_pool_open(ProxyKind kind) {
    Setup s(kind, {"--requirepass", kPassword}, {});
    Connection c(s.port());
    // The servers' own NOAUTH (with its period) comes through unchanged.
    CHECK(resp::call(c, cmd("GET", "apple")) == kRedisNoAuth);
    CHECK(resp::call(c, cmd("SET", "beta", "1")) == kRedisNoAuth);
    // AUTH is the proxy's business, and the pool has no password.
    CHECK(resp::call(c, cmd("AUTH", kPassword)) == kNoPasswordSet);
    CHECK(resp::call(c, cmd("GET", "apple")) == kRedisNoAuth);
    CHECK(resp::call(c, cmd("PING")) == "+PONG\r\n");
    CHECK(resp::call(c, cmd("EVAL", "return 1", "1", "apple")) == kRedisNoAuth);
    // A multi-key command (two keys or more: it is split) whose pieces get
    // error replies: nutcracker answers "-ERR Invalid argument" for the whole.
    CHECK(resp::call(c, cmd("MGET", "beta", "alpha", "apple")) == "-ERR Invalid argument\r\n");
    CHECK(resp::call(c, cmd("DEL", "beta", "alpha")) == "-ERR Invalid argument\r\n");
    CHECK(resp::call(c, cmd("MSET", "beta", "1", "apple", "2")) == "-ERR Invalid argument\r\n");
    CHECK(resp::call(c, cmd("MGET", "apple", "apple")) == "-ERR Invalid argument\r\n");  // one server
    CHECK(resp::call(c, cmd("UNLINK", "apple", "banana")) == "-ERR Invalid argument\r\n");
    // With a single key (MSET: a single pair) nothing is split: the server's
    // error comes through as it is.
    CHECK(resp::call(c, cmd("MGET", "apple")) == kRedisNoAuth);
    CHECK(resp::call(c, cmd("DEL", "apple")) == kRedisNoAuth);
    CHECK(resp::call(c, cmd("TOUCH", "apple")) == kRedisNoAuth);
    CHECK(resp::call(c, cmd("MSET", "apple", "1")) == kRedisNoAuth);
    check_usable(c, "error replies");
}
HARNESS_PROXY_TEST("redis: protected servers, no redis_auth in the pool", servers_protected_pool_open)

// A fragment answered with an error makes the merged reply -ERR Invalid
// argument; the other fragments still ran.
static void fragment_error(ProxyKind kind) {
    resp::require_redis_plugin(kind);
    RedisServer open1, locked({"--requirepass", kPassword}), open3;
    PoolSpec p;
    p.set("hash", "fnv1a_64").set("distribution", "ketama").set("redis", "true");
    p.servers = {ServerSpec{"127.0.0.1", open1.port(), 1, "s1"}, ServerSpec{"127.0.0.1", locked.port(), 1, "s2"},
                 ServerSpec{"127.0.0.1", open3.port(), 1, "s3"}};
    Proxy proxy(kind, {p});
    Connection c(proxy.port());
    CHECK(resp::call(c, cmd("SET", "beta", "B")) == "+OK\r\n");     // s1
    CHECK(resp::call(c, cmd("SET", "alpha", "A")) == kRedisNoAuth);  // s2
    CHECK(resp::call(c, cmd("SET", "apple", "P")) == "+OK\r\n");     // s3
    CHECK(resp::call(c, cmd("MGET", "beta", "apple")) == "*2\r\n$1\r\nB\r\n$1\r\nP\r\n");
    CHECK(resp::call(c, cmd("MGET", "beta", "alpha", "apple")) == "-ERR Invalid argument\r\n");
    CHECK(resp::call(c, cmd("TOUCH", "beta", "alpha", "apple")) == "-ERR Invalid argument\r\n");
    CHECK(resp::call(c, cmd("MSET", "beta", "1", "alpha", "2", "apple", "3")) == "-ERR Invalid argument\r\n");
    CHECK(resp::call(c, cmd("MGET", "beta", "apple")) == "*2\r\n$1\r\n1\r\n$1\r\n3\r\n");  // those pieces ran
    CHECK(resp::call(c, cmd("DEL", "beta", "alpha", "apple")) == "-ERR Invalid argument\r\n");
    CHECK(resp::call(c, cmd("MGET", "beta", "apple")) == "*2\r\n$-1\r\n$-1\r\n");
    check_usable(c, "merged error replies");
}
HARNESS_PROXY_TEST("redis: a multi-key command with one piece refused", fragment_error)

// ------------------------------------ redis_auth, servers without password

static void auth_pool_open_servers(ProxyKind kind) {
    Setup s(kind, {}, {{"redis_auth", kPassword}});
    Connection c(s.port());
    CHECK(resp::call(c, cmd("GET", "apple")) == kNoAuth);
    CHECK(resp::call(c, cmd("AUTH", kPassword)) == "+OK\r\n");
    // The servers refuse the proxy's AUTH; nothing of that reaches the client.
    CHECK(resp::call(c, cmd("MSET", "beta", "1", "alpha", "2", "apple", "3")) == "+OK\r\n");
    CHECK(resp::call(c, cmd("MGET", "beta", "alpha", "apple")) == "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    for (std::size_t i = 0; i < kKeys.size(); ++i)
        CHECK(s.direct_get(i, kKeys[i]) == "$1\r\n" + std::to_string(i + 1) + "\r\n");
}
HARNESS_PROXY_TEST("redis: redis_auth with servers that have no password", auth_pool_open_servers)

// ------------------------------------------------------------------ redis_db

static void redis_db(ProxyKind kind) {
    Setup s(kind, {}, {{"redis_db", "3"}});
    Connection c(s.port());
    CHECK(resp::call(c, cmd("MSET", "beta", "1", "alpha", "2", "apple", "3")) == "+OK\r\n");
    CHECK(resp::call(c, cmd("SET", "gamma", "4")) == "+OK\r\n");
    CHECK(resp::call(c, cmd("MGET", "beta", "alpha", "apple", "gamma")) ==
          "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    for (std::size_t i = 0; i < kKeys.size(); ++i) {
        INFO("key " << kKeys[i] << " on server s" << i + 1);
        CHECK(s.direct_get(i, kKeys[i], 3) == "$1\r\n" + std::to_string(i + 1) + "\r\n");
        CHECK(s.direct_get(i, kKeys[i], 0) == "$-1\r\n");
    }
    // Every server connection selects it: a second client, new pipelines.
    Connection c2(s.port());
    c2.send_all(cmd("GET", "apple") + cmd("GET", "beta") + cmd("GET", "alpha"));
    CHECK(resp::read_replies(c2, 3) == "$1\r\n3\r\n$1\r\n1\r\n$1\r\n2\r\n");
    // A client's SELECT is not proxied (nutcracker closes). cachemux presents
    // the pool as DB 0, whatever redis_db its servers select.
    Connection c3(s.port());
    c3.send_all(cmd("SELECT", "0"));
    if (kind == ProxyKind::Nutcracker) {
        CHECK(c3.wait_closed(3000ms));
    } else {
        CHECK(resp::read_reply(c3) == "+OK\r\n");
        CHECK(resp::call(c3, cmd("SELECT", "3")) == "-ERR DB index is out of range\r\n");
        CHECK(resp::call(c3, cmd("GET", "apple")) == "$1\r\n3\r\n");
    }
}
HARNESS_PROXY_TEST("redis: redis_db selects the DB on every server connection", redis_db)

static void redis_db_with_auth(ProxyKind kind) {
    Setup s(kind, {"--requirepass", kPassword}, {{"redis_db", "2"}, {"redis_auth", kPassword}});
    Connection c(s.port());
    CHECK(resp::call(c, cmd("GET", "apple")) == kNoAuth);
    CHECK(resp::call(c, cmd("AUTH", kPassword)) == "+OK\r\n");
    CHECK(resp::call(c, cmd("MSET", "beta", "1", "alpha", "2", "apple", "3")) == "+OK\r\n");
    CHECK(resp::call(c, cmd("MGET", "beta", "alpha", "apple")) == "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    int in_db2 = 0, in_db0 = 0;
    for (std::size_t i = 0; i < kKeys.size(); ++i) {
        in_db2 += s.direct_get(i, kKeys[i], 2, kPassword) != "$-1\r\n";
        in_db0 += s.direct_get(i, kKeys[i], 0, kPassword) != "$-1\r\n";
    }
    if (kind == ProxyKind::Cachemux) {
        CHECK_MESSAGE(in_db2 == 3, "redis_db: 2 must hold behind a password too (AUTH, then SELECT)");
        CHECK(in_db0 == 0);
    } else if (in_db0 == 3) {
        MESSAGE("nutcracker 0.5.0 (known bug, not asserted): it sends SELECT before AUTH, the server refuses "
                "the SELECT, and the keys land in DB 0");
    }
}
HARNESS_PROXY_TEST("redis: redis_db together with redis_auth", redis_db_with_auth)
