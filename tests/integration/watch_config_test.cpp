// --watch-config: the file changing is a SIGUSR1. Both ways configs are
// replaced in practice are seen: a new file renamed over the old one (what
// editors and config managers do), and the `..data` symlink swap with which
// Kubernetes updates a mounted ConfigMap. Nothing happens while the file
// stays as it is, and without the flag nothing happens at all.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include "harness.hpp"
#include "settle.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

double config_metric(const Proxy& proxy, const std::string& series) { return metric_value(metrics(proxy), series); }

// Polls until `series` reaches `want` or `timeout` passes; its last value.
double await_metric(const Proxy& proxy, const std::string& series, double want, Millis timeout) {
    return settle([&] { return config_metric(proxy, series); }, want, timeout);
}

// A pool on a fixed port (the file is written before the proxy starts).
PoolSpec pool_on(int port, const std::vector<std::unique_ptr<MemcachedServer>>& backends, const std::string& hash) {
    PoolSpec pool;
    pool.name = "watched";
    pool.listen = "127.0.0.1:" + std::to_string(port);
    pool.port = port;
    pool.servers = server_specs(backends, {1}, "s");
    pool.set("hash", hash);
    return pool;
}

// Which backend holds `key` after a set through the proxy.
int holder_of(int proxy_port, const std::vector<std::unique_ptr<MemcachedServer>>& backends, const std::string& key) {
    Connection c(proxy_port);
    REQUIRE(c.mc(mc::set(key, "v")) == "STORED\r\n");
    for (std::size_t i = 0; i < backends.size(); ++i) {
        Connection direct(backends[i]->port());
        if (direct.mc(mc::get({key})) != "END\r\n") return static_cast<int>(i);
    }
    return -1;
}

}  // namespace

TEST_CASE("watch-config: a file renamed over the config reloads it; an untouched file does not" *
          doctest::test_suite("cachemux")) {
    std::vector<std::unique_ptr<MemcachedServer>> backends;
    for (int i = 0; i < 3; ++i) backends.push_back(std::make_unique<MemcachedServer>());
    const int port = free_port();
    const std::string dir = make_temp_dir("watch-rename");
    const std::string file = dir + "/cachemux.yml";
    PoolSpec first = pool_on(port, backends, "fnv1a_64");
    first.servers.pop_back();
    write_file(file, pools_yaml({first}));
    ProxyOptions options;
    options.extra_args = {"-c", file, "--watch-config"};  // the last -c wins
    Proxy proxy(ProxyKind::Cachemux, {first}, options);

    std::this_thread::sleep_for(2500ms);  // two polls and more: a watcher that fires on nothing shows here
    CHECK(config_metric(proxy, "cachemux_config_reloads_total") == 0);

    // Three servers now: some key must land on the third.
    write_file(file + ".new", pools_yaml({pool_on(port, backends, "fnv1a_64")}));
    REQUIRE(std::rename((file + ".new").c_str(), file.c_str()) == 0);
    CHECK(await_metric(proxy, "cachemux_config_reloads_total", 1, 8000ms) == 1);
    bool third_used = false;
    for (int k = 0; k < 60 && !third_used; ++k) third_used = holder_of(port, backends, "w" + std::to_string(k)) == 2;
    CHECK(third_used);
    CHECK(config_metric(proxy, "cachemux_config_reload_failures_total") == 0);
}

TEST_CASE("watch-config: a ConfigMap's ..data symlink swap reloads; a broken file is refused and fixed later" *
          doctest::test_suite("cachemux")) {
    std::vector<std::unique_ptr<MemcachedServer>> backends;
    for (int i = 0; i < 2; ++i) backends.push_back(std::make_unique<MemcachedServer>());
    const int port = free_port();
    // As the kubelet lays a mounted ConfigMap out: the file is a symlink
    // into ..data, itself a symlink to a timestamped directory, and an
    // update writes a new directory and renames a new ..data over the old.
    namespace fs = std::filesystem;
    const fs::path dir = make_temp_dir("watch-configmap");
    auto publish = [&](const std::string& version, const std::string& yaml) {
        fs::create_directory(dir / version);
        write_file((dir / version / "cachemux.yml").string(), yaml);
        fs::create_directory_symlink(version, dir / "..data_tmp");
        fs::rename(dir / "..data_tmp", dir / "..data");
    };
    PoolSpec one = pool_on(port, backends, "fnv1a_64");
    one.servers.pop_back();
    publish("..2026_12_03_a", pools_yaml({one}));
    fs::create_symlink("..data/cachemux.yml", dir / "cachemux.yml");

    ProxyOptions options;
    options.extra_args = {"-c", (dir / "cachemux.yml").string(), "--watch-config"};
    Proxy proxy(ProxyKind::Cachemux, {one}, options);
    CHECK(holder_of(port, backends, "cm") == 0);

    publish("..2026_12_03_b", pools_yaml({pool_on(port, backends, "nosuchhash")}));
    CHECK(await_metric(proxy, "cachemux_config_reload_failures_total", 1, 8000ms) == 1);
    CHECK(config_metric(proxy, "cachemux_config_reloads_total") == 0);
    CHECK(holder_of(port, backends, "cm2") == 0);  // still the one-server file

    PoolSpec both = pool_on(port, backends, "fnv1a_64");
    publish("..2026_12_03_c", pools_yaml({both}));
    CHECK(await_metric(proxy, "cachemux_config_reloads_total", 1, 8000ms) == 1);
    bool second_used = false;
    for (int k = 0; k < 60 && !second_used; ++k) second_used = holder_of(port, backends, "c" + std::to_string(k)) == 1;
    CHECK(second_used);
    CHECK_MESSAGE(proxy.output().find("key 'hash'") != std::string::npos, proxy.output());
}
