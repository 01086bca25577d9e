// Loads a built plugin (build/plugins/<name>.so) for a unit test, the way the
// core's registry does: boost::dll::import_alias of `cachemux_plugin`.
#pragma once

#ifndef BOOST_DLL_USE_STD_FS
#define BOOST_DLL_USE_STD_FS
#endif

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/dll/import.hpp>

#include "cachemux/plugin_abi.hpp"

namespace cachemux::test {

class LoadedPlugin {
public:
    explicit LoadedPlugin(std::string_view name)
        : entry_(boost::dll::import_alias<const abi::PluginDescriptor*()>(
              std::filesystem::path(CACHEMUX_PLUGIN_BUILD_DIR) / (std::string(name) + ".so"),
              abi::kEntrySymbol)),
          descriptor_(entry_()) {}

    // Valid while this object lives (it keeps the shared object loaded).
    const abi::PluginDescriptor& descriptor() const { return *descriptor_; }

    abi::HashFn hash(std::string_view name) const {
        for (const auto& h : descriptor_->hashes)
            if (h.name == name) return h.hash;
        throw std::runtime_error("no hash " + std::string(name));
    }

    const abi::Distribution& distribution(std::string_view name) const {
        for (const auto* d : descriptor_->distributions)
            if (d->name() == name) return *d;
        throw std::runtime_error("no distribution " + std::string(name));
    }

private:
    std::function<const abi::PluginDescriptor*()> entry_;  // holds the library
    const abi::PluginDescriptor* descriptor_;
};

}  // namespace cachemux::test
