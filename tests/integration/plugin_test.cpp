// cachemux start-up: plugins named by the config, -t.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A two-pool config; the second pool ("gamma") gets `key: value` if given.
std::string config_yaml(const std::string& key = "", const std::string& value = "") {
    PoolSpec alpha;
    alpha.name = "alpha";
    alpha.listen = "127.0.0.1:" + std::to_string(free_port());
    alpha.set("hash", "fnv1a_64").set("distribution", "ketama");
    alpha.servers = {ServerSpec{"127.0.0.1", free_port(), 1, ""}};
    PoolSpec gamma;
    gamma.name = "gamma";
    gamma.listen = "127.0.0.1:" + std::to_string(free_port());
    gamma.set("hash", "fnv1a_64").set("distribution", "ketama").set("timeout", "400");
    if (!key.empty()) gamma.set(key, value);
    gamma.servers = {ServerSpec{"127.0.0.1", free_port(), 1, ""}, ServerSpec{"127.0.0.1", free_port(), 2, ""}};
    return pools_yaml({alpha, gamma});
}

// The start must fail, promptly, with a message naming the file, the pool,
// the key and the value.
void expect_start_failure(const CommandResult& r, const std::string& conf, const std::string& pool,
                          const std::string& key, const std::string& value) {
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    REQUIRE_MESSAGE(r.exit_code > 0, "cachemux must exit with a non-zero status (and not by a signal)");
    CHECK_MESSAGE(r.output.find(conf) != std::string::npos, "the message should name the config file " << conf);
    CHECK_MESSAGE(r.output.find(pool) != std::string::npos, "the message should name the pool " << pool);
    CHECK_MESSAGE(r.output.find(key) != std::string::npos, "the message should name the key " << key);
    CHECK_MESSAGE(r.output.find(value) != std::string::npos, "the message should name the value " << value);
}

// A copy of the build's plugin directory without the named files.
std::string plugin_dir_without(const std::vector<std::string>& drop) {
    std::string src = cachemux_plugin_dir();
    std::string dst = make_temp_dir("plugins");
    for (auto& entry : fs::directory_iterator(src)) {
        std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || entry.path().extension() != ".so") continue;
        if (std::find(drop.begin(), drop.end(), name) != drop.end()) continue;
        fs::copy_file(entry.path(), dst + "/" + name);
    }
    return dst;
}

}  // namespace

HARNESS_CACHEMUX_TEST("plugins: an unknown hash fails start-up naming file, pool and key") {
    std::string conf;
    auto r = run_proxy_once(ProxyKind::Cachemux, config_yaml("hash", "nosuchfn"), {}, 10000ms, &conf);
    expect_start_failure(r, conf, "gamma", "hash", "nosuchfn");
}

HARNESS_CACHEMUX_TEST("plugins: an unknown distribution fails start-up naming file, pool and key") {
    std::string conf;
    auto r = run_proxy_once(ProxyKind::Cachemux, config_yaml("distribution", "nosuchring"), {}, 10000ms, &conf);
    expect_start_failure(r, conf, "gamma", "distribution", "nosuchring");
}

HARNESS_CACHEMUX_TEST("plugins: a missing md5.so fails start-up of a pool using hash: md5") {
    REQUIRE_MESSAGE(fs::exists(cachemux_plugin_dir() + "/md5.so"),
                    "the build has no " << cachemux_plugin_dir() << "/md5.so");
    std::string without_md5 = plugin_dir_without({"md5.so"});
    std::string conf;
    auto r = run_proxy_once(ProxyKind::Cachemux, config_yaml("hash", "md5"), {}, 10000ms, &conf, without_md5);
    expect_start_failure(r, conf, "gamma", "hash", "md5");

    // The same config with the full copy starts and serves.
    std::string full = plugin_dir_without({});
    MemcachedServer backend;
    PoolSpec pool;
    pool.name = "gamma";
    pool.set("hash", "md5");
    pool.servers = {ServerSpec{"127.0.0.1", backend.port(), 1, ""}};
    ProxyOptions options;
    options.plugin_dir = full;
    Proxy proxy = start_proxy(ProxyKind::Cachemux, pool, options);
    Connection c(proxy.port());
    CHECK(c.mc(mc::set("md5key", "v")) == "STORED\r\n");
    CHECK(mc::holds(backend.port(), "md5key"));
}

// -t: "syntax is ok" and exit 0, or "syntax is invalid" and exit 1, as nutcracker.
static void test_conf(ProxyKind kind) {
    {
        std::string conf;
        auto r = run_proxy_once(kind, config_yaml(), {"-t"}, 10000ms, &conf);
        INFO(r.describe());
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("configuration file '" + conf + "' syntax is ok") != std::string::npos);
    }
    for (auto& [what, yaml] : std::vector<std::pair<std::string, std::string>>{
             {"an unknown hash", config_yaml("hash", "nosuchfn")},
             {"an unknown distribution", config_yaml("distribution", "nosuchring")},
             {"broken YAML", "alpha:\n  listen: 127.0.0.1:22121\n  servers: [\n"},
             {"a pool without servers", "alpha:\n  listen: 127.0.0.1:22121\n"}}) {
        std::string conf;
        auto r = run_proxy_once(kind, yaml, {"-t"}, 10000ms, &conf);
        INFO(what << ": " << r.describe());
        CHECK(r.exit_code == 1);
        CHECK(r.output.find("configuration file '" + conf + "' syntax is invalid") != std::string::npos);
    }
}
HARNESS_PROXY_TEST("plugins: -t reports syntax ok / invalid", test_conf)

TEST_CASE("plugins: nutcracker refuses an unknown hash at start-up (reference)" * doctest::test_suite("nutcracker")) {
    std::string conf;
    auto r = run_proxy_once(ProxyKind::Nutcracker, config_yaml("hash", "nosuchfn"), {}, 10000ms, &conf);
    INFO(r.describe());
    REQUIRE_FALSE(r.timed_out);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("conf: directive \"hash\" is not a valid hash") != std::string::npos);
}
