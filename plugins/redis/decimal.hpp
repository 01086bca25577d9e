// Decimal integers as RESP and redis spell them.
#pragma once

#include <cstdint>
#include <string_view>

namespace cachemux::redis {

// A whole-token decimal that fits in 64 signed bits. 19 digits can exceed
// INT64_MAX (":9999999999999999999"), so the digits are summed unsigned (19
// digits never overflow 64 unsigned bits) and range-checked: summing them
// signed was undefined behaviour on such a reply (found by fuzz/redis_response).
inline bool parse_int64(std::string_view t, std::int64_t* out) {
    bool negative = !t.empty() && t[0] == '-';
    if (negative) t.remove_prefix(1);
    if (t.empty() || t.size() > 19) return false;
    std::uint64_t v = 0;
    for (char ch : t) {
        if (ch < '0' || ch > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    constexpr std::uint64_t kMax = static_cast<std::uint64_t>(INT64_MAX);
    if (v > (negative ? kMax + 1 : kMax)) return false;
    *out = negative ? static_cast<std::int64_t>(0 - v) : static_cast<std::int64_t>(v);
    return true;
}

// redis's string2ll, for the arguments it reads as numbers (SELECT's index,
// HELLO's version): as parse_int64, but no leading zero and no "-0".
inline bool parse_strict_int64(std::string_view t, std::int64_t* out) {
    if (t == "0") {
        *out = 0;
        return true;
    }
    std::string_view digits = t.starts_with('-') ? t.substr(1) : t;
    if (digits.empty() || digits[0] < '1' || digits[0] > '9') return false;
    return parse_int64(t, out);
}

}  // namespace cachemux::redis
