#include "routing/server_pool.hpp"

#include <algorithm>
#include <cstring>

namespace cachemux {

std::shared_ptr<const ServerPool> ServerPool::build(const PoolConfig& pool, PluginRegistry& registry,
                                                    const std::string& config_file,
                                                    std::shared_ptr<const void> plugins_in_use) {
    std::shared_ptr<ServerPool> p(new ServerPool());
    p->plugins_in_use_ = std::move(plugins_in_use);
    p->config_ = pool;

    auto resolve = [&](const std::string& key, const std::string& value, auto lookup) {
        decltype(lookup(value)) found = nullptr;
        try {
            found = lookup(value);
        } catch (const PluginError& e) {
            throw config_error(config_file, pool, key, e.what());
        }
        if (!found) {
            throw config_error(config_file, pool, key,
                               "no plugin provides '" + value + "' (looked for " + registry.file_for(value).string() +
                                   (registry.has_listed() ? " and in the listed plugins)" : ")"));
        }
        return found;
    };
    p->hash_ = resolve("hash", pool.hash, [&](const std::string& n) { return registry.hash(n); });
    p->distribution_ =
        resolve("distribution", pool.distribution, [&](const std::string& n) { return registry.distribution(n); });
    p->protocol_ = resolve(pool.key_lines.count("protocol") ? "protocol" : "redis", pool.protocol,
                           [&](const std::string& n) { return registry.protocol(n); });

    // Copy 0 is `servers`, as nutcracker has it; each replica follows.
    auto add_copy = [&](const std::vector<ServerConfig>& list) {
        auto first = static_cast<std::uint32_t>(p->servers_.size());
        for (const ServerConfig& s : list) {
            p->servers_.push_back({s.name, s.pname, s.endpoint, s.weight});
        }
        p->copies_.push_back({first, static_cast<std::uint32_t>(list.size()), nullptr});
    };
    add_copy(pool.servers);
    for (const std::vector<ServerConfig>& replica : pool.replicas) {
        add_copy(replica);
    }
    p->build_rings(std::vector<bool>(p->servers_.size(), true));
    return p;
}

std::shared_ptr<const ServerPool> ServerPool::with_live(const std::vector<bool>& live) const {
    std::shared_ptr<ServerPool> p(new ServerPool());
    p->plugins_in_use_ = plugins_in_use_;
    p->config_ = config_;
    p->servers_ = servers_;
    p->hash_ = hash_;
    p->distribution_ = distribution_;
    p->protocol_ = protocol_;
    for (const Copy& c : copies_) {
        p->copies_.push_back({c.first, c.count, nullptr});
    }
    p->build_rings(live);
    return p;
}

void ServerPool::build_rings(const std::vector<bool>& live) {
    settings_ = {config_.redis_auth, config_.redis_db};  // views into this pool's own config_
    // A plain pool's ring leaves the dead servers out (nutcracker's
    // rehash); the rings of a pool with copies never do.
    const bool plain = copies_.size() == 1;
    std::vector<abi::ServerSpec> specs;
    for (Copy& c : copies_) {
        specs.clear();
        for (std::uint32_t i = c.first; i < c.first + c.count; ++i) {
            specs.push_back({servers_[i].name, servers_[i].weight, !plain || live[i]});
        }
        c.continuum = distribution_->build(specs);
    }
    live_.assign(live.begin(), live.end());
    live_count_ = static_cast<std::size_t>(std::count(live.begin(), live.end(), true));
    if (plain) {
        live_count_ = copies_[0].continuum->live_servers();
    }
}

std::uint32_t ServerPool::key_hash(const char* key, std::size_t len) const noexcept {
    // nutcracker's rules, in its order: the hash tag narrows the key when
    // both tag characters enclose at least one byte; an empty key hashes
    // to 0. (A one-server pool or copy needs no hash: see the callers.)
    const std::string& tag = config_.hash_tag;
    if (!tag.empty()) {
        const char* end = key + len;
        const char* tag_start = static_cast<const char*>(std::memchr(key, tag[0], len));
        if (tag_start != nullptr) {
            const char* tag_end =
                static_cast<const char*>(std::memchr(tag_start + 1, tag[1], static_cast<std::size_t>(end - tag_start - 1)));
            if (tag_end != nullptr && tag_end - tag_start > 1) {
                key = tag_start + 1;
                len = static_cast<std::size_t>(tag_end - key);
            }
        }
    }
    return len == 0 ? 0 : hash_(key, len);
}

}  // namespace cachemux
