// auto_eject_hosts: a dead server leaves the ring after server_failure_limit
// failures, and its keys then land where nutcracker puts them: nutcracker
// rebuilds ketama and modula over the live servers alone, so the reference is
// nutcracker run on the live servers (its own ejection races its connects, so
// it does not settle reliably enough to be the reference itself). After
// server_retry_timeout the server is tried again.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// Where each key lands through `kind`; with `dead_port`, once the server
// there (in the middle of the list) is ejected.
std::vector<int> placement(ProxyKind kind, const std::vector<std::unique_ptr<MemcachedServer>>& live,
                           int dead_port, const std::string& distribution, const std::vector<std::string>& keys) {
    for (auto& b : live) mc::flush_all(b->port());
    PoolSpec pool;
    pool.name = "ejecting";
    pool.servers = server_specs(live, {1, 2, 3, 5});
    if (dead_port != 0) {
        ServerSpec dead;
        dead.port = dead_port;
        dead.weight = 4;
        pool.servers.insert(pool.servers.begin() + 2, dead);
    }
    pool.set("hash", "fnv1a_64").set("distribution", distribution);
    pool.set("auto_eject_hosts", "true").set("server_failure_limit", "1").set("server_retry_timeout", "60000");
    Proxy proxy = start_proxy(kind, pool);
    Connection c(proxy.port());
    // Some of these reach the dead server: its failed connect ejects it.
    // Rounds until one meets no error, so both proxies start from a ring
    // without the dead server however their connects were timed.
    // (Random keys: fnv1a_64 puts "w0".."w199" on one short arc of a ring.)
    bool clean = false;
    const auto warmup_keys = make_keys(200, 4711);
    for (int round = 0; round < 10 && !clean; ++round) {
        std::string warmup;
        for (const auto& k : warmup_keys) warmup += "get " + k + "\r\n";
        c.send_all(warmup);
        clean = true;
        for (int i = 0; i < 200; ++i) clean = c.read_until("\r\n", 5000ms) == "END\r\n" && clean;
        if (!clean) std::this_thread::sleep_for(100ms);
    }
    REQUIRE_MESSAGE(clean, std::string(to_string(kind)) << ": the dead server was never ejected");
    std::string batch;
    for (const auto& k : keys) batch += mc::set(k, "v");
    c.send_all(batch);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        std::string reply = c.read_until("\r\n", 5000ms);
        REQUIRE_MESSAGE(reply == "STORED\r\n", std::string(to_string(kind)) << ": key " << i << " answered " << escape(reply));
    }
    std::vector<int> where(keys.size(), -1);
    for (std::size_t b = 0; b < live.size(); ++b) {
        auto held = mc::holds_many(live[b]->port(), keys);
        for (std::size_t i = 0; i < keys.size(); ++i)
            if (held[i]) where[i] = static_cast<int>(b);
    }
    return where;
}

}  // namespace

TEST_CASE("ejection: a dead server's keys move where nutcracker moves them" * doctest::test_suite("cachemux")) {
    auto live = start_memcached(4);
    int dead_port = free_port();
    auto keys = make_keys(2000, 31337);
    for (const char* dist : {"ketama", "modula"}) {
        INFO("distribution " << dist);
        auto reference = placement(ProxyKind::Nutcracker, live, 0, dist, keys);
        auto got = placement(ProxyKind::Cachemux, live, dead_port, dist, keys);
        std::size_t differ = 0;
        for (std::size_t i = 0; i < keys.size(); ++i) differ += reference[i] != got[i];
        CHECK(std::count(reference.begin(), reference.end(), -1) == 0);
        CHECK_MESSAGE(differ == 0, differ << " of " << keys.size() << " keys placed differently");
    }
}

static void rejoin(ProxyKind kind) {
    auto backends = start_memcached(2);
    PoolSpec pool;
    pool.servers = server_specs(backends, {1, 1});
    pool.set("distribution", "modula").set("auto_eject_hosts", "true").set("timeout", "300");
    pool.set("server_failure_limit", "1").set("server_retry_timeout", "1000");
    Proxy proxy = start_proxy(kind, pool);
    Connection c(proxy.port());
    // A key of each server.
    std::string key_on[2];
    for (int i = 0; i < 200 && (key_on[0].empty() || key_on[1].empty()); ++i) {
        std::string k = "key" + std::to_string(i);
        REQUIRE(c.mc(mc::set(k, "v")) == "STORED\r\n");
        for (int b = 0; b < 2; ++b)
            if (key_on[b].empty() && mc::holds_many(backends[b]->port(), {k})[0]) key_on[b] = k;
    }
    REQUIRE_FALSE(key_on[1].empty());
    // Server 1 stops answering: its request times out, which ejects it, and
    // its key goes to server 0 meanwhile.
    freeze(backends[1]->process());
    CHECK(c.mc("get " + key_on[1] + "\r\n") == "SERVER_ERROR Connection timed out\r\n");
    CHECK(c.mc(mc::set(key_on[1], "moved")) == "STORED\r\n");
    CHECK(mc::holds_many(backends[0]->port(), {key_on[1]})[0]);
    // It answers again; after server_retry_timeout its key goes home.
    backends[1]->process().signal(SIGCONT);
    std::this_thread::sleep_for(1200ms);
    CHECK(c.mc(mc::set(key_on[1], "home")) == "STORED\r\n");
    CHECK(escape(c.mc("get " + key_on[1] + "\r\n")) == escape(mc::value(key_on[1], "home") + "END\r\n"));
    std::string direct = Connection(backends[1]->port()).request("get " + key_on[1] + "\r\n", "END\r\n");
    CHECK(escape(direct) == escape(mc::value(key_on[1], "home") + "END\r\n"));
}
HARNESS_PROXY_TEST("ejection: a server that comes back rejoins after server_retry_timeout", rejoin)
