// What a reload carries over from the running pools to the new ones.
//
// Pools match by name, and only with the same protocol: a client's parser
// and its session state belong to the protocol, so a pool that changed
// protocol is a removed pool and a new one. Servers match inside a matched
// pool by name and address, and only while the pool's handshake settings
// (redis_auth, redis_db) stay: then the connections already made to the
// server are still the right ones. Everything else (hash, distribution,
// weights, timeouts, limits) may change under a kept pool or server.
#pragma once

#include <cstdint>
#include <vector>

#include "routing/server_pool.hpp"

namespace cachemux {

inline constexpr std::uint32_t kNoMatch = UINT32_MAX;

struct PoolMatch {
    std::uint32_t old_pool = kNoMatch;       // the running pool this one carries on
    std::vector<std::uint32_t> old_server;   // per server: its index in old_pool, or kNoMatch
    bool kept() const { return old_pool != kNoMatch; }
};

// One PoolMatch per pool of `after`.
std::vector<PoolMatch> match_pools(const std::vector<const ServerPool*>& before,
                                   const std::vector<const ServerPool*>& after);

bool same_endpoint(const Endpoint& a, const Endpoint& b);

}  // namespace cachemux
