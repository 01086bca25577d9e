// What the memcache protocol writes to repair a copy of a replicated pool:
// the invalidation of a key and the backfill of a hit, byte for byte, the
// value referenced from the hit's reply rather than copied.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "../../../../fuzz/harness/stream.hpp"
#include "../bundled_protocol.hpp"

using namespace cachemux;

namespace {

abi::KeyRef key_of(std::string_view k) { return {k.data(), static_cast<std::uint32_t>(k.size())}; }

// write_backfill of `reply` (fragment 1 of a unit: the second attempt) and
// what it wrote; "" when it declined.
std::string backfill(const abi::Protocol& p, std::string_view key, std::string_view reply, std::uint32_t ttl) {
    std::string_view replies[] = {"", reply};
    fuzz::StringWriter out{std::span<const std::string_view>(replies)};
    bool wrote = p.write_backfill(key_of(key), reply, 1, ttl, out);
    CHECK(wrote == !out.out.empty());
    return out.out;
}

std::string invalidate(const abi::Protocol& p, std::string_view key) {
    fuzz::StringWriter out;
    p.write_invalidate(key_of(key), out);
    return out.out;
}

}  // namespace

TEST_CASE("memcache: a copy is repaired with delete, and backfilled with add, the flags kept") {
    const abi::Protocol& mc = test::bundled_protocol("memcache");
    CHECK(invalidate(mc, "user:1") == "delete user:1\r\n");
    CHECK(backfill(mc, "k", "VALUE k 5 5\r\nvalue\r\nEND\r\n", 300) == "add k 5 300 5\r\nvalue\r\n");
    // A gets reply's cas token is not carried; data with CRLF inside is sized, not scanned.
    CHECK(backfill(mc, "k", "VALUE k 0 4 77\r\na\r\nb\r\nEND\r\n", 60) == "add k 0 60 4\r\na\r\nb\r\n");
    CHECK(backfill(mc, "k", "END\r\n", 60).empty());
    CHECK(backfill(mc, "k", "VALUE other 0 1\r\nx\r\nEND\r\n", 60).empty());
    CHECK(backfill(mc, "k", "VALUE k 0 9\r\nshort\r\n", 60).empty());  // cut short
    CHECK(backfill(mc, "k", "SERVER_ERROR out of memory\r\n", 60).empty());
}
