// Bob Jenkins' lookup3 hashlittle() with initval 13, as nutcracker computes it
// on a little-endian machine (its aligned and unaligned paths agree there).
#include "hash_plugin.hpp"

namespace {
constexpr std::uint32_t rot(std::uint32_t x, int k) noexcept { return (x << k) | (x >> (32 - k)); }

std::uint32_t jenkins(const char* key, std::size_t len) noexcept {
    std::uint32_t a = 0xdeadbeefu + static_cast<std::uint32_t>(len) + 13u;
    std::uint32_t b = a;
    std::uint32_t c = a;
    const auto* k = reinterpret_cast<const unsigned char*>(key);
    auto word = [](const unsigned char* p, std::size_t n) noexcept {  // n <= 4 bytes, LE
        std::uint32_t w = 0;
        for (std::size_t i = 0; i < n; ++i) w |= std::uint32_t{p[i]} << (8 * i);
        return w;
    };
    while (len > 12) {
        a += word(k, 4);
        b += word(k + 4, 4);
        c += word(k + 8, 4);
        a -= c; a ^= rot(c, 4);  c += b;
        b -= a; b ^= rot(a, 6);  a += c;
        c -= b; c ^= rot(b, 8);  b += a;
        a -= c; a ^= rot(c, 16); c += b;
        b -= a; b ^= rot(a, 19); a += c;
        c -= b; c ^= rot(b, 4);  b += a;
        len -= 12;
        k += 12;
    }
    if (len == 0) return c;  // no final mixing, as in lookup3
    a += word(k, len < 4 ? len : 4);
    if (len > 4) b += word(k + 4, len < 8 ? len - 4 : 4);
    if (len > 8) c += word(k + 8, len - 8);
    c ^= b; c -= rot(b, 14);
    a ^= c; a -= rot(c, 11);
    b ^= a; b -= rot(a, 25);
    c ^= b; c -= rot(b, 16);
    a ^= c; a -= rot(c, 4);
    b ^= a; b -= rot(a, 14);
    c ^= b; c -= rot(b, 24);
    return c;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("jenkins", jenkins)
