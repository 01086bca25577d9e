#include "reload/config_load.hpp"

#include "registry/config_plugins.hpp"
#include "registry/plugin_registry.hpp"

namespace cachemux {

std::vector<std::shared_ptr<const ServerPool>> build_pools(const Config& config,
                                                           const std::filesystem::path& plugin_dir) {
    auto registry = std::make_shared<PluginRegistry>(plugin_dir);
    load_listed_plugins(config, *registry);
    std::vector<std::shared_ptr<const ServerPool>> pools;
    for (const PoolConfig& pool : config.pools) {
        pools.push_back(ServerPool::build(pool, *registry, config.file, registry));
    }
    return pools;
}

LoadedConfig load_and_build(const std::string& file, const std::filesystem::path& plugin_dir) {
    LoadedConfig loaded;
    loaded.config = load_config(file);
    loaded.pools = build_pools(loaded.config, plugin_dir);
    return loaded;
}

}  // namespace cachemux
