// Real redis clients through the proxy: redis-cli, redis-benchmark and
// python3-redis (tests/integration/redis_client.py), over three redis servers.
#include <doctest/doctest.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;
using resp::cmd;
using resp::ProxiedRedis;

namespace {

CommandResult redis_cli(int port, const std::vector<std::string>& args, const std::string& stdin_data = "") {
    std::vector<std::string> argv = {"redis-cli", "-h", "127.0.0.1", "-p", std::to_string(port)};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions o;
    o.stdin_data = stdin_data;
    return run_command(argv, 30000ms, o);
}

}  // namespace

static void redis_cli_client(ProxyKind kind) {
    ProxiedRedis px(kind);
    auto expect = [&](const std::vector<std::string>& args, const std::string& out) {
        auto r = redis_cli(px.port(), args);
        INFO(r.describe());
        CHECK(r.ok());
        CHECK(r.output == out);
    };
    expect({"PING"}, "PONG\n");
    expect({"SET", "apple", "red"}, "OK\n");
    expect({"GET", "apple"}, "red\n");
    expect({"MSET", "beta", "2", "alpha", "1", "apple", "3"}, "OK\n");  // three servers
    expect({"MGET", "alpha", "beta", "apple", "nokey"}, "1\n2\n3\n\n");
    expect({"--no-raw", "MGET", "alpha", "beta", "apple", "nokey"}, "1) \"1\"\n2) \"2\"\n3) \"3\"\n4) (nil)\n");
    expect({"INCR", "counter"}, "1\n");
    expect({"--no-raw", "INCRBY", "counter", "41"}, "(integer) 42\n");
    expect({"RPUSH", "list", "a", "b"}, "2\n");
    expect({"LRANGE", "list", "0", "-1"}, "a\nb\n");
    expect({"DEL", "alpha", "beta", "apple", "nokey"}, "3\n");
    expect({"--no-raw", "GET", "apple"}, "(nil)\n");
    expect({"EVAL", "return KEYS[1]", "1", "beta"}, "beta\n");

    // Commands on stdin, one a line (redis-cli sends them in turn on one connection).
    {
        auto r = redis_cli(px.port(), {}, "SET piped value\nGET piped\nMGET piped nokey\nDEL piped\n");
        INFO(r.describe());
        CHECK(r.ok());
        CHECK(r.output == "OK\nvalue\nvalue\n\n1\n");
    }

    // A server error: shown, the connection kept.
    {
        auto r = redis_cli(px.port(), {}, "SET s x\nINCR s\nGET s\n");
        INFO(r.describe());
        // (redis-cli prints an error reply followed by an empty line)
        CHECK(r.output == "OK\nERR value is not an integer or out of range\n\nx\n");
    }

    // A command nutcracker does not proxy: it closes; cachemux answers an error.
    {
        auto r = redis_cli(px.port(), {"GET", "a", "b"});
        INFO(r.describe());
        if (kind == ProxyKind::Nutcracker)
            CHECK(r.output.find("Server closed the connection") != std::string::npos);
        else
            CHECK(r.output == "ERR wrong number of arguments for 'get' command\n\n");
    }
    {
        auto r = redis_cli(px.port(), {}, "KEYS *\nGET counter\n");
        INFO(r.describe());
        if (kind == ProxyKind::Cachemux) {
            CHECK(r.output.rfind("ERR ", 0) == 0);
            CHECK(r.output.find("\n42\n") != std::string::npos);
        }
    }
}
HARNESS_PROXY_TEST("redis clients: redis-cli", redis_cli_client)

static void redis_benchmark_client(ProxyKind kind) {
    ProxiedRedis px(kind);
    auto run = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> argv = {"redis-benchmark", "-h", "127.0.0.1", "-p", std::to_string(px.port())};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return run_command(argv, 180000ms);
    };
    {
        // redis-benchmark 7.0 has no "mget" test: it runs SET, GET, INCR and LPUSH.
        auto r = run({"-t", "get,set,mget,lpush,incr", "-P", "16", "-n", "20000", "-q"});
        INFO(r.describe());
        CHECK(r.ok());
        for (std::string test : {"SET", "GET", "INCR", "LPUSH"}) {
            INFO("test " << test);
            std::regex line("(^|\\s)" + test + R"(: [0-9]+(\.[0-9]+)? requests per second)");
            CHECK(std::regex_search(r.output, line));
        }
        Connection c(px.port());
        CHECK(resp::call(c, cmd("LLEN", "mylist")) == ":20000\r\n");
        CHECK(resp::call(c, cmd("GET", "counter:__rand_int__")) == "$5\r\n20000\r\n");
    }
    {
        // MSET of 10 random keys: split over the servers on every request.
        auto r = run({"-t", "mset", "-r", "100000", "-P", "16", "-n", "20000", "-q"});
        INFO(r.describe());
        CHECK(r.ok());
        CHECK(std::regex_search(r.output,
                                std::regex(R"((^|\s)MSET \(10 keys\): [0-9]+(\.[0-9]+)? requests per second)")));
        for (auto& s : px.servers) {
            Connection d(s->port());
            std::string n = resp::call(d, cmd("DBSIZE"));
            INFO("redis " << s->port() << " DBSIZE " << escape(n));
            CHECK(n != ":0\r\n");
            CHECK(n != ":1\r\n");
        }
    }
}
HARNESS_PROXY_TEST("redis clients: redis-benchmark -P 16", redis_benchmark_client)

static void python_redis_client(ProxyKind kind) {
    ProxiedRedis px(kind);
    auto r = run_command({python3(), source_dir() + "/tests/integration/redis_client.py", std::to_string(px.port())},
                         120000ms);
    INFO(r.describe());
    CHECK(r.ok());
    CHECK(r.output.find("FAIL") == std::string::npos);
    CHECK(std::regex_search(r.output, std::regex(R"(redis-py: (\d+) of \1 checks passed)")));

    // The keys it left behind are spread over the servers, each on exactly one.
    std::vector<std::string> keys;
    for (std::uint64_t i = 0; i < 300; ++i)  // keep_key() in redis_client.py
        keys.push_back("py:keep:" + std::to_string((i * 2654435761ULL) % 4294967296ULL) + ":" + std::to_string(i));
    std::vector<int> where(keys.size(), -1);
    int servers_used = 0;
    for (std::size_t b = 0; b < px.servers.size(); ++b) {
        Connection d(px.servers[b]->port());
        std::string batch;
        for (auto& k : keys) batch += cmd("GET", k);
        d.send_all(batch);
        bool any = false;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            std::string v = resp::read_reply(d);
            if (v == "$-1\r\n") continue;
            INFO("key " << keys[i] << " on server s" << b + 1);
            CHECK(v == "$" + std::to_string(std::to_string(i).size()) + "\r\n" + std::to_string(i) + "\r\n");
            where[i] = where[i] == -1 ? static_cast<int>(b) : -2;
            any = true;
        }
        servers_used += any;
    }
    CHECK(servers_used == 3);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        INFO("key " << keys[i]);
        CHECK(where[i] >= 0);
    }
}
HARNESS_PROXY_TEST("redis clients: python3-redis with pipelines", python_redis_client)
