// MurmurHash2 as nutcracker computes it: seed = 0xdeadbeef * len, words read
// little-endian, unsigned bytes.
#include "hash_plugin.hpp"

namespace {
std::uint32_t murmur(const char* key, std::size_t len) noexcept {
    constexpr std::uint32_t m = 0x5bd1e995u;
    const auto n = static_cast<std::uint32_t>(len);
    std::uint32_t h = (0xdeadbeefu * n) ^ n;
    const auto* p = reinterpret_cast<const unsigned char*>(key);
    while (len >= 4) {
        std::uint32_t k = std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
                          std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
        p += 4;
        len -= 4;
    }
    switch (len) {
    case 3: h ^= std::uint32_t{p[2]} << 16; [[fallthrough]];
    case 2: h ^= std::uint32_t{p[1]} << 8; [[fallthrough]];
    case 1:
        h ^= p[0];
        h *= m;
        break;
    default: break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("murmur", murmur)
