// An example cachemux hash plugin: Bernstein's djb2 (h = h * 33 + byte,
// starting at 5381), selected in a pool with `hash: djb2`.
//
// A plugin exports one function, under the alias CACHEMUX_PLUGIN() gives it,
// that returns a descriptor: the ABI version it was built for, then what it
// provides. Everything it points to must live as long as the plugin, which
// constexpr data at namespace scope does.
#include <cachemux/plugin_abi.hpp>

#include <cstddef>
#include <cstdint>

namespace {

// A hash is pure: no state, no allocation, and the same value for the same
// key on every machine (so read the bytes as unsigned).
std::uint32_t djb2(const char* key, std::size_t len) noexcept {
    std::uint32_t h = 5381;
    for (std::size_t i = 0; i < len; ++i) {
        h = h * 33 + static_cast<unsigned char>(key[i]);
    }
    return h;
}

constexpr cachemux::abi::HashFunction kHashes[] = {{"djb2", &djb2}};

constexpr cachemux::abi::PluginDescriptor kDescriptor{
    .abi_version = cachemux::abi::kAbiVersion,
    .description = "djb2 hash (cachemux SDK example)",
    .hashes = kHashes,
    .distributions = {},
    .protocols = {},
};

const cachemux::abi::PluginDescriptor* describe() { return &kDescriptor; }

}  // namespace

CACHEMUX_PLUGIN(describe)
