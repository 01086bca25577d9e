// Plugins across a reload: one that no configuration uses any more is
// closed (unmapped from the process) once nothing made from it is left;
// one still in use stays; a new one is loaded, with no restart.
#include <doctest/doctest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// Whether the proxy has `<name>.so` mapped (from /proc/PID/maps).
bool maps_plugin(Proxy& proxy, const std::string& name) {
    std::ifstream maps("/proc/" + std::to_string(proxy.process().pid()) + "/maps");
    std::string line;
    while (std::getline(maps, line)) {
        if (line.ends_with("/" + name + ".so")) return true;
    }
    return false;
}

PoolSpec hashed_pool(const std::vector<std::unique_ptr<MemcachedServer>>& backends, const std::string& hash,
                     const std::string& distribution) {
    PoolSpec pool;
    pool.name = "plugged";
    pool.servers = server_specs(backends, {1}, "s");
    pool.set("hash", hash).set("distribution", distribution);
    return pool;
}

}  // namespace

TEST_CASE("reload: a plugin nothing uses any more is unloaded, one still used stays, a new one loads" *
          doctest::test_suite("cachemux")) {
    std::vector<std::unique_ptr<MemcachedServer>> backends;
    for (int i = 0; i < 2; ++i) backends.push_back(std::make_unique<MemcachedServer>());
    Proxy proxy(ProxyKind::Cachemux, {hashed_pool(backends, "murmur", "modula")});
    Connection client(proxy.port());
    REQUIRE(client.mc(mc::set("k", "v")) == "STORED\r\n");
    REQUIRE(maps_plugin(proxy, "murmur"));
    REQUIRE(maps_plugin(proxy, "modula"));
    REQUIRE_FALSE(maps_plugin(proxy, "md5"));

    PoolSpec next = hashed_pool(backends, "md5", "modula");
    next.port = proxy.port();
    next.listen = "127.0.0.1:" + std::to_string(proxy.port());
    write_file(proxy.config_path(), pools_yaml({next}));
    proxy.process().signal(SIGUSR1);
    bool swapped = false;
    for (auto deadline = Clock::now() + 5s * kSlackFactor; !swapped && Clock::now() < deadline;) {
        std::this_thread::sleep_for(50ms);
        swapped = maps_plugin(proxy, "md5") && !maps_plugin(proxy, "murmur");
    }
    CHECK_MESSAGE(swapped, proxy.output());
    CHECK(maps_plugin(proxy, "modula"));  // still the distribution in use
    CHECK(maps_plugin(proxy, "memcache"));
    // The client that was connected throughout is served by the new hash.
    CHECK(client.mc(mc::set("k2", "v2")) == "STORED\r\n");
    CHECK(client.mc(mc::get({"k2"})) == mc::value("k2", "v2") + "END\r\n");
}
