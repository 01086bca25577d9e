#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "registry/plugin_registry.hpp"

using namespace cachemux;

TEST_CASE("the registry finds plugins by name in its directory") {
    PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    abi::HashFn fnv = registry.hash("fnv1a_64");
    abi::HashFn md5 = registry.hash("md5");
    REQUIRE((fnv != nullptr));
    REQUIRE((md5 != nullptr));
    CHECK(fnv("a", 1) != md5("a", 1));
    REQUIRE(registry.distribution("ketama") != nullptr);
    CHECK(registry.distribution("ketama")->name() == "ketama");
    REQUIRE(registry.protocol("memcache") != nullptr);
    CHECK(registry.protocol("memcache")->name() == "memcache");
}

TEST_CASE("a name no plugin provides is not found, and never escapes the directory") {
    PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    CHECK((registry.hash("no_such_hash") == nullptr));
    CHECK((registry.hash("../plugins/md5") == nullptr));
    CHECK((registry.hash("") == nullptr));
    // A file of one kind does not answer for another.
    CHECK(registry.distribution("md5") == nullptr);
    CHECK((registry.hash("ketama") == nullptr));
}

TEST_CASE("a plugin with another ABI version is refused, naming the file and both versions") {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "cachemux-abi-test";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(CACHEMUX_WRONG_ABI_PLUGIN, dir / "future.so",
                               std::filesystem::copy_options::overwrite_existing);
    PluginRegistry registry(dir);
    std::string message;
    try {
        registry.hash("future");
    } catch (const PluginError& e) {
        message = e.what();
    }
    CHECK(message.find((dir / "future.so").string()) != std::string::npos);
    CHECK(message.find("ABI version " + std::to_string(abi::kAbiVersion + 41)) != std::string::npos);
    CHECK(message.find("needs ABI version " + std::to_string(abi::kAbiVersion)) != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("the default plugin directory of a build-tree binary is build/plugins") {
    // The test binary is not in build/, so it falls back to the installed dir.
    CHECK(default_plugin_dir() == std::filesystem::path(CACHEMUX_INSTALL_PLUGIN_DIR));
}
