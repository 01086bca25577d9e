#include <doctest/doctest.h>

#include "live_set.hpp"

using namespace cachemux;

namespace {

PoolConfig ejecting(int failure_limit, int retry_ms) {
    PoolConfig c;
    c.auto_eject_hosts = true;
    c.server_failure_limit = failure_limit;
    c.server_retry_timeout_ms = retry_ms;
    return c;
}

}  // namespace

TEST_CASE("a server is ejected after server_failure_limit failures in a row") {
    LiveSet live(3, ejecting(2, 1000));
    CHECK_FALSE(live.failed(1, 0));
    live.answered(1);  // an answer resets the count
    CHECK_FALSE(live.failed(1, 10));
    CHECK(live.failed(1, 20));
    CHECK(live.live(20) == std::vector<bool>{true, false, true});
    CHECK(live.any_ejected());
    CHECK_FALSE(live.failed(1, 30));  // already out: no second ejection
}

TEST_CASE("an ejected server rejoins after server_retry_timeout") {
    LiveSet live(2, ejecting(1, 1000));
    REQUIRE(live.failed(0, 5000));
    CHECK(live.live(5000) == std::vector<bool>{false, true});
    CHECK_FALSE(live.rejoin_due(6000));
    CHECK(live.rejoin_due(6001));
    CHECK(live.live(6001) == std::vector<bool>{true, true});
    CHECK_FALSE(live.any_ejected());
    // Tried again: one more failure puts it out again.
    CHECK(live.failed(0, 6002));
}

TEST_CASE("without auto_eject_hosts nothing is ever ejected") {
    PoolConfig c = ejecting(1, 1000);
    c.auto_eject_hosts = false;
    LiveSet live(2, c);
    for (int i = 0; i < 10; ++i) CHECK_FALSE(live.failed(0, i));
    CHECK(live.live(100) == std::vector<bool>{true, true});
}
