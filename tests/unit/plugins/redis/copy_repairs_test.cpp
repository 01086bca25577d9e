// What the redis protocol writes to repair a copy of a replicated pool:
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

TEST_CASE("redis: a copy is repaired with DEL, and backfilled with SET NX and an expiry") {
    const abi::Protocol& redis = test::bundled_protocol("redis");
    CHECK(invalidate(redis, "k") == "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n");
    const std::string set = "*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n$2\r\nEX\r\n$3\r\n300\r\n$2\r\nNX\r\n";
    CHECK(backfill(redis, "k", "$5\r\nvalue\r\n", 300) == set);
    CHECK(backfill(redis, "k", "*1\r\n$5\r\nvalue\r\n", 300) == set);  // a one-key MGET's
    CHECK(backfill(redis, "k", "$0\r\n\r\n", 9) ==
          "*6\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n$2\r\nEX\r\n$1\r\n9\r\n$2\r\nNX\r\n");
    CHECK(backfill(redis, "k", "$-1\r\n", 300).empty());
    CHECK(backfill(redis, "k", "*1\r\n$-1\r\n", 300).empty());
    CHECK(backfill(redis, "k", "-ERR wrong\r\n", 300).empty());
    CHECK(backfill(redis, "k", "$9\r\nvalue\r\n", 300).empty());
}
