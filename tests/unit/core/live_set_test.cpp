#include <doctest/doctest.h>

#include "routing/live_set.hpp"

using namespace cachemux;

namespace {

PoolConfig ejecting(int failure_limit, int retry_ms) {
    PoolConfig c;
    c.auto_eject_hosts = true;
    c.server_failure_limit = failure_limit;
    c.server_retry_timeout_ms = retry_ms;
    return c;
}

// live() where no probe is expected.
std::vector<bool> on_ring(LiveSet& live, std::int64_t now_ms) {
    std::vector<std::uint32_t> probe;
    std::vector<bool> ring = live.live(now_ms, probe);
    CHECK(probe.empty());
    return ring;
}

}  // namespace

TEST_CASE("a server is ejected after server_failure_limit failures in a row") {
    LiveSet live(3, ejecting(2, 1000));
    CHECK_FALSE(live.failed(1, 0));
    live.answered(1);  // an answer resets the count
    CHECK_FALSE(live.failed(1, 10));
    CHECK(live.failed(1, 20));
    CHECK(on_ring(live, 20) == std::vector<bool>{true, false, true});
    CHECK(live.any_ejected());
    CHECK_FALSE(live.failed(1, 30));  // already out: no second ejection
}

TEST_CASE("an ejected server rejoins after server_retry_timeout") {
    LiveSet live(2, ejecting(1, 1000));
    REQUIRE(live.failed(0, 5000));
    CHECK(on_ring(live, 5000) == std::vector<bool>{false, true});
    CHECK_FALSE(live.rejoin_due(6000));
    CHECK(live.rejoin_due(6001));
    CHECK(on_ring(live, 6001) == std::vector<bool>{true, true});
    CHECK_FALSE(live.any_ejected());
    // Tried again: one more failure puts it out again.
    CHECK(live.failed(0, 6002));
}

TEST_CASE("without auto_eject_hosts nothing is ever ejected") {
    PoolConfig c = ejecting(1, 1000);
    c.auto_eject_hosts = false;
    LiveSet live(2, c);
    for (int i = 0; i < 10; ++i) CHECK_FALSE(live.failed(0, i));
    CHECK(on_ring(live, 100) == std::vector<bool>{true, true});
}

TEST_CASE("flush_on_rejoin: a server rejoins only once its probe succeeded") {
    PoolConfig c = ejecting(1, 1000);
    c.flush_on_rejoin = true;
    LiveSet live(3, c);
    REQUIRE(live.failed(2, 5000));
    CHECK(on_ring(live, 5500) == std::vector<bool>{true, true, false});
    REQUIRE(live.rejoin_due(6001));

    std::vector<std::uint32_t> probe;
    CHECK(live.live(6001, probe) == std::vector<bool>{true, true, false});  // still out while probed
    CHECK(probe == std::vector<std::uint32_t>{2});
    CHECK_FALSE(live.any_ejected());     // nothing left to time: the probe decides
    CHECK_FALSE(live.failed(2, 6002));   // the probe's own failure is reported by probe_done
    CHECK(on_ring(live, 6003) == std::vector<bool>{true, true, false});

    // A failed probe: out for another retry timeout, then probed again.
    CHECK_FALSE(live.probe_done(2, false, 6010));
    CHECK(live.any_ejected());
    CHECK_FALSE(live.rejoin_due(7010));
    probe.clear();
    CHECK(live.live(7011, probe) == std::vector<bool>{true, true, false});
    CHECK(probe == std::vector<std::uint32_t>{2});

    // A successful one: back on the ring, failures counted afresh.
    CHECK(live.probe_done(2, true, 7020));
    CHECK(on_ring(live, 7020) == std::vector<bool>{true, true, true});
    CHECK_FALSE(live.probe_done(2, true, 7021));  // a stray second answer changes nothing
    CHECK(live.failed(2, 7030));
}
