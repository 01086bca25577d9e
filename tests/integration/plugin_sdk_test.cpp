// The plugin SDK as a user meets it: install it with `cmake --install`, build
// examples/hash-plugin out of tree against it, list the result under
// `plugins:`, and find every key on the server the example's hash picks.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// The example's hash, written again here: the test must not trust the plugin.
std::uint32_t djb2(const std::string& key) {
    std::uint32_t h = 5381;
    for (unsigned char c : key) h = h * 33 + c;
    return h;
}

// nutcracker's fnv1a_64, to show the placement really changed.
std::uint32_t fnv1a_64(const std::string& key) {
    std::uint32_t h = 0x84222325u;
    for (char c : key) {
        h ^= static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(c)));
        h *= 0x000001b3u;
    }
    return h;
}

// Runs a build step, failing the test with its output if it fails.
void run_step(const std::vector<std::string>& argv) {
    CommandResult r = run_command(argv, 300000ms);
    INFO(r.describe());
    REQUIRE(r.ok());
}

// Installs the SDK (the `dev` component) under a temp prefix and builds the
// example against it; returns the path of djb2.so.
std::string build_example_against_installed_sdk() {
    std::string root = make_temp_dir("sdk");
    std::string prefix = root + "/prefix";
    run_step({"cmake", "--install", CACHEMUX_BUILD_DIR, "--prefix", prefix, "--component", "dev"});
    REQUIRE(fs::exists(prefix + "/include/cachemux/plugin_abi.hpp"));
    std::string build = root + "/example-build";
    run_step({"cmake", "-S", source_dir() + "/examples/hash-plugin", "-B", build, "-DCMAKE_PREFIX_PATH=" + prefix,
              "-DCMAKE_BUILD_TYPE=RelWithDebInfo"});
    run_step({"cmake", "--build", build});
    std::string plugin = build + "/djb2.so";
    REQUIRE_MESSAGE(fs::exists(plugin), "the example build made no " << plugin);
    return plugin;
}

}  // namespace

HARNESS_CACHEMUX_TEST("SDK: the example hash plugin, built against the installed SDK, places keys by its hash") {
    std::string plugin = build_example_against_installed_sdk();

    // modula over named servers: server = hash % 3, in name order (s0, s1, s2).
    constexpr std::size_t kServers = 3;
    std::vector<std::unique_ptr<MemcachedServer>> backends = start_memcached(kServers);
    PoolSpec pool;
    pool.set("hash", "djb2").set("distribution", "modula");
    pool.servers = server_specs(backends, {1}, "s");
    ProxyOptions options;
    options.config_preamble = "plugins:\n - " + plugin + "\n";
    Proxy proxy = start_proxy(ProxyKind::Cachemux, pool, options);

    Connection c(proxy.port());
    std::vector<std::string> keys = make_keys(300, 9);
    std::size_t differs_from_default = 0;
    for (const std::string& key : keys) {
        REQUIRE(c.mc(mc::set(key, "v")) == "STORED\r\n");
    }
    for (const std::string& key : keys) {
        std::size_t expected = djb2(key) % kServers;
        differs_from_default += expected != fnv1a_64(key) % kServers;
        for (std::size_t i = 0; i < kServers; ++i) {
            INFO("key " << escape(key) << " backend " << i);
            CHECK(mc::holds(backends[i]->port(), key) == (i == expected));
        }
    }
    // Otherwise the test could pass with the default hash.
    CHECK(differs_from_default > keys.size() / 3);
}

HARNESS_CACHEMUX_TEST("SDK: a pool naming a hash from a missing plugin fails with the plugin, file and line") {
    std::string conf;
    std::string yaml = "plugins:\n - ./nowhere/djb2.so\nalpha:\n  listen: 127.0.0.1:" + std::to_string(free_port()) +
                       "\n  hash: djb2\n  servers:\n   - 127.0.0.1:" + std::to_string(free_port()) + ":1\n";
    CommandResult r = run_proxy_once(ProxyKind::Cachemux, yaml, {"-t"}, 10000ms, &conf);
    INFO(r.describe());
    CHECK(r.exit_code == 1);
    CHECK(r.output.find(conf + ":2: plugin './nowhere/djb2.so': plugin '" + fs::path(conf).parent_path().string() +
                        "/./nowhere/djb2.so' not found") != std::string::npos);
}
