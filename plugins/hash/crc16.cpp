// crc16 as nutcracker 0.5.0 computes it: the CRC-16/XMODEM table update
// (crc << 8) ^ table[((crc >> 8) ^ byte) & 0xff], but on a 32-bit crc that is
// never cut back to 16 bits, so the result grows past 16 bits for keys of
// three bytes or more. (Later twemproxy releases changed crc16; 0.5.0's is
// what the observed vectors in the tests confirm.)
#include "crc_tables.hpp"
#include "hash_plugin.hpp"

namespace {
std::uint32_t crc16(const char* key, std::size_t len) noexcept {
    std::uint32_t crc = 0;
    for (std::size_t i = 0; i < len; ++i)
        crc = (crc << 8) ^ cachemux::hash::kCrc16XmodemTable[((crc >> 8) ^ cachemux::hash::ubyte(key[i])) & 0xff];
    return crc;
}
}  // namespace

CACHEMUX_HASH_PLUGIN("crc16", crc16)
