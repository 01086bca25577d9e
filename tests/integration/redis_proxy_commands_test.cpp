// The commands a redis pool's proxy answers itself, against real redis
// servers: replies compared with a redis-server's own where redis has the
// command, the version INFO and HELLO report learned from the servers, and
// per-connection client state. (Each command's wording: the unit tests,
// tests/unit/plugins/redis/proxy_commands_test.cpp; real clients:
// node_clients_test.cpp, handshake_replay_test.cpp.)
#include <doctest/doctest.h>

#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;
using resp::cmd;

namespace {

// Three redis servers named s1..s3 behind one cachemux pool.
struct Pool : resp::ProxiedRedis {
    explicit Pool(std::vector<std::pair<std::string, std::string>> options = {},
                  std::vector<std::string> server_args = {})
        : ProxiedRedis(ProxyKind::Cachemux, 3, std::move(options), std::move(server_args)) {}
};

// The value of `field` in an INFO reply ("" when absent).
std::string info_field(const std::string& info, const std::string& field) {
    std::smatch m;
    std::regex line("(^|\\n)" + field + ":([^\\r\\n]*)\\r\\n");
    return std::regex_search(info, m, line) ? m[2].str() : std::string();
}

// What the server at `port` says its version is.
std::string server_version(int port) {
    Connection direct(port);
    return info_field(resp::call(direct, cmd("INFO", "server")), "redis_version");
}

// `reply` with HELLO's id value (the one field that names a connection) replaced by 0.
std::string without_id(const std::string& hello) {
    return std::regex_replace(hello, std::regex("\\$2\\r\\nid\\r\\n:[0-9]+\\r\\n"), "$$2\r\nid\r\n:0\r\n");
}

}  // namespace

HARNESS_CACHEMUX_TEST("redis proxy commands: replies equal redis-server's where redis has the command") {
    Pool pool;
    Connection proxy(pool.port());
    Connection direct(pool.servers[0]->port());
    for (const std::string& request :
         {cmd("PING"), cmd("PING", "hello there"), cmd("ECHO", "token-4711"), cmd("SELECT", "0"),
          cmd("CLIENT", "GETNAME"), cmd("CLIENT", "SETNAME", "svc"), cmd("CLIENT", "GETNAME"),
          cmd("CLIENT", "SETNAME", "bad name"), cmd("CLIENT", "NO-EVICT", "on"), cmd("CLIENT", "FOO"),
          cmd("CLIENT", "SETNAME"), cmd("CONFIG", "GET", "maxmemory"), cmd("CONFIG", "GET", "databases"),
          cmd("COMMAND", "COUNT"), cmd("COMMAND", "DOCS", "get"), cmd("COMMAND", "INFO", "get", "zrank"),
          cmd("COMMAND", "GETKEYS", "SET", "k", "v"), cmd("HELLO", "4"), cmd("HELLO", "x"),
          cmd("HELLO", "2", "FOO"), cmd("CLUSTER", "INFO"), cmd("SELECT", "x"), cmd("ECHO"), cmd("ROLE")}) {
        INFO(escape(request));
        std::string want = resp::call(direct, request);
        CHECK(escape(resp::call(proxy, request), 4000) == escape(want, 4000));
    }
    // Several parameters: redis lists them in its dictionary's order, which
    // differs from one redis process to another, so compare them as pairs.
    {
        std::string got = resp::call(proxy, cmd("CONFIG", "GET", "databases", "timeout"));
        CHECK(got.rfind("*4\r\n", 0) == 0);
        CHECK(got.find("$9\r\ndatabases\r\n$2\r\n16\r\n") != std::string::npos);
        CHECK(got.find("$7\r\ntimeout\r\n$1\r\n0\r\n") != std::string::npos);
    }
    // HELLO: the same map, but for the connection's id.
    for (const std::string& request : {cmd("HELLO"), cmd("HELLO", "2", "SETNAME", "nm")}) {
        INFO(escape(request));
        CHECK(escape(without_id(resp::call(proxy, request))) == escape(without_id(resp::call(direct, request))));
    }
    CHECK(resp::call(proxy, cmd("CLIENT", "GETNAME")) == "$2\r\nnm\r\n");
    // RESET, then QUIT: +RESET, +OK, then the proxy closes.
    CHECK(resp::call(proxy, cmd("RESET")) == resp::call(direct, cmd("RESET")));
    CHECK(resp::call(proxy, cmd("CLIENT", "GETNAME")) == "$-1\r\n");
    proxy.send_all(cmd("QUIT") + cmd("PING"));
    CHECK(proxy.wait_closed(3000ms));
    CHECK(escape(proxy.buffered()) == "+OK\\r\\n");
}

HARNESS_CACHEMUX_TEST("redis proxy commands: INFO and HELLO report the lowest version the servers gave") {
    Pool pool;
    const std::string version = server_version(pool.servers[0]->port());
    REQUIRE(!version.empty());
    Connection c(pool.port());
    // No server connection yet: the documented fallback, and none known.
    std::string before = resp::call(c, cmd("INFO"));
    CHECK(info_field(before, "redis_version") == "6.2.0");
    CHECK(info_field(before, "server0") == "name=s1,version=unknown");
    CHECK(info_field(before, "loading") == "0");
    CHECK(info_field(before, "redis_mode") == "standalone");
    CHECK(info_field(before, "role") == "master");
    // A request for each server opens its connection, which asks its version.
    for (const char* key : {"beta", "alpha", "apple"}) CHECK(resp::call(c, cmd("SET", key, "1")) == "+OK\r\n");
    std::string after = resp::call(c, cmd("INFO"));
    CHECK(info_field(after, "redis_version") == version);
    for (const char* s : {"server0", "server1", "server2"}) {
        CAPTURE(s);
        CHECK(info_field(after, s).ends_with(",version=" + version));
    }
    std::string hello = resp::call(c, cmd("HELLO", "2"));
    CHECK(hello.find("$7\r\nversion\r\n$" + std::to_string(version.size()) + "\r\n" + version + "\r\n") !=
          std::string::npos);
    // Sections: only what was asked for.
    std::string server = resp::call(c, cmd("INFO", "server"));
    CHECK(server.find("# Server\r\n") != std::string::npos);
    CHECK(server.find("# Clients") == std::string::npos);
    CHECK(info_field(server, "tcp_port") == std::to_string(pool.port()));
    // Clients of the pool, counted.
    Connection other(pool.port());
    CHECK(resp::call(other, cmd("PING")) == "+PONG\r\n");
    CHECK(info_field(resp::call(c, cmd("INFO", "clients")), "connected_clients") == "2");
}

HARNESS_CACHEMUX_TEST("redis proxy commands: the version is learned behind redis_auth and redis_db, and with preconnect") {
    Pool pool({{"redis_auth", "sesame"}, {"redis_db", "2"}, {"preconnect", "true"}},
              {"--requirepass", "sesame"});
    const std::string version = [&] {
        Connection direct(pool.servers[0]->port());
        CHECK(resp::call(direct, cmd("AUTH", "sesame")) == "+OK\r\n");
        return info_field(resp::call(direct, cmd("INFO", "server")), "redis_version");
    }();
    Connection c(pool.port());
    CHECK(resp::call(c, cmd("INFO")).rfind("-NOAUTH", 0) == 0);
    CHECK(resp::call(c, cmd("AUTH", "default", "sesame")) == "+OK\r\n");
    // preconnect: every server connection greets its server at start; poll
    // (bounded) until all three have answered.
    std::string info;
    for (auto until = Clock::now() + 5s; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
        info = resp::call(c, cmd("INFO", "cachemux"));
        if (info.find("version=unknown") == std::string::npos) break;
    }
    CHECK(info.find("version=unknown") == std::string::npos);
    CHECK(info_field(resp::call(c, cmd("INFO", "server")), "redis_version") == version);
    // The greeting's SELECT still holds: the key lands in DB 2.
    CHECK(resp::call(c, cmd("SET", "apple", "x")) == "+OK\r\n");
    Connection direct(pool.servers[2]->port());
    CHECK(resp::call(direct, cmd("AUTH", "sesame")) == "+OK\r\n");
    CHECK(resp::call(direct, cmd("SELECT", "2")) == "+OK\r\n");
    CHECK(resp::call(direct, cmd("GET", "apple")) == "$1\r\nx\r\n");
}

HARNESS_CACHEMUX_TEST("redis proxy commands: CLIENT state belongs to each connection") {
    Pool pool;
    Connection a(pool.port()), b(pool.port());
    CHECK(resp::call(a, cmd("CLIENT", "SETNAME", "first")) == "+OK\r\n");
    CHECK(resp::call(b, cmd("CLIENT", "SETNAME", "second")) == "+OK\r\n");
    CHECK(resp::call(a, cmd("CLIENT", "GETNAME")) == "$5\r\nfirst\r\n");
    CHECK(resp::call(b, cmd("CLIENT", "GETNAME")) == "$6\r\nsecond\r\n");
    std::string id_a = resp::call(a, cmd("CLIENT", "ID")), id_b = resp::call(b, cmd("CLIENT", "ID"));
    CHECK(id_a.rfind(":", 0) == 0);
    CHECK(id_a != id_b);
    {
        Connection gone(pool.port());
        CHECK(resp::call(gone, cmd("CLIENT", "ID")) != id_a);
    }
    // CLIENT INFO: this connection's addresses and name, in redis's layout.
    std::string info = resp::call(a, cmd("CLIENT", "INFO"));
    std::smatch m;
    REQUIRE(std::regex_search(info, m, std::regex("^\\$[0-9]+\\r\\nid=([0-9]+) addr=127\\.0\\.0\\.1:([0-9]+) "
                                                  "laddr=127\\.0\\.0\\.1:([0-9]+) fd=[0-9]+ name=first age=[0-9]+ ")));
    CHECK(":" + m[1].str() + "\r\n" == id_a);
    CHECK(m[3].str() == std::to_string(pool.port()));
    CHECK(info.ends_with(" resp=2\n\r\n"));
    // A pipeline of them, each answered in order, with a forwarded GET between.
    a.send_all(cmd("CLIENT", "SETNAME", "third") + cmd("GET", "apple") + cmd("CLIENT", "GETNAME") + cmd("ECHO", "x"));
    CHECK(resp::read_replies(a, 4) == "+OK\r\n$-1\r\n$5\r\nthird\r\n$1\r\nx\r\n");
}

HARNESS_CACHEMUX_TEST("redis proxy commands: CLIENT INFO on a unix socket names the socket, as redis does") {
    resp::require_redis_plugin(ProxyKind::Cachemux);
    RedisServer server;
    PoolSpec p;
    const std::string path = make_temp_dir("unix") + "/redis.sock";
    p.listen = path;
    p.set("redis", "true");
    p.servers.push_back({"127.0.0.1", server.port(), 1, "s1"});
    Proxy proxy(ProxyKind::Cachemux, {p});
    // A unix-socket client in python (the harness's Connection is TCP), retried
    // until the proxy listens.
    const std::string script =
        "import socket, sys, time\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); break\n"
        "    except OSError:\n"
        "        time.sleep(0.05)\n"
        "s.sendall(b'*2\\r\\n$6\\r\\nCLIENT\\r\\n$4\\r\\nINFO\\r\\n')\n"
        "out = b''\n"
        "while not out.endswith(b'\\n\\r\\n'):\n"
        "    out += s.recv(4096)\n"
        "print(out.decode())\n";
    auto r = run_command({python3(), "-c", script, path}, 10000ms);
    INFO(r.describe());
    REQUIRE(r.ok());
    CHECK(r.output.find(" addr=" + path + ":0 laddr=" + path + ":0 ") != std::string::npos);
}
