#include "registry/config_plugins.hpp"

namespace cachemux {

std::filesystem::path plugin_path(const PluginRef& ref, const std::string& config_file,
                                  const PluginRegistry& registry) {
    const std::string& spec = ref.spec;
    if (spec.find('/') != std::string::npos) {
        std::filesystem::path path(spec);
        return path.is_absolute() ? path : std::filesystem::path(config_file).parent_path() / path;
    }
    constexpr std::string_view kSuffix = ".so";
    bool has_suffix = spec.size() > kSuffix.size() && spec.ends_with(kSuffix);
    return registry.file_for(has_suffix ? spec.substr(0, spec.size() - kSuffix.size()) : spec);
}

void load_listed_plugins(const Config& config, PluginRegistry& registry) {
    for (const PluginRef& ref : config.plugins) {
        try {
            registry.add(plugin_path(ref, config.file, registry));
        } catch (const PluginError& e) {
            throw ConfigError(config.file + ":" + std::to_string(ref.line) + ": plugin '" + ref.spec +
                              "': " + e.what());
        }
    }
}

}  // namespace cachemux
