// crc32 as nutcracker (and libmemcached) compute it: a standard CRC-32 whose
// result is then cut down to ((crc >> 16) & 0x7fff), i.e. 15 bits.
#include "crc_tables.hpp"
#include "hash_plugin.hpp"

namespace {
std::uint32_t crc32(const char* key, std::size_t len) noexcept {
    std::uint32_t crc = 0xffffffffu;
    for (std::size_t i = 0; i < len; ++i)
        crc = (crc >> 8) ^ cachemux::hash::kCrc32Table[(crc ^ cachemux::hash::ubyte(key[i])) & 0xff];
    return (~crc >> 16) & 0x7fff;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("crc32", crc32)
