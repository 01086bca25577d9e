// What the redis protocol writes to repair a copy of a replicated pool:
// the invalidation of a key and the backfill of a hit, byte for byte, the
// value referenced from the hit's reply rather than copied.
#include <doctest/doctest.h>

#include "../bundled_protocol.hpp"
#include "../copy_repairs.hpp"

using namespace cachemux;
using test::backfill;
using test::invalidate;

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

TEST_CASE("redis: what the primary alone ran (SPOP, GETDEL, EVAL) costs the other copies the key") {
    const abi::Protocol& redis = test::bundled_protocol("redis");
    CHECK(test::followup_kind(redis, "*2\r\n$4\r\nSPOP\r\n$1\r\ns\r\n", "$1\r\na\r\n") == abi::Followup::Invalidate);
    CHECK(test::followup_kind(redis, "*2\r\n$6\r\nGETDEL\r\n$1\r\nk\r\n", "$-1\r\n") == abi::Followup::Invalidate);
}
