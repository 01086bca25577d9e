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

    // The same pool with only the servers marked live on its ring (ejection).
    std::shared_ptr<const ServerPool> with_live(const std::vector<bool>& live) const;

    // The server that owns `key`: hash_tag applied, one hash, one ring lookup.
    // Only when has_live_servers().
    std::uint32_t server_for_key(const char* key, std::size_t len) const noexcept;
    bool has_live_servers() const noexcept { return continuum_->live_servers() > 0; }

    const PoolConfig& config() const { return config_; }
    const std::vector<Server>& servers() const { return servers_; }
    const abi::Protocol& protocol() const { return *protocol_; }
    const abi::PoolSettings& settings() const { return settings_; }

private:
    ServerPool() = default;
    // The ring over the servers marked live, and the settings views; the last
    // step of build() and with_live().
    void build_ring(const std::vector<bool>& live);

    std::shared_ptr<const void> plugins_in_use_;  // first: released after the continuum the plugin made
    PoolConfig config_;
    std::vector<Server> servers_;
    abi::HashFn hash_ = nullptr;
    const abi::Distribution* distribution_ = nullptr;
    const abi::Protocol* protocol_ = nullptr;
    std::unique_ptr<abi::Continuum> continuum_;
    abi::PoolSettings settings_{};  // views into config_
};

}  // namespace cachemux
