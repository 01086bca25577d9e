#include "plugin_registry.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

namespace cachemux {

struct PluginRegistry::Library {
    boost::dll::shared_library library;
};

PluginRegistry::PluginRegistry(std::filesystem::path dir) : dir_(std::move(dir)) {}
PluginRegistry::~PluginRegistry() = default;

const abi::PluginDescriptor* PluginRegistry::load(std::string_view name) {
    if (auto it = by_file_.find(name); it != by_file_.end()) {
        return it->second;
    }
    // A name is a file name, never a path: "../x" must not reach outside dir.
    const abi::PluginDescriptor* descriptor = nullptr;
    bool plain = !name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..";
    std::filesystem::path file = dir_ / (std::string(name) + ".so");
    std::error_code ec;
    if (plain && std::filesystem::is_regular_file(file, ec)) {
        auto lib = std::make_unique<Library>();
        try {
            lib->library.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
        } catch (const std::exception& e) {
            throw PluginError("cannot load plugin '" + file.string() + "': " + e.what());
        }
        if (!lib->library.has(abi::kEntrySymbol)) {
            throw PluginError("plugin '" + file.string() + "' has no '" + abi::kEntrySymbol + "' entry point");
        }
        auto& entry = lib->library.get_alias<const abi::PluginDescriptor*()>(abi::kEntrySymbol);
        descriptor = entry();
        // Only the first member may be read before the version is known.
        if (descriptor == nullptr || descriptor->abi_version != abi::kAbiVersion) {
            throw PluginError("plugin '" + file.string() + "' has ABI version " +
                              std::to_string(descriptor ? descriptor->abi_version : 0) +
                              ", this cachemux needs ABI version " + std::to_string(abi::kAbiVersion));
        }
        libraries_.push_back(std::move(lib));
    }
    by_file_.emplace(std::string(name), descriptor);
    return descriptor;
}

abi::HashFn PluginRegistry::hash(std::string_view name) {
    if (const auto* d = load(name)) {
        for (const auto& h : d->hashes) {
            if (h.name == name) {
                return h.hash;
            }
        }
    }
    return nullptr;
}

const abi::Distribution* PluginRegistry::distribution(std::string_view name) {
    if (const auto* d = load(name)) {
        for (const auto* dist : d->distributions) {
            if (dist->name() == name) {
                return dist;
            }
        }
    }
    return nullptr;
}

const abi::Protocol* PluginRegistry::protocol(std::string_view name) {
    if (const auto* d = load(name)) {
        for (const auto* p : d->protocols) {
            if (p->name() == name) {
                return p;
            }
        }
    }
    return nullptr;
}

std::filesystem::path default_plugin_dir() {
    std::error_code ec;
    std::filesystem::path exe = boost::dll::program_location(ec);
    if (!ec) {
        std::filesystem::path beside = exe.parent_path() / "plugins";
        // An installed binary lives in the bindir and uses the installed plugin dir.
        if (exe.parent_path() != std::filesystem::path(CACHEMUX_INSTALL_BINDIR) &&
            std::filesystem::is_directory(beside, ec)) {
            return beside;
        }
    }
    return CACHEMUX_INSTALL_PLUGIN_DIR;
}

}  // namespace cachemux
