// Loads plugins by name at start-up and hands out what they provide.
//
// A pool that asks for `hash: md5` makes the registry open `<dir>/md5.so`
// once; the shared object stays open for the life of the registry, so nothing
// it made can outlive it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cachemux/plugin_abi.hpp"

namespace cachemux {

// A plugin file exists but cannot be used (bad ABI version, no entry point).
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

    // nullptr when no plugin provides `name`; PluginError when its file is unusable.
    abi::HashFn hash(std::string_view name);
    const abi::Distribution* distribution(std::string_view name);
    const abi::Protocol* protocol(std::string_view name);

    const std::filesystem::path& dir() const { return dir_; }

private:
    struct Library;
    const abi::PluginDescriptor* load(std::string_view name);

    std::filesystem::path dir_;
    std::map<std::string, const abi::PluginDescriptor*, std::less<>> by_file_;
    std::vector<std::unique_ptr<Library>> libraries_;
};

// build/plugins beside a binary run from the build tree, else the installed dir.
std::filesystem::path default_plugin_dir();

}  // namespace cachemux
