// ServerPool: nutcracker's rules around the hash (hash_tag, one server, empty
// key) and the errors for plugins no file provides.
#include <doctest/doctest.h>

#include <string>

#include "config/config.hpp"
#include "routing/server_pool.hpp"

using namespace cachemux;

namespace {

PoolConfig pool_with(const std::string& extra, int nservers) {
    std::string yaml = "p:\n  listen: 127.0.0.1:22121\n  distribution: modula\n" + extra + "  servers:\n";
    for (int i = 0; i < nservers; ++i) {
        yaml += "   - 127.0.0.1:" + std::to_string(31000 + i) + ":1\n";
    }
    return parse_config(yaml, "test.yml").pools.at(0);
}

// Where modula puts a raw hash: servers sorted by name, one slot per weight.
std::uint32_t modula_index(std::uint32_t hash, std::uint32_t nservers) { return hash % nservers; }

}  // namespace

TEST_CASE("hash_tag: only the part between the tag characters is hashed") {
    PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    abi::HashFn fnv = registry.hash("fnv1a_64");
    REQUIRE((fnv != nullptr));
    auto pool = ServerPool::build(pool_with("  hash: fnv1a_64\n  hash_tag: \"{}\"\n", 7), registry, "test.yml");
    auto at = [&](const std::string& key) { return pool->server_for_key(key.data(), key.size()); };
    auto of_hash = [&](const std::string& part) { return modula_index(fnv(part.data(), part.size()), 7); };

    CHECK(at("user:{42}:name") == of_hash("42"));
    CHECK(at("{42}") == of_hash("42"));
    CHECK(at("a{b}c{d}") == of_hash("b"));       // the first tag wins
    CHECK(at("x{}y") == of_hash("x{}y"));         // an empty tag: the whole key
    CHECK(at("x{y") == of_hash("x{y"));           // no closing character
    CHECK(at("x}y{") == of_hash("x}y{"));         // closing before opening
    CHECK(at("{{a}") == of_hash("{a"));           // the first '{', then the first '}' after it
    for (int i = 0; i < 50; ++i) {
        std::string id = std::to_string(i * 7919);
        CHECK(at("cart:{" + id + "}") == at("user:{" + id + "}:profile"));
    }
}

TEST_CASE("an empty key hashes to 0; a one-server pool needs no hash") {
    PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    auto seven = ServerPool::build(pool_with("  hash: md5\n", 7), registry, "test.yml");
    CHECK(seven->server_for_key("", 0) == modula_index(0, 7));
    auto one = ServerPool::build(pool_with("  hash: md5\n", 1), registry, "test.yml");
    for (const char* key : {"a", "bb", "some:longer:key"}) {
        CHECK(one->server_for_key(key, std::char_traits<char>::length(key)) == 0);
    }
}

TEST_CASE("a plugin nobody provides is a config error naming file, line, pool and key") {
    PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    PoolConfig pool = pool_with("  hash: no_such_hash\n", 2);
    std::string message;
    try {
        ServerPool::build(pool, registry, "test.yml");
    } catch (const ConfigError& e) {
        message = e.what();
    }
    CHECK(message.find("test.yml:4:") == 0);
    CHECK(message.find("pool 'p'") != std::string::npos);
    CHECK(message.find("key 'hash'") != std::string::npos);
    CHECK(message.find("no_such_hash") != std::string::npos);
}
