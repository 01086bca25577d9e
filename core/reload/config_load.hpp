// A configuration file as the proxy runs it: read and validated as `-t`
// checks it, with its plugins loaded and its pools' rings built.
//
// Each load has a plugin registry of its own, which its pools keep alive
// (see PluginRegistry): so a reload resolves plugin names exactly as a
// fresh start would, and a plugin no configuration uses any more closes
// once the last thing made from it is gone.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "routing/server_pool.hpp"

namespace cachemux {

struct LoadedConfig {
    Config config;
    std::vector<std::shared_ptr<const ServerPool>> pools;  // in config.pools' order
};

// Builds every pool of `config`, loading its listed plugins first. Throws
// ConfigError naming the file, the line and the key.
std::vector<std::shared_ptr<const ServerPool>> build_pools(const Config& config,
                                                           const std::filesystem::path& plugin_dir);

// load_config() then build_pools().
LoadedConfig load_and_build(const std::string& file, const std::filesystem::path& plugin_dir);

}  // namespace cachemux
