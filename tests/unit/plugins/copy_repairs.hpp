// What a protocol writes to repair a copy of a replicated pool, as text:
// the helpers of the memcache and redis copy_repairs tests.
#pragma once

#include <doctest/doctest.h>

#include <span>
#include <string>
#include <string_view>

#include "../../fuzz/harness/stream.hpp"
#include "cachemux/protocol_abi.hpp"

namespace cachemux::test {

inline abi::KeyRef key_of(std::string_view k) { return {k.data(), static_cast<std::uint32_t>(k.size())}; }

// write_backfill of `reply` (fragment 1 of a unit: the second attempt) and
// what it wrote; "" when it declined.
inline std::string backfill(const abi::Protocol& p, std::string_view key, std::string_view reply,
                            std::uint32_t ttl) {
    std::string_view replies[] = {"", reply};
    fuzz::StringWriter out{std::span<const std::string_view>(replies)};
    bool wrote = p.write_backfill(key_of(key), reply, 1, ttl, out);
    CHECK(wrote == !out.out.empty());
    return out.out;
}

inline std::string invalidate(const abi::Protocol& p, std::string_view key) {
    fuzz::StringWriter out;
    p.write_invalidate(key_of(key), out);
    return out.out;
}

}  // namespace cachemux::test
