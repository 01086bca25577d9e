// match_pools: what a reload carries over. Pools by name and protocol;
// servers by name and address, only while the handshake settings stay.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/config.hpp"
#include "routing/pool_match.hpp"

using namespace cachemux;

namespace {

std::vector<std::shared_ptr<const ServerPool>> pools_of(const std::string& yaml) {
    static PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    std::vector<std::shared_ptr<const ServerPool>> pools;
    for (const PoolConfig& pool : parse_config(yaml, "test.yml").pools) {
        pools.push_back(ServerPool::build(pool, registry, "test.yml"));
    }
    return pools;
}

std::vector<PoolMatch> match(const std::string& before, const std::string& after) {
    auto old_pools = pools_of(before);
    auto new_pools = pools_of(after);
    std::vector<const ServerPool*> b, a;
    for (auto& p : old_pools) b.push_back(p.get());
    for (auto& p : new_pools) a.push_back(p.get());
    return match_pools(b, a);
}

}  // namespace

TEST_CASE("pool_match: pools by name, servers by name and address, whatever the order") {
    auto m = match(
        "alpha:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:31001:1\n   - 127.0.0.1:31002:1\n"
        "beta:\n  listen: 127.0.0.1:22122\n  servers:\n   - 127.0.0.1:31003:1\n",
        // beta gone, gamma new; alpha moved, rehashed, reweighted, one server
        // left, one came
        "alpha:\n  listen: 127.0.0.1:22125\n  hash: murmur\n  servers:\n   - 127.0.0.1:31004:1\n"
        "   - 127.0.0.1:31002:5\n"
        "gamma:\n  listen: 127.0.0.1:22122\n  servers:\n   - 127.0.0.1:31003:1\n");
    REQUIRE(m.size() == 2);
    // Pools come sorted as nutcracker sorts them (shorter names first):
    // beta, alpha before; alpha, gamma after.
    CHECK(m[0].old_pool == 1);
    // Servers too (by name, shorter first): 127.0.0.1:31002, 127.0.0.1:31004.
    CHECK(m[0].old_server == std::vector<std::uint32_t>{1, kNoMatch});
    CHECK_FALSE(m[1].kept());
    CHECK(m[1].old_server == std::vector<std::uint32_t>{kNoMatch});
}

TEST_CASE("pool_match: a named server is the same only at the same address") {
    auto m = match("p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:31001:1 a\n   - 127.0.0.1:31002:1 b\n",
                   "p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:31009:1 a\n   - 127.0.0.1:31002:1 b\n");
    REQUIRE(m.size() == 1);
    CHECK(m[0].old_server == std::vector<std::uint32_t>{kNoMatch, 1});
}

TEST_CASE("pool_match: another protocol is another pool; other handshake settings, other connections") {
    const std::string memcache = "p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:31001:1\n";
    const std::string redis = "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:31001:1\n";
    CHECK_FALSE(match(memcache, redis)[0].kept());
    auto same = match(redis, redis);
    CHECK(same[0].old_server == std::vector<std::uint32_t>{0});
    auto other_db = match(redis, "p:\n  listen: 127.0.0.1:22121\n  redis: true\n  redis_db: 3\n  servers:\n"
                                 "   - 127.0.0.1:31001:1\n");
    CHECK(other_db[0].kept());
    CHECK(other_db[0].old_server == std::vector<std::uint32_t>{kNoMatch});
}
