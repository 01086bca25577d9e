// A pool as routing sees it: its servers, its hash, its ring and its protocol.
//
// Immutable once built. Ejection or a config reload builds a new ServerPool
// beside the live one and swaps it in; nothing reaches a pool through
// process-global state.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cachemux/plugin_abi.hpp"
#include "config/config.hpp"
#include "registry/plugin_registry.hpp"

namespace cachemux {

struct Server {
    std::string name;   // ring and stats name (see ServerConfig::name)
    std::string pname;  // "host:port:weight" as written
    Endpoint endpoint;
    std::uint32_t weight;
};

class ServerPool {
public:
    // Resolves the pool's plugins through `registry`. Throws ConfigError
    // naming `config_file`, the pool and the key when a plugin is missing.
    // `plugins_in_use` keeps the plugins' code loaded for as long as this
    // pool, or a ring made from it, lives (a reload's old pools outlive
    // their config: see PluginRegistry).
    static std::shared_ptr<const ServerPool> build(const PoolConfig& pool, PluginRegistry& registry,
                                                   const std::string& config_file,
                                                   std::shared_ptr<const void> plugins_in_use = nullptr);

    // The same pool with only the servers marked live (ejection). A plain
    // pool's ring is built again over them, as nutcracker rehashes; a pool
    // with copies keeps every copy's ring as configured and marks the dead
    // servers instead, so that a key never moves to another server of its
    // copy: its other copies answer for it.
    std::shared_ptr<const ServerPool> with_live(const std::vector<bool>& live) const;

    // The server that owns `key` (in copy 0): hash_tag applied, one hash,
    // one ring lookup. Only when has_live_servers().
    std::uint32_t server_for_key(const char* key, std::size_t len) const noexcept {
        return servers_.size() == 1 ? 0 : copies_[0].continuum->server_for(key_hash(key, len));
    }
    bool has_live_servers() const noexcept { return live_count_ > 0; }

    // --- copies (`replicas:`): servers() holds copy 0's servers, then copy
    // 1's, and so on; a plain pool is one copy of every server.
    std::size_t copies() const noexcept { return copies_.size(); }
    // What a key is placed by, the same in every copy: hash_tag applied,
    // nutcracker's hash (an empty key hashes to 0).
    std::uint32_t key_hash(const char* key, std::size_t len) const noexcept;
    // The server of copy `copy` for a key_hash(), as an index in servers().
    std::uint32_t server_in_copy(std::size_t copy, std::uint32_t hash) const noexcept {
        const Copy& c = copies_[copy];
        return c.first + (c.count == 1 ? 0 : c.continuum->server_for(hash));
    }
    // The copy server `server` belongs to.
    std::size_t copy_of(std::uint32_t server) const noexcept {
        std::size_t c = 0;
        while (server >= copy_end(c)) ++c;
        return c;
    }
    // One past copy `copy`'s last server in servers().
    std::size_t copy_end(std::size_t copy) const noexcept { return copies_[copy].first + copies_[copy].count; }
    // Not ejected (always true for a plain pool's servers on its ring).
    bool live(std::uint32_t server) const noexcept { return live_[server] != 0; }

    const PoolConfig& config() const { return config_; }
    const std::vector<Server>& servers() const { return servers_; }
    const abi::Protocol& protocol() const { return *protocol_; }
    const abi::PoolSettings& settings() const { return settings_; }

private:
    struct Copy {
        std::uint32_t first;  // its first server in servers_
        std::uint32_t count;
        std::unique_ptr<abi::Continuum> continuum;  // over servers_[first, first + count)
    };

    ServerPool() = default;
    // The rings, the live marks and the settings views; the last step of
    // build() and with_live().
    void build_rings(const std::vector<bool>& live);

    std::shared_ptr<const void> plugins_in_use_;  // first: released after the continua the plugin made
    PoolConfig config_;
    std::vector<Server> servers_;
    abi::HashFn hash_ = nullptr;
    const abi::Distribution* distribution_ = nullptr;
    const abi::Protocol* protocol_ = nullptr;
    std::vector<Copy> copies_;
    std::vector<char> live_;  // per server
    std::size_t live_count_ = 0;
    abi::PoolSettings settings_{};  // views into config_
};

}  // namespace cachemux
