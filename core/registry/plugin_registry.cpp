#include "registry/plugin_registry.hpp"

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

namespace cachemux {

struct PluginRegistry::Library {
    boost::dll::shared_library library;
};

PluginRegistry::PluginRegistry(std::filesystem::path dir) : dir_(std::move(dir)) {}
PluginRegistry::~PluginRegistry() = default;

std::filesystem::path PluginRegistry::file_for(std::string_view name) const {
    return dir_ / (std::string(name) + ".so");
}

namespace {

// One key per file however it was named (a path, a name, a symlink).
std::filesystem::path canonical_or_self(const std::filesystem::path& file) {
    std::error_code ec;
    std::filesystem::path canonical = std::filesystem::weakly_canonical(file, ec);
    return ec ? file : canonical;
}

}  // namespace

// Opens a shared object and checks it is a cachemux plugin of this ABI;
// each file is opened once.
const abi::PluginDescriptor* PluginRegistry::open(const std::filesystem::path& file) {
    std::filesystem::path key = canonical_or_self(file);
    if (auto it = by_path_.find(key); it != by_path_.end()) {
        return it->second;
    }
    auto lib = std::make_unique<Library>();
    try {
        lib->library.load(file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        throw PluginError("cannot load plugin '" + file.string() + "': " + e.what());
    }
    if (!lib->library.has(abi::kEntrySymbol)) {
        throw PluginError("'" + file.string() + "' is not a cachemux plugin: it has no '" +
                          abi::kEntrySymbol + "' entry point");
    }
    auto& entry = lib->library.get_alias<const abi::PluginDescriptor*()>(abi::kEntrySymbol);
    const abi::PluginDescriptor* descriptor = entry();
    // Only the first member may be read before the version is known.
    if (descriptor == nullptr || descriptor->abi_version != abi::kAbiVersion) {
        throw PluginError("plugin '" + file.string() + "' has ABI version " +
                          std::to_string(descriptor ? descriptor->abi_version : 0) +
                          ", this cachemux needs ABI version " + std::to_string(abi::kAbiVersion) +
                          " (rebuild the plugin against this cachemux's SDK)");
    }
    libraries_.push_back(std::move(lib));
    by_path_.emplace(key, descriptor);
    return descriptor;
}

const abi::PluginDescriptor* PluginRegistry::load_by_name(std::string_view name) {
    if (auto it = by_name_.find(name); it != by_name_.end()) {
        return it->second;
    }
    // A name is a file name, never a path: "../x" must not reach outside dir.
    const abi::PluginDescriptor* descriptor = nullptr;
    bool plain = !name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..";
    std::filesystem::path file = file_for(name);
    std::error_code ec;
    if (plain && std::filesystem::is_regular_file(file, ec)) {
        descriptor = open(file);
    }
    by_name_.emplace(std::string(name), descriptor);
    return descriptor;
}

void PluginRegistry::check_new(const std::map<std::string, Provided, std::less<>>& names, const char* kind,
                               std::string_view name, const std::filesystem::path& file) const {
    if (auto it = names.find(name); it != names.end()) {
        throw PluginError("'" + file.string() + "' provides " + kind + " '" + std::string(name) +
                          "', which '" + it->second.file.string() + "' already provides");
    }
    // A listed plugin may not stand in for a plugin of the plugin directory:
    // a second `fnv1a_64` would silently move keys to other servers.
    std::error_code ec;
    std::filesystem::path bundled = file_for(name);
    if (std::filesystem::is_regular_file(bundled, ec) && !std::filesystem::equivalent(bundled, file, ec)) {
        throw PluginError("'" + file.string() + "' provides " + kind + " '" + std::string(name) + "', which '" +
                          bundled.string() + "' already provides");
    }
}

void PluginRegistry::add(const std::filesystem::path& file) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        throw PluginError("plugin '" + file.string() + "' not found");
    }
    if (!std::filesystem::is_regular_file(file, ec)) {
        throw PluginError("plugin '" + file.string() + "' is not a file");
    }
    std::filesystem::path key = canonical_or_self(file);
    if (listed_.count(key) != 0) {
        return;
    }
    const abi::PluginDescriptor* d = open(file);
    if (d->hashes.empty() && d->distributions.empty() && d->protocols.empty()) {
        throw PluginError("plugin '" + file.string() + "' provides no hash, distribution or protocol");
    }
    // Every name is checked before any is registered: a refused plugin
    // leaves the registry as it was (a config reload that fails must not
    // half-change the live one).
    auto hashes = hashes_;
    auto distributions = distributions_;
    auto protocols = protocols_;
    for (const auto& h : d->hashes) {
        check_new(hashes, "hash", h.name, file);
        hashes.emplace(std::string(h.name), Provided{.hash = h.hash, .file = file});
    }
    for (const auto* dist : d->distributions) {
        check_new(distributions, "distribution", dist->name(), file);
        distributions.emplace(std::string(dist->name()), Provided{.distribution = dist, .file = file});
    }
    for (const auto* p : d->protocols) {
        check_new(protocols, "protocol", p->name(), file);
        protocols.emplace(std::string(p->name()), Provided{.protocol = p, .file = file});
    }
    hashes_ = std::move(hashes);
    distributions_ = std::move(distributions);
    protocols_ = std::move(protocols);
    listed_.insert(key);
}

abi::HashFn PluginRegistry::hash(std::string_view name) {
    if (auto it = hashes_.find(name); it != hashes_.end()) {
        return it->second.hash;
    }
    if (const auto* d = load_by_name(name)) {
        for (const auto& h : d->hashes) {
            if (h.name == name) {
                return h.hash;
            }
        }
    }
    return nullptr;
}

const abi::Distribution* PluginRegistry::distribution(std::string_view name) {
    if (auto it = distributions_.find(name); it != distributions_.end()) {
        return it->second.distribution;
    }
    if (const auto* d = load_by_name(name)) {
        for (const auto* dist : d->distributions) {
            if (dist->name() == name) {
                return dist;
            }
        }
    }
    return nullptr;
}

const abi::Protocol* PluginRegistry::protocol(std::string_view name) {
    if (auto it = protocols_.find(name); it != protocols_.end()) {
        return it->second.protocol;
    }
    if (const auto* d = load_by_name(name)) {
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
