// fnv1_64 as nutcracker computes it: FNV-1 in 64 bits (key bytes sign-extended
// to 64 bits), returning the low 32 bits.
#include "hash_plugin.hpp"

namespace {
std::uint32_t fnv1_64(const char* key, std::size_t len) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::size_t i = 0; i < len; ++i) {
        h *= 0x100000001b3ull;
        h ^= cachemux::hash::sext64(key[i]);
    }
    return static_cast<std::uint32_t>(h);
}
}  // namespace

CACHEMUX_HASH_PLUGIN("fnv1_64", fnv1_64)
