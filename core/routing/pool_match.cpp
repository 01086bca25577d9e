#include "routing/pool_match.hpp"

namespace cachemux {

bool same_endpoint(const Endpoint& a, const Endpoint& b) {
    return a.host == b.host && a.port == b.port && a.unix_path == b.unix_path;
}

namespace {

bool same_handshake(const PoolConfig& a, const PoolConfig& b) {
    return a.redis_auth == b.redis_auth && a.redis_db == b.redis_db;
}

std::vector<std::uint32_t> match_servers(const ServerPool& before, const ServerPool& after) {
    std::vector<std::uint32_t> old_server(after.servers().size(), kNoMatch);
    if (!same_handshake(before.config(), after.config())) {
        return old_server;
    }
    // Names are unique within a pool (the config refuses duplicates), so
    // the first match is the only one.
    for (std::size_t i = 0; i < after.servers().size(); ++i) {
        const Server& server = after.servers()[i];
        for (std::size_t j = 0; j < before.servers().size(); ++j) {
            const Server& old = before.servers()[j];
            if (old.name == server.name && same_endpoint(old.endpoint, server.endpoint)) {
                old_server[i] = static_cast<std::uint32_t>(j);
                break;
            }
        }
    }
    return old_server;
}

}  // namespace

std::vector<PoolMatch> match_pools(const std::vector<const ServerPool*>& before,
                                   const std::vector<const ServerPool*>& after) {
    std::vector<PoolMatch> matches(after.size());
    for (std::size_t i = 0; i < after.size(); ++i) {
        matches[i].old_server.assign(after[i]->servers().size(), kNoMatch);
        for (std::size_t j = 0; j < before.size(); ++j) {
            // The same protocol object: the same plugin, whichever
            // configuration's registry opened it.
            if (before[j]->config().name == after[i]->config().name &&
                &before[j]->protocol() == &after[i]->protocol()) {
                matches[i].old_pool = static_cast<std::uint32_t>(j);
                matches[i].old_server = match_servers(*before[j], *after[i]);
                break;
            }
        }
    }
    return matches;
}

}  // namespace cachemux
