// fnv1a_32 as nutcracker computes it: FNV-1a, 32 bits, key bytes sign-extended.
#include "hash_plugin.hpp"

namespace {
std::uint32_t fnv1a_32(const char* key, std::size_t len) noexcept {
    std::uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < len; ++i) {
        h ^= cachemux::hash::sext32(key[i]);
        h *= 16777619u;
    }
    return h;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("fnv1a_32", fnv1a_32)
