// The top-level `plugins:` list and a pool's `protocol:` (cachemux's own
// keys): read by the config parser, loaded by load_listed_plugins(), errors
// naming the file, the line, the plugin and why.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "config/config.hpp"
#include "registry/config_plugins.hpp"
#include "registry/plugin_registry.hpp"

using namespace cachemux;
namespace fs = std::filesystem;

namespace {

const std::string kFile = "/etc/cachemux/x.yml";
const std::string kPool = "alpha:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n";

template <class Fn>
std::string error_of(Fn fn) {
    try {
        fn();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

std::string parse_error(const std::string& yaml) {
    return error_of([&] { parse_config(yaml, kFile); });
}

// The error loading the plugins `yaml` lists, with the build's plugin dir.
std::string load_error(const std::string& yaml, const std::string& file = kFile) {
    Config config = parse_config(yaml, file);
    PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    return error_of([&] { load_listed_plugins(config, registry); });
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A scratch directory, removed at the end of the test.
struct TempDir {
    fs::path path = fs::temp_directory_path() / ("cachemux-plugins-" + std::to_string(::getpid()));
    TempDir() { fs::create_directories(path); }
    ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("plugins: a top-level list is read in order, and is not a pool") {
    Config c = parse_config("plugins:\n - md5\n - /opt/x/y.so\n" + kPool, kFile);
    REQUIRE(c.plugins.size() == 2);
    CHECK(c.plugins[0].spec == "md5");
    CHECK(c.plugins[0].line == 2);
    CHECK(c.plugins[1].spec == "/opt/x/y.so");
    REQUIRE(c.pools.size() == 1);
    CHECK(c.pools[0].name == "alpha");
    // Without the key, nothing changes for a nutcracker config.
    CHECK(parse_config(kPool, kFile).plugins.empty());
}

TEST_CASE("plugins: a pool named 'plugins' is still a pool, as in nutcracker") {
    Config c = parse_config("plugins:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n", kFile);
    CHECK(c.plugins.empty());
    REQUIRE(c.pools.size() == 1);
    CHECK(c.pools[0].name == "plugins");
}

TEST_CASE("plugins: bad lists are refused with the file and the line") {
    CHECK(parse_error("plugins:\n - md5\n - md5\n" + kPool) ==
          kFile + ":3: plugin \"md5\" is listed twice (also on line 2)");
    CHECK(parse_error("plugins:\n - - a\n   - b\n" + kPool) == kFile + ":2: 'plugins' items must be plugin names or paths, not a list");
    CHECK(parse_error("plugins:\n - md5\n - \"\"\n" + kPool) ==
          kFile + ":3: 'plugins' items must be plugin names or paths, not an empty value");
    // Only a list of plugins and no pool is still a config without pools.
    CHECK(contains(parse_error("plugins:\n - md5\n"), "defines no pools"));
}

TEST_CASE("plugins: names resolve in the plugin dir, paths from the config's directory") {
    PluginRegistry registry("/usr/lib/cachemux/plugins");
    CHECK(plugin_path({"md5", 1}, "/etc/cachemux/x.yml", registry) == "/usr/lib/cachemux/plugins/md5.so");
    CHECK(plugin_path({"md5.so", 1}, "/etc/cachemux/x.yml", registry) == "/usr/lib/cachemux/plugins/md5.so");
    CHECK(plugin_path({"./my.so", 1}, "/etc/cachemux/x.yml", registry) == "/etc/cachemux/./my.so");
    CHECK(plugin_path({"/opt/p/my.so", 1}, "/etc/cachemux/x.yml", registry) == "/opt/p/my.so");
}

TEST_CASE("plugins: a listed plugin's names resolve, ahead of the plugin directory") {
    TempDir tmp;
    fs::copy_file(fs::path(CACHEMUX_PLUGIN_BUILD_DIR) / "md5.so", tmp.path / "renamed_md5.so");
    Config config = parse_config("plugins:\n - " + (tmp.path / "renamed_md5.so").string() + "\n" + kPool, kFile);
    // An empty plugin dir: only the listed plugin can answer.
    PluginRegistry registry(tmp.path / "empty");
    load_listed_plugins(config, registry);
    CHECK(registry.has_listed());
    CHECK((registry.hash("md5") != nullptr));
    CHECK((registry.hash("fnv1a_64") == nullptr));
    // Listing the same file twice (here: by another path) loads it once.
    CHECK_NOTHROW(registry.add(tmp.path / "." / "renamed_md5.so"));
}

TEST_CASE("plugins: each reason a plugin cannot load is named, with file, line and plugin") {
    SUBCASE("not found") {
        std::string e = load_error("plugins:\n - /nonexistent/x.so\n" + kPool);
        CHECK(e == kFile + ":2: plugin '/nonexistent/x.so': plugin '/nonexistent/x.so' not found");
    }
    SUBCASE("a name not in the plugin dir") {
        std::string e = load_error("plugins:\n - nosuch\n" + kPool);
        CHECK(contains(e, kFile + ":2: plugin 'nosuch': plugin '"));
        CHECK(contains(e, "/nosuch.so' not found"));
    }
    SUBCASE("not a shared object") {
        TempDir tmp;
        std::string text = (tmp.path / "text.so").string();
        std::FILE* f = std::fopen(text.c_str(), "w");
        REQUIRE(f != nullptr);
        std::fputs("not an ELF file\n", f);
        std::fclose(f);
        std::string e = load_error("plugins:\n - " + text + "\n" + kPool);
        CHECK(contains(e, kFile + ":2: plugin '" + text + "': cannot load plugin '" + text + "'"));
    }
    SUBCASE("not a cachemux plugin") {
        std::string e = load_error(std::string("plugins:\n - ") + CACHEMUX_NOT_A_PLUGIN + "\n" + kPool);
        CHECK(contains(e, kFile + ":2: plugin '"));
        CHECK(contains(e, "is not a cachemux plugin: it has no 'cachemux_plugin' entry point"));
    }
    SUBCASE("another ABI version") {
        std::string e = load_error(std::string("plugins:\n - ") + CACHEMUX_WRONG_ABI_PLUGIN + "\n" + kPool);
        CHECK(contains(e, kFile + ":2: plugin '"));
        CHECK(contains(e, "has ABI version " + std::to_string(abi::kAbiVersion + 41) +
                              ", this cachemux needs ABI version " + std::to_string(abi::kAbiVersion)));
    }
    SUBCASE("a name two listed plugins provide") {
        TempDir tmp;
        fs::copy_file(fs::path(CACHEMUX_PLUGIN_BUILD_DIR) / "crc32.so", tmp.path / "a.so");
        fs::copy_file(fs::path(CACHEMUX_PLUGIN_BUILD_DIR) / "crc32.so", tmp.path / "b.so");
        Config config = parse_config("plugins:\n - " + (tmp.path / "a.so").string() + "\n - " +
                                         (tmp.path / "b.so").string() + "\n" + kPool,
                                     kFile);
        PluginRegistry registry(tmp.path / "empty");
        std::string e = error_of([&] { load_listed_plugins(config, registry); });
        CHECK(e == kFile + ":3: plugin '" + (tmp.path / "b.so").string() + "': '" + (tmp.path / "b.so").string() +
                       "' provides hash 'crc32', which '" + (tmp.path / "a.so").string() + "' already provides");
        // A refused plugin is not half-registered: trying again fails again.
        CHECK_THROWS_AS(registry.add(tmp.path / "b.so"), PluginError);
    }
    SUBCASE("a name a plugin of the plugin directory provides") {
        // A second fnv1a_64 would silently move keys: refused.
        TempDir tmp;
        fs::copy_file(fs::path(CACHEMUX_PLUGIN_BUILD_DIR) / "fnv1a_64.so", tmp.path / "my_fnv.so");
        std::string e = load_error("plugins:\n - " + (tmp.path / "my_fnv.so").string() + "\n" + kPool);
        CHECK(contains(e, "provides hash 'fnv1a_64', which '"));
        CHECK(contains(e, "/fnv1a_64.so' already provides"));
    }
    SUBCASE("a plugin of the plugin directory, listed by name, is fine") {
        CHECK(load_error("plugins:\n - md5\n - fnv1a_64.so\n" + kPool) == "");
    }
}

TEST_CASE("protocol: names a protocol plugin; redis: true is protocol: redis") {
    auto pool_of = [](const std::string& lines) {
        return parse_config("alpha:\n  listen: 127.0.0.1:22121\n" + lines + "  servers:\n   - 127.0.0.1:11211:1\n",
                            kFile)
            .pools.at(0);
    };
    CHECK(pool_of("").protocol == "memcache");
    CHECK_FALSE(pool_of("").redis);
    CHECK(pool_of("  redis: true\n").protocol == "redis");
    CHECK(pool_of("  protocol: redis\n").redis);
    CHECK(pool_of("  protocol: redis\n  redis: true\n").redis);
    CHECK(pool_of("  protocol: myproto\n").protocol == "myproto");
    CHECK_FALSE(pool_of("  protocol: myproto\n").redis);
    CHECK(parse_error("alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  protocol: memcache\n  servers:\n   - "
                      "127.0.0.1:11211:1\n") ==
          kFile + ":4: pool 'alpha': key 'protocol': 'memcache' contradicts 'redis: true' on line 3 (keep one of "
                  "the two)");
}
