// Streaming parser for redis replies (RESP): simple strings, errors,
// integers, bulk strings and arrays nested to any depth. The elements of a
// top-level array are reported as records, so MGET's fragments can be merged
// in key order by reference. A nil reply, or an array of nils only (an MGET
// that found none of its keys), is a miss: another copy may have the key.
#include <cstdint>
#include <cstring>
#include <string_view>

#include "decimal.hpp"
#include "redis.hpp"

namespace cachemux::redis {

namespace {

enum Phase : std::uint8_t { kHeader = 0, kBulk };

// Only the top-level array's elements are records, so nesting below it is
// one count, not a stack: the values still to read before the current
// element is complete. An array header inside the element takes one value's
// place and adds its own elements. So the state is the same few bytes at any
// depth (a 20-level EVAL reply, twemproxy issue 323), and no depth limit is
// needed.
struct State {
    std::uint8_t phase;
    bool in_array;                 // the reply is an array and its elements are being read
    bool any_value;                // a top-level element that is not nil was read
    std::uint64_t top_pending;     // elements of the top-level array still to read
    std::uint64_t nested_pending;  // values still to read inside the current element (0: between elements)
    std::uint64_t remaining;       // bulk bytes (with CRLF) still to skip
    std::uint64_t element_begin;   // offset of the current top-level element
};

// More values outstanding than any server could send in a lifetime: a
// hostile server's "*4294967295" repeated, refused before the count wraps.
constexpr std::uint64_t kMaxPending = std::uint64_t{1} << 62;
static_assert(sizeof(State) <= abi::kParserStateSize);

}  // namespace

abi::ParseResult parse_response(abi::ParserState& raw, const char* data, std::size_t size, abi::ResponseInfo& info,
                                abi::ResponseSink& sink) {
    State s;
    std::memcpy(&s, raw.bytes, sizeof(s));
    const std::uint64_t base = sink.offset();
    std::size_t pos = 0;

    // A value (of any type; `nil`: "$-1" or "*-1") is complete. Returns
    // true when the whole reply is.
    auto value_done = [&](bool nil) {
        if (!s.in_array) {
            info.is_miss = nil;  // the reply was this one value
            return true;
        }
        if (s.nested_pending > 0) {
            if (--s.nested_pending > 0) {
                return false;  // inside an element still
            }
            nil = false;  // the element was an array, of nils or not
        }
        s.any_value |= !nil;
        sink.record(s.element_begin, base + pos, {nullptr, 0}, nil);
        if (--s.top_pending == 0) {
            info.is_miss = !s.any_value;
            return true;
        }
        s.element_begin = base + pos;
        return false;
    };

    while (pos < size) {
        if (s.phase == kBulk) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, size - pos));
            pos += n;
            s.remaining -= n;
            if (s.remaining > 0) {
                break;
            }
            s.phase = kHeader;
            if (value_done(false)) {
                return {abi::ParseStatus::Done, pos};
            }
            continue;
        }
        const char* nl = static_cast<const char*>(std::memchr(data + pos, '\n', size - pos));
        if (nl == nullptr) {
            break;  // the line must arrive whole
        }
        std::size_t end = static_cast<std::size_t>(nl - data);
        if (end == pos || data[end - 1] != '\r') {
            return {abi::ParseStatus::Error, pos};
        }
        char type = data[pos];
        std::string_view rest(data + pos + 1, end - 1 - (pos + 1));
        std::size_t line_start = pos;
        pos = end + 1;
        if (!s.in_array) {
            info.is_error = type == '-';
            info.is_integer = type == ':';
        }
        std::int64_t n = 0;
        bool nil = false;
        switch (type) {
        case '+':
        case '-':
            break;
        case ':':
            if (!parse_int64(rest, &n)) return {abi::ParseStatus::Error, line_start};
            if (!s.in_array) info.integer = n;
            break;
        case '$':
            if (!parse_int64(rest, &n) || n < -1) return {abi::ParseStatus::Error, line_start};
            if (n >= 0) {
                s.phase = kBulk;
                s.remaining = static_cast<std::uint64_t>(n) + 2;
                continue;
            }
            nil = true;  // null bulk
            break;
        case '*':
            if (!parse_int64(rest, &n) || n < -1) return {abi::ParseStatus::Error, line_start};
            // pending[] counts in 32 bits: a larger count (no redis sends
            // one) is refused rather than truncated, which made "*4294967297"
            // an array of 1 element (found by fuzz/redis_response).
            if (n > static_cast<std::int64_t>(UINT32_MAX)) return {abi::ParseStatus::Error, line_start};
            if (n > 0) {
                const auto count = static_cast<std::uint64_t>(n);
                if (!s.in_array) {
                    s.in_array = true;
                    s.top_pending = count;
                    s.element_begin = base + pos;
                } else if (s.nested_pending == 0) {
                    s.nested_pending = count;  // a top-level element that is an array
                } else if (s.nested_pending + count > kMaxPending) {
                    return {abi::ParseStatus::Error, line_start};
                } else {
                    s.nested_pending += count - 1;  // this header was one of the values awaited
                }
                continue;
            }
            nil = n < 0;  // a null array; an empty one is a value
            break;
        default:
            return {abi::ParseStatus::Error, line_start};
        }
        if (value_done(nil)) {
            return {abi::ParseStatus::Done, pos};
        }
    }
    std::memcpy(raw.bytes, &s, sizeof(s));
    return {abi::ParseStatus::Again, pos};
}

}  // namespace cachemux::redis
