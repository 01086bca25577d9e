// The plugins a config lists (`plugins:`), loaded before any pool is built so
// that a pool's hash, distribution or protocol can name what they provide.
#pragma once

#include <filesystem>

#include "config/config.hpp"
#include "registry/plugin_registry.hpp"

namespace cachemux {

// Where a `plugins:` item points: a path (it has a '/'; a relative one is
// taken from the config file's directory), or a name, found as
// <plugin dir>/NAME.so ("NAME.so" is accepted too).
std::filesystem::path plugin_path(const PluginRef& ref, const std::string& config_file,
                                  const PluginRegistry& registry);

// Loads every listed plugin into `registry`. Throws ConfigError
// "FILE:LINE: plugin 'ITEM': WHY".
void load_listed_plugins(const Config& config, PluginRegistry& registry);

}  // namespace cachemux
