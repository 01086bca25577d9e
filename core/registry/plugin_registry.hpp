// Loads plugins and hands out what they provide, by name.
//
// Two ways in:
//   - listed: a config's `plugins:` list names shared objects, loaded with
//     add() before any pool is built; every hash, distribution and protocol
//     they provide is registered under its name, and a name may be provided
//     only once;
//   - by name: a pool that asks for `hash: md5` and finds no listed plugin
//     providing it makes the registry open `<dir>/md5.so` (the bundled
//     plugins work this way, as nutcracker configs expect).
// Every shared object stays open for the life of the registry, so nothing it
// made can outlive it. Each configuration (the one at start, each reload's)
// has a registry of its own, held by its pools (ServerPool's
// plugins_in_use): a plugin no configuration uses any more is closed when
// the last pool, ring or connection of the old one is gone, and a reload
// resolves names exactly as `-t` does, untouched by what earlier ones loaded.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cachemux/plugin_abi.hpp"

namespace cachemux {

// A plugin file cannot be used: not found, not a cachemux plugin, another ABI
// version, a name some other plugin already provides. The message says which
// file and why.
class PluginError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class PluginRegistry {
public:
    explicit PluginRegistry(std::filesystem::path dir);
    ~PluginRegistry();
    PluginRegistry(const PluginRegistry&) = delete;
    PluginRegistry& operator=(const PluginRegistry&) = delete;

    // Loads a listed plugin and registers what it provides; adding the same
    // file twice is a no-op. Throws PluginError, and then registers nothing.
    void add(const std::filesystem::path& file);

    // nullptr when no plugin provides `name`; PluginError when the file that
    // should is unusable.
    abi::HashFn hash(std::string_view name);
    const abi::Distribution* distribution(std::string_view name);
    const abi::Protocol* protocol(std::string_view name);

    const std::filesystem::path& dir() const { return dir_; }
    bool has_listed() const { return !listed_.empty(); }
    // The file a plugin name resolves to in the plugin directory.
    std::filesystem::path file_for(std::string_view name) const;

private:
    struct Library;
    struct Provided {
        abi::HashFn hash = nullptr;
        const abi::Distribution* distribution = nullptr;
        const abi::Protocol* protocol = nullptr;
        std::filesystem::path file;  // the listed plugin it came from
    };

    const abi::PluginDescriptor* open(const std::filesystem::path& file);
    const abi::PluginDescriptor* load_by_name(std::string_view name);
    // Throws PluginError when `file` may not provide `name` of this kind.
    void check_new(const std::map<std::string, Provided, std::less<>>& names, const char* kind,
                   std::string_view name, const std::filesystem::path& file) const;

    std::filesystem::path dir_;
    std::map<std::string, const abi::PluginDescriptor*, std::less<>> by_name_;
    std::map<std::filesystem::path, const abi::PluginDescriptor*> by_path_;
    std::set<std::filesystem::path> listed_;
    // Names from listed plugins, kept apart per kind ("md5" may be a hash
    // in one plugin and a protocol in another).
    std::map<std::string, Provided, std::less<>> hashes_, distributions_, protocols_;
    std::vector<std::unique_ptr<Library>> libraries_;
};

// build/plugins beside a binary run from the build tree, else the installed dir.
std::filesystem::path default_plugin_dir();

}  // namespace cachemux
