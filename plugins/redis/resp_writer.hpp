// RESP2 pieces for the replies the plugin writes itself: headers and small
// values copied into the core's buffers, constant text referenced.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string_view>

#include "cachemux/protocol_abi.hpp"

namespace cachemux::redis::resp {

inline void header(abi::MessageWriter& out, char type, std::int64_t n) {
    char buf[32];
    int len = std::snprintf(buf, sizeof(buf), "%c%lld\r\n", type, static_cast<long long>(n));
    out.copy({buf, static_cast<std::size_t>(len)});
}

// "*<n>\r\n"
inline void array_header(abi::MessageWriter& out, std::uint64_t n) { header(out, '*', static_cast<std::int64_t>(n)); }
// "$<n>\r\n"
inline void bulk_header(abi::MessageWriter& out, std::uint64_t n) { header(out, '$', static_cast<std::int64_t>(n)); }
// ":<n>\r\n"
inline void integer(abi::MessageWriter& out, std::int64_t n) { header(out, ':', n); }

// A bulk string of bytes that do not outlive the call (copied).
inline void bulk(abi::MessageWriter& out, std::string_view s) {
    bulk_header(out, s.size());
    out.copy(s);
    out.literal("\r\n");
}

// A bulk string of the request's key (argument) number `index`, by reference.
inline void bulk_key(abi::MessageWriter& out, const abi::RequestView& request, std::uint32_t index) {
    bulk_header(out, request.keys[index].len);
    out.key(index);
    out.literal("\r\n");
}

inline void null_bulk(abi::MessageWriter& out) { out.literal("$-1\r\n"); }

// "-<text>\r\n" with copied text; line breaks become spaces, as redis makes
// them, so that text quoted from a request cannot end the line early.
inline void error(abi::MessageWriter& out, std::string_view text) {
    out.literal("-");
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || text[i] == '\r' || text[i] == '\n') {
            out.copy(text.substr(start, i - start));
            if (i < text.size()) out.literal(" ");
            start = i + 1;
        }
    }
    out.literal("\r\n");
}

}  // namespace cachemux::redis::resp
