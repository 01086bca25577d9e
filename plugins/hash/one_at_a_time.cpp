// Jenkins' one-at-a-time hash as nutcracker computes it (key bytes
// sign-extended).
#include "hash_plugin.hpp"

namespace {
std::uint32_t one_at_a_time(const char* key, std::size_t len) noexcept {
    std::uint32_t h = 0;
    for (std::size_t i = 0; i < len; ++i) {
        h += cachemux::hash::sext32(key[i]);
        h += h << 10;
        h ^= h >> 6;
    }
    h += h << 3;
    h ^= h >> 11;
    h += h << 15;
    return h;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("one_at_a_time", one_at_a_time)
