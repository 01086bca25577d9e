// Paul Hsieh's SuperFastHash as nutcracker computes it. Quirk kept: for a key
// of length 4n+3 the last byte is read through a plain char and sign-extended.
#include "hash_plugin.hpp"

namespace {
std::uint32_t get16(const char* p) noexcept {
    return cachemux::hash::ubyte(p[0]) | cachemux::hash::ubyte(p[1]) << 8;
}

std::uint32_t hsieh(const char* key, std::size_t len) noexcept {
    if (len == 0 || key == nullptr) return 0;
    std::uint32_t h = 0;
    const std::size_t rem = len & 3;
    for (std::size_t n = len >> 2; n > 0; --n) {
        h += get16(key);
        const std::uint32_t tmp = (get16(key + 2) << 11) ^ h;
        h = (h << 16) ^ tmp;
        key += 4;
        h += h >> 11;
    }
    switch (rem) {
    case 3:
        h += get16(key);
        h ^= h << 16;
        h ^= cachemux::hash::sext32(key[2]) << 18;
        h += h >> 11;
        break;
    case 2:
        h += get16(key);
        h ^= h << 11;
        h += h >> 17;
        break;
    case 1:
        h += cachemux::hash::ubyte(key[0]);
        h ^= h << 10;
        h += h >> 1;
        break;
    default: break;
    }
    h ^= h << 3;
    h += h >> 5;
    h ^= h << 4;
    h += h >> 17;
    h ^= h << 25;
    h += h >> 6;
    return h;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("hsieh", hsieh)
