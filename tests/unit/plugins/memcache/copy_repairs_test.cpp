// What the memcache protocol writes to repair a copy of a replicated pool:
// the invalidation of a key and the backfill of a hit, byte for byte, the
// value referenced from the hit's reply rather than copied.
#include <doctest/doctest.h>

#include "../bundled_protocol.hpp"
#include "../copy_repairs.hpp"

using namespace cachemux;
using test::backfill;
using test::invalidate;

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
