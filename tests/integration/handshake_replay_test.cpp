// What redis clients send when they connect, through the proxy (issue 15):
//
// - python3-redis (Debian's redis-py 4.3) with client_name and db=0
//   (tests/integration/redis_named_client.py);
// - a byte-for-byte replay of StackExchange.Redis 2.x's connect handshake on
//   default options, pipelined on one socket as the library writes it
//   (src/StackExchange.Redis/ServerEndPoint.cs HandshakeAsync,
//   AutoConfigureAsync, GetTracerMessage): its connection fails unless the
//   tracer ECHO comes back as the token it sent;
// - a replay of predis 3's (src/Connection/Factory.php prepareConnection):
//   HELLO 2 SETNAME predis, CLIENT SETINFO x2, SELECT 0 with `database` set;
// - replies nested 20 and 190 levels deep (EVAL of nested Lua tables), relayed
//   byte for byte with the next request on the same connection answered.
//
// Each replay also runs against a redis-server directly, and the replies the
// proxy forwards must equal redis's.  The handshake cases are cachemux only:
// nutcracker closes the connection on HELLO, CLIENT, INFO, ECHO, CONFIG.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;
using resp::cmd;
using resp::ProxiedRedis;

namespace {

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

// The elements of an array reply "*N\r\n...", each a whole reply; nullopt
// unless `reply` is exactly one array.
std::optional<std::vector<std::string>> elements(const std::string& reply) {
    if (reply.size() < 4 || reply[0] != '*') return std::nullopt;
    auto eol = reply.find("\r\n");
    long n = std::stol(reply.substr(1, eol - 1));
    std::vector<std::string> out;
    std::size_t pos = eol + 2;
    for (long i = 0; i < n; ++i) {
        std::size_t len = resp::reply_length(std::string_view(reply).substr(pos));
        if (len == 0) return std::nullopt;
        out.push_back(reply.substr(pos, len));
        pos += len;
    }
    if (pos != reply.size()) return std::nullopt;
    return out;
}

// The payload of a bulk string reply, or nullopt if it is not one.
std::optional<std::string> bulk_payload(const std::string& reply) {
    if (reply.size() < 4 || reply[0] != '$' || reply == "$-1\r\n") return std::nullopt;
    auto eol = reply.find("\r\n");
    std::size_t n = std::stoul(reply.substr(1, eol - 1));
    if (reply.size() != eol + 2 + n + 2) return std::nullopt;
    return reply.substr(eol + 2, n);
}

bool is_integer(const std::string& reply) { return std::regex_match(reply, std::regex(R"(:-?[0-9]+\r\n)")); }

// Sends `commands` in one write, reads exactly one reply per command, then
// checks that nothing more arrives and the connection stays open.
std::vector<std::string> replay(int port, const std::vector<std::vector<std::string>>& commands) {
    Connection c(port);
    std::string wire;
    for (auto& args : commands) wire += resp::command(args);
    c.send_all(wire);
    std::vector<std::string> replies;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        INFO("reply " << i << " of " << commands.size() << " from port " << port << ", so far: "
                      << escape(c.buffered()));
        replies.push_back(resp::read_reply(c));
    }
    std::string extra = c.read_for(300ms);
    INFO("port " << port);
    CHECK_MESSAGE(extra.empty(), "more replies than commands: " << escape(extra));
    CHECK_FALSE(c.closed());
    return replies;
}

// ------------------------------------------------------ StackExchange.Redis

// StackExchange.Redis 2.x on default options (no password, KeepAlive 60 s,
// DefaultVersion 3.0, TieBreaker "__Booksleeve_TieBreak"), the interactive
// connection: HandshakeAsync writes CLIENT SETNAME <ClientName>, CLIENT SETINFO
// lib-name / lib-ver, CLIENT ID; AutoConfigureAsync writes CONFIG GET timeout
// (only when KeepAlive <= 0), CONFIG GET slave-read-only (replica-read-only
// once the version is known to be >= 5), CONFIG GET databases, SENTINEL
// MASTERS, INFO replication, INFO server, CLUSTER NODES and the tie-breaker
// GET; then the tracer ECHO <multiplexer id> completes the handshake.  The
// literals are theirs (RedisLiterals), including the case.
const std::string kSeName = "cmtest(SE.Redis-v2.8.58)";
const std::string kSeToken = "3f2c0a1e-5b7d-4e29-9c61-8a4f0d2b7e15";
const std::string kTieBreaker = "__Booksleeve_TieBreak";

std::vector<std::vector<std::string>> se_redis_handshake(bool keepalive_off) {
    std::vector<std::vector<std::string>> c = {
        {"CLIENT", "SETNAME", kSeName},
        {"CLIENT", "SETINFO", "lib-name", "SE.Redis"},
        {"CLIENT", "SETINFO", "lib-ver", "2.8.58"},
        {"CLIENT", "ID"},
    };
    if (keepalive_off) c.push_back({"CONFIG", "GET", "timeout"});
    for (std::vector<std::string> more : std::vector<std::vector<std::string>>{
             {"CONFIG", "GET", "slave-read-only"},
             {"CONFIG", "GET", "databases"},
             {"SENTINEL", "MASTERS"},
             {"INFO", "replication"},
             {"INFO", "server"},
             {"CLUSTER", "NODES"},
             {"GET", kTieBreaker},
             {"ECHO", kSeToken},
             // The application's first command, to see the replies stay in step.
             {"GET", "se:first"},
         })
        c.push_back(more);
    return c;
}

// Checks one replay's replies; `proxy` relaxes nothing, it adds what
// cachemux answers itself (CLIENT SETINFO: +OK; redis 7.0 does not know it).
void check_se_redis(const std::vector<std::vector<std::string>>& commands, const std::vector<std::string>& replies,
                    bool proxy, const std::vector<std::string>* direct) {
    REQUIRE(replies.size() == commands.size());
    for (std::size_t i = 0; i < commands.size(); ++i) {
        const auto& a = commands[i];
        const std::string& r = replies[i];
        std::string what;
        for (auto& s : a) what += (what.empty() ? "" : " ") + s;
        INFO((proxy ? "proxy: " : "redis: ") << what << " -> " << escape(r));
        if (a[0] == "CLIENT" && a[1] == "SETNAME") {
            CHECK(r == "+OK\r\n");
        } else if (a[0] == "CLIENT" && a[1] == "SETINFO") {
            if (proxy) CHECK(r == "+OK\r\n");
            else CHECK((r == "+OK\r\n" || r.rfind("-ERR ", 0) == 0));
        } else if (a[0] == "CLIENT" && a[1] == "ID") {
            CHECK(is_integer(r));
        } else if (a[0] == "CONFIG") {
            // Forwarded to one server: that server's answer, as redis gives it.
            auto e = elements(r);
            CHECK((e && e->size() == 2));
            if (e && e->size() == 2) CHECK((*e)[0] == bulk(a[2]));
            if (direct) CHECK(r == (*direct)[i]);
        } else if (a[0] == "SENTINEL" || a[0] == "CLUSTER") {
            // Not a sentinel, not a cluster: an error, which SE.Redis ignores.
            CHECK(r.rfind("-", 0) == 0);
        } else if (a[0] == "INFO") {
            auto text = bulk_payload(r).value_or("(not a bulk string)");
            if (a[1] == "replication") CHECK(text.find("role:master\r\n") != std::string::npos);
            if (a[1] == "server") CHECK(text.find("redis_version:") != std::string::npos);
        } else if (a[0] == "GET" && a[1] == kTieBreaker) {
            CHECK(r == "$-1\r\n");
        } else if (a[0] == "ECHO") {
            CHECK(r == bulk(kSeToken));  // the tracer: anything else fails the connection
        } else if (a[0] == "GET") {
            CHECK(r == bulk("first value"));
        } else {
            FAIL("no check for " << what);
        }
    }
}

void se_redis_replay(bool keepalive_off) {
    ProxiedRedis px(ProxyKind::Cachemux);
    RedisServer direct;
    for (int port : {px.port(), direct.port()}) {
        Connection c(port);
        REQUIRE(resp::call(c, cmd("SET", "se:first", "first value")) == "+OK\r\n");
    }
    auto commands = se_redis_handshake(keepalive_off);
    auto want = replay(direct.port(), commands);
    check_se_redis(commands, want, false, nullptr);
    auto got = replay(px.port(), commands);
    check_se_redis(commands, got, true, &want);
}

}  // namespace

HARNESS_CACHEMUX_TEST("handshake: StackExchange.Redis connect replay (default options)") { se_redis_replay(false); }

HARNESS_CACHEMUX_TEST("handshake: StackExchange.Redis connect replay (keepAlive=0: CONFIG GET timeout too)") {
    se_redis_replay(true);
}

// ------------------------------------------------------------------ predis 3

namespace {

// predis 3 with `database => 0` and no password: four connect commands,
// pipelined, then the application's.
const std::vector<std::vector<std::string>> kPredisHandshake = {
    {"HELLO", "2", "SETNAME", "predis"},
    {"CLIENT", "SETINFO", "LIB-NAME", "predis"},
    {"CLIENT", "SETINFO", "LIB-VER", "3.2.0"},
    {"SELECT", "0"},
    {"CLIENT", "GETNAME"},
    {"GET", "predis:first"},
};

void check_predis(const std::vector<std::string>& replies, bool proxy) {
    REQUIRE(replies.size() == kPredisHandshake.size());
    INFO((proxy ? "proxy" : "redis") << " replies: " << escape(replies[0] + replies[1] + replies[2] + replies[3]));
    // HELLO 2: a RESP2 map, 7 pairs.
    auto e = elements(replies[0]);
    CHECK((e && e->size() == 14));
    if (e && e->size() == 14) {
        const auto& hello = *e;
        std::vector<std::string> names;
        for (std::size_t i = 0; i < hello.size(); i += 2) names.push_back(hello[i]);
        CHECK(names == std::vector<std::string>{bulk("server"), bulk("version"), bulk("proto"), bulk("id"),
                                                bulk("mode"), bulk("role"), bulk("modules")});
        CHECK(bulk_payload(hello[1]).has_value());  // the server: "redis"
        CHECK(bulk_payload(hello[3]).has_value());  // the version
        CHECK(hello[5] == ":2\r\n");                // proto
        CHECK(is_integer(hello[7]));                // id: predis keeps it as the client id
        CHECK(hello[9] == bulk("standalone"));
        CHECK(hello[11] == bulk("master"));
        CHECK(hello[13].rfind("*", 0) == 0);  // modules: an array
    }
    if (proxy) {
        CHECK(replies[1] == "+OK\r\n");
        CHECK(replies[2] == "+OK\r\n");
    }
    CHECK(replies[3] == "+OK\r\n");  // SELECT 0: anything else fails predis's connection
    CHECK(replies[4] == bulk("predis"));
    CHECK(replies[5] == bulk("v"));
}

}  // namespace

HARNESS_CACHEMUX_TEST("handshake: predis 3 connect replay (HELLO 2 SETNAME, CLIENT SETINFO, SELECT 0)") {
    ProxiedRedis px(ProxyKind::Cachemux);
    RedisServer direct;
    for (int port : {px.port(), direct.port()}) {
        Connection c(port);
        REQUIRE(resp::call(c, cmd("SET", "predis:first", "v")) == "+OK\r\n");
    }
    check_predis(replay(direct.port(), kPredisHandshake), false);
    check_predis(replay(px.port(), kPredisHandshake), true);

    // A database other than 0 does not exist behind a proxy: redis's own
    // error for a missing DB index, and the connection carries on.
    Connection c(px.port());
    CHECK(resp::call(c, cmd("SELECT", "1")) == "-ERR DB index is out of range\r\n");
    CHECK(resp::call(c, cmd("GET", "predis:first")) == bulk("v"));

    // No RESP3 yet: HELLO 3 gets redis's unknown-command error, which the
    // RESP3-first clients (Jedis 8, Lettuce, ioredis 6, predis) fall back
    // to RESP2 on, and the connection carries on.
    std::string hello3 = resp::call(c, cmd("HELLO", "3"));
    CHECK_MESSAGE(hello3.rfind("-ERR unknown command 'HELLO'", 0) == 0, escape(hello3));
    CHECK(resp::call(c, cmd("GET", "predis:first")) == bulk("v"));
}

// ------------------------------------------------------------- python3-redis

HARNESS_CACHEMUX_TEST("handshake: python3-redis with client_name='svc', db=0") {
    ProxiedRedis px(ProxyKind::Cachemux);
    RedisServer direct;
    auto r = run_command({python3(), source_dir() + "/tests/integration/redis_named_client.py",
                          std::to_string(px.port()), std::to_string(direct.port())},
                         60000ms);
    INFO(r.describe());
    CHECK(r.ok());
    CHECK(r.output.find("FAIL") == std::string::npos);
    CHECK(std::regex_search(r.output, std::regex(R"(redis-py named: (\d+) of \1 checks passed)")));
}

// --------------------------------------------------------- deep nested reply

namespace {

// "return {{...{'value'}...}}" nested `depth` tables deep.
std::string nested_script(int depth) {
    return "return " + std::string(depth, '{') + "'value'" + std::string(depth, '}');
}

// Each level {i, false, <next>} down to {'value', 7}: integers, nils and
// arrays mixed at every level.
std::string mixed_script(int depth) {
    std::string s = "{'value', 7}";
    for (int i = depth - 1; i >= 1; --i) s = "{" + std::to_string(i) + ", false, " + s + "}";
    return "return " + s;
}

void nested_reply(ProxyKind kind) {
    ProxiedRedis px(kind);
    RedisServer direct;
    const std::string key = "somekey";
    for (int port : {px.port(), direct.port()}) {
        Connection c(port);
        REQUIRE(resp::call(c, cmd("SET", key, "its value")) == "+OK\r\n");
    }
    struct Case {
        std::string name, script, expected;
    };
    std::string simple, deepest;
    for (int i = 0; i < 20; ++i) simple += "*1\r\n";
    simple += bulk("value");
    for (int i = 0; i < 190; ++i) deepest += "*1\r\n";  // near Lua's limit of nested constructors
    deepest += bulk("value");
    std::string mixed;
    for (int i = 1; i < 20; ++i) mixed += "*3\r\n:" + std::to_string(i) + "\r\n$-1\r\n";
    mixed += "*2\r\n" + bulk("value") + ":7\r\n";
    const std::vector<Case> cases = {{"20 levels of one element", nested_script(20), simple},
                                     {"20 levels of integer, nil, array", mixed_script(20), mixed},
                                     {"190 levels", nested_script(190), deepest}};

    for (const auto& tc : cases) {
        INFO(tc.name);
        const std::string eval = cmd("EVAL", tc.script, "1", key);
        // redis itself, for the reply to compare with.
        Connection d(direct.port());
        std::string want = resp::call(d, eval);
        REQUIRE(want == tc.expected);

        // Through the proxy: the EVAL with a GET right behind it on one
        // connection, and another client's GET of the same key (the same
        // server) at the same moment.
        Connection a(px.port());
        Connection b(px.port());
        a.send_all(eval + cmd("GET", key));
        b.send_all(cmd("GET", key));
        CHECK(resp::read_reply(a) == want);
        CHECK(resp::read_reply(a) == bulk("its value"));
        CHECK(resp::read_reply(b) == bulk("its value"));

        // Many of them pipelined: the replies cross buffer boundaries anywhere.
        std::string batch;
        for (int i = 0; i < 200; ++i) batch += eval + cmd("GET", key);
        a.send_all(batch);
        std::string replies = resp::read_replies(a, 400, 10000ms);
        std::string expected;
        for (int i = 0; i < 200; ++i) expected += want + bulk("its value");
        CHECK(replies == expected);
        CHECK(a.read_for(100ms).empty());
        CHECK_FALSE(a.closed());
    }
}

}  // namespace

HARNESS_PROXY_TEST("redis: replies nested 20 and 190 levels deep, pipelined with a GET", nested_reply)
