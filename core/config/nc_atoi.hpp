// nutcracker's nc_atoi(), which both its config reader and its command line use.
#pragma once

#include <cstdint>
#include <string_view>

namespace cachemux {

// Decimal digits only: no sign, no blanks. The sum is computed in a 32-bit
// int that wraps, and a negative result means "not a number"; so
// "2147483648" is rejected while "4294967297" reads as 1. Both are what
// nutcracker 0.5.0 does, and so is this. Returns -1 for "not a number".
inline int nc_atoi(std::string_view s) {
    if (s.empty()) return -1;
    std::uint32_t value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return -1;
        value = value * 10u + static_cast<std::uint32_t>(c - '0');
    }
    auto result = static_cast<std::int32_t>(value);
    return result < 0 ? -1 : result;
}

}  // namespace cachemux
