// fnv1a_64 as nutcracker computes it: FNV-1a run in 32 bits, with the 64-bit
// offset basis and prime truncated to 32 bits; key bytes sign-extended.
#include "hash_plugin.hpp"

namespace {
std::uint32_t fnv1a_64(const char* key, std::size_t len) noexcept {
    std::uint32_t h = 0x84222325u;  // (uint32_t)0xcbf29ce484222325
    for (std::size_t i = 0; i < len; ++i) {
        h ^= cachemux::hash::sext32(key[i]);
        h *= 0x000001b3u;  // (uint32_t)0x100000001b3
    }
    return h;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("fnv1a_64", fnv1a_64)
