// crc32a: the standard, full 32-bit CRC-32.
#include "crc_tables.hpp"
#include "hash_plugin.hpp"

namespace {
std::uint32_t crc32a(const char* key, std::size_t len) noexcept {
    std::uint32_t crc = 0xffffffffu;
    for (std::size_t i = 0; i < len; ++i)
        crc = (crc >> 8) ^ cachemux::hash::kCrc32Table[(crc ^ cachemux::hash::ubyte(key[i])) & 0xff];
    return ~crc;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("crc32a", crc32a)
