// Reflected CRC lookup tables, built at compile time.
#pragma once

#include <array>
#include <cstdint>

namespace cachemux::hash {

template <typename T>
constexpr std::array<T, 256> reflected_crc_table(T poly) {
    std::array<T, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
        T c = static_cast<T>(i);
        for (int k = 0; k < 8; ++k) c = (c & 1) ? static_cast<T>((c >> 1) ^ poly) : static_cast<T>(c >> 1);
        t[i] = c;
    }
    return t;
}

// Most-significant-bit-first 16-bit CRC table.
constexpr std::array<std::uint16_t, 256> msb_crc16_table(std::uint16_t poly) {
    std::array<std::uint16_t, 256> t{};
    for (unsigned i = 0; i < 256; ++i) {
        unsigned c = i << 8;
        for (int k = 0; k < 8; ++k) c = (c & 0x8000) ? (c << 1) ^ poly : c << 1;
        t[i] = static_cast<std::uint16_t>(c);
    }
    return t;
}

// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320).
inline constexpr auto kCrc32Table = reflected_crc_table<std::uint32_t>(0xEDB88320u);
// CRC-16/XMODEM (CCITT polynomial 0x1021, MSB first).
inline constexpr auto kCrc16XmodemTable = msb_crc16_table(0x1021u);

static_assert(kCrc32Table[1] == 0x77073096u && kCrc32Table[255] == 0x2d02ef8du);
static_assert(kCrc16XmodemTable[1] == 0x1021u && kCrc16XmodemTable[255] == 0x1ef0u);

}  // namespace cachemux::hash
