// Real node.js redis clients through cachemux, over three redis servers:
// ioredis 5 on its default options (a ready check with INFO, CLIENT SETINFO)
// and node-redis 4 with a client name (CLIENT SETNAME, CLIENT SETINFO).  The
// scripts are tests/clients/*.js; the npm packages they use are pinned in
// tests/clients/package-lock.json and installed with
// `(cd tests/clients && npm ci)`.  Each script runs its checks against the
// proxy and against a redis-server of its own, and compares the replies.
//
// cachemux only: nutcracker closes the connection on INFO and CLIENT, so
// neither client gets past its handshake there.
#include <doctest/doctest.h>

#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;
using resp::cmd;
using resp::ProxiedRedis;
namespace fs = std::filesystem;

namespace {

std::string clients_dir() { return source_dir() + "/tests/clients"; }

std::string node_binary() { return fs::exists("/usr/bin/node") ? "/usr/bin/node" : "node"; }

// Fails the test case (not a skip) when node or the npm packages are missing.
void require_node_packages() {
    auto version = run_command({node_binary(), "--version"}, 10000ms);
    REQUIRE_MESSAGE(version.ok(), "node is not installed (the node client tests need node 18 or later): "
                                      << version.describe());
    for (const std::string package : {"ioredis", "redis"}) {
        const std::string manifest = clients_dir() + "/node_modules/" + package + "/package.json";
        REQUIRE_MESSAGE(fs::exists(manifest), "tests/clients/node_modules/" << package
                                                  << " is missing: run `(cd tests/clients && npm ci)` to install "
                                                     "the npm packages pinned in tests/clients/package-lock.json");
    }
}

// node tests/clients/<script> PORT DIRECT_PORT, bounded; each script stops
// itself after 40 s at the latest.
CommandResult run_node(const std::string& script, int port, int direct_port) {
    ProcessOptions o;
    o.cwd = clients_dir();
    o.name = script;
    return run_command({node_binary(), clients_dir() + "/" + script, std::to_string(port), std::to_string(direct_port)},
                       60000ms, o);
}

// The script ran to its end with every check passed (one assertion, so the
// output is printed once).
bool check_summary(const CommandResult& r, const std::string& name) {
    INFO(r.describe());
    bool passed = r.ok() && r.output.find("FAIL") == std::string::npos &&
                  std::regex_search(r.output, std::regex(name + R"(: (\d+) of \1 checks passed)"));
    CHECK(passed);
    return passed;
}

// Every key is on exactly one of the servers, with the value `values[i]`, and
// every server holds some of them.
void check_spread(const ProxiedRedis& px, const std::vector<std::string>& keys, const std::vector<std::string>& values) {
    std::vector<int> where(keys.size(), -1);
    for (std::size_t b = 0; b < px.servers.size(); ++b) {
        Connection d(px.servers[b]->port());
        std::string batch;
        for (auto& k : keys) batch += cmd("GET", k);
        d.send_all(batch);
        int held = 0;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            std::string v = resp::read_reply(d);
            if (v == "$-1\r\n") continue;
            INFO("key " << keys[i] << " on server s" << b + 1);
            CHECK(v == "$" + std::to_string(values[i].size()) + "\r\n" + values[i] + "\r\n");
            where[i] = where[i] == -1 ? static_cast<int>(b) : -2;
            ++held;
        }
        INFO("server s" << b + 1);
        CHECK(held > 0);
    }
    std::string misplaced;
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (where[i] < 0) misplaced += " " + keys[i] + (where[i] == -1 ? " (on none)" : " (on several)");
    CHECK_MESSAGE(misplaced.empty(), "keys not on exactly one server:" << misplaced);
}

// spreadKey() in tests/clients/common.js.
std::string spread_key(const std::string& prefix, std::uint64_t i) {
    return prefix + ":" + std::to_string((i * 2654435761ULL) % 4294967296ULL) + ":" + std::to_string(i);
}

}  // namespace

HARNESS_CACHEMUX_TEST("node clients: ioredis 5 on default options (ready check, pipeline)") {
    require_node_packages();
    ProxiedRedis px(ProxyKind::Cachemux);
    RedisServer direct;
    auto r = run_node("ioredis_client.js", px.port(), direct.port());
    if (!check_summary(r, "ioredis")) return;

    // The keys its pipeline left went through the pool to all three servers.
    std::vector<std::string> keys, values;
    for (std::uint64_t i = 0; i < 60; ++i) {  // KEEP in ioredis_client.js
        keys.push_back(spread_key("ior:keep", i));
        values.push_back(std::to_string(i));
    }
    check_spread(px, keys, values);
}

HARNESS_CACHEMUX_TEST("node clients: node-redis 4 with name 'svc' (and database: 0)") {
    require_node_packages();
    ProxiedRedis px(ProxyKind::Cachemux);
    RedisServer direct;
    auto r = run_node("node_redis_client.js", px.port(), direct.port());
    if (!check_summary(r, "node-redis")) return;

    // Its keys (20 per client, SET one by one) landed on all three servers.
    std::vector<std::string> keys, values;
    for (std::uint64_t i = 5; i < 20; ++i) {  // the first five were deleted
        keys.push_back(spread_key("nr:n", i));
        values.push_back("v" + std::to_string(i));
    }
    check_spread(px, keys, values);
}
