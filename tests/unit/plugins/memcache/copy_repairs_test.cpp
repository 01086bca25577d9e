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

TEST_CASE("memcache: a stored cas reaches the other copies as a set of its item; a refused one, nothing") {
    const abi::Protocol& mc = test::bundled_protocol("memcache");
    for (const std::string request : {std::string("cas k 5 60 3 77\r\nabc\r\n"), std::string("cas k 5 60 3 77 noreply\r\nabc\r\n")}) {
        CAPTURE(request);
        CHECK(test::followup(mc, request, "STORED\r\n") == "set k 5 60 3\r\nabc\r\n");
        CHECK(test::followup(mc, request, "EXISTS\r\n").empty());
        CHECK(test::followup(mc, request, "NOT_FOUND\r\n").empty());
    }
    CHECK(test::followup_kind(mc, "cas k 5 60 3 77\r\nabc\r\n", "EXISTS\r\n") == abi::Followup::Nothing);
    CHECK(test::followup_kind(mc, "cas k 5 60 3 77\r\nabc\r\n", "SERVER_ERROR out of memory\r\n") ==
          abi::Followup::Invalidate);
}
