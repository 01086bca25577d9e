#include "routing/server_pool.hpp"

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

    p->servers_.reserve(pool.servers.size());
    for (const ServerConfig& s : pool.servers) {
        p->servers_.push_back({s.name, s.pname, s.endpoint, s.weight});
    }
    p->build_ring(std::vector<bool>(p->servers_.size(), true));
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
    p->build_ring(live);
    return p;
}

void ServerPool::build_ring(const std::vector<bool>& live) {
    settings_ = {config_.redis_auth, config_.redis_db};  // views into this pool's own config_
    std::vector<abi::ServerSpec> specs;
    specs.reserve(servers_.size());
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        specs.push_back({servers_[i].name, servers_[i].weight, static_cast<bool>(live[i])});
    }
    continuum_ = distribution_->build(specs);
}

std::uint32_t ServerPool::server_for_key(const char* key, std::size_t len) const noexcept {
    // nutcracker's rules, in its order: one server needs no hash; the hash
    // tag narrows the key when both tag characters enclose at least one byte;
    // an empty key hashes to 0.
    if (servers_.size() == 1) {
        return 0;
    }
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
    std::uint32_t hash = len == 0 ? 0 : hash_(key, len);
    return continuum_->server_for(hash);
}

}  // namespace cachemux
