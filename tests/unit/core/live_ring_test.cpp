// LiveRing: one ejection and one rejoin for every worker. Threads here play
// the workers, calling in at once; whatever the interleaving, a server is
// ejected once, the ring is published once per change, and a rejoin with
// flush_on_rejoin hands out one probe.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "routing/live_ring.hpp"

using namespace cachemux;

namespace {

std::shared_ptr<const ServerPool> pool_with(const std::string& extra, int nservers) {
    static PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    std::string yaml = "p:\n  listen: 127.0.0.1:22121\n  distribution: modula\n  hash: fnv1a_64\n" + extra +
                       "  servers:\n";
    for (int i = 0; i < nservers; ++i) {
        yaml += "   - 127.0.0.1:" + std::to_string(31000 + i) + ":1\n";
    }
    return ServerPool::build(parse_config(yaml, "test.yml").pools.at(0), registry, "test.yml");
}

// Which servers the published ring routes 200 keys to.
std::vector<bool> routed_to(const LiveRing& ring) {
    std::uint64_t generation = 0;
    auto pool = ring.current(generation);
    std::vector<bool> used(pool->servers().size(), false);
    for (int i = 0; i < 200; ++i) {
        std::string key = "key" + std::to_string(i);
        used[pool->server_for_key(key.data(), key.size())] = true;
    }
    return used;
}

// `threads` threads each call `fn(thread)` at the same moment.
template <typename Fn>
void all_at_once(int threads, Fn fn) {
    std::atomic<int> ready{0};
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
        running.emplace_back([&, t] {
            ready.fetch_add(1);
            while (ready.load() < threads) {
            }
            fn(t);
        });
    }
    for (auto& t : running) t.join();
}

}  // namespace

TEST_CASE("live ring: failures from every worker add up, and the limit ejects once") {
    LiveRing ring(pool_with("  auto_eject_hosts: true\n  server_failure_limit: 3\n  server_retry_timeout: 1000\n", 3));
    const std::uint64_t start = ring.generation();
    for (int round = 0; round < 20; ++round) {
        // 8 workers fail server 1 at once, 3 times each: one of them ejects it.
        std::atomic<int> ejections{0};
        all_at_once(8, [&](int) {
            std::vector<std::uint32_t> probe;
            for (int i = 0; i < 3; ++i) ejections += ring.failed(1, 1000 * round, probe);
            CHECK(probe.empty());
        });
        CHECK(ejections == 1);
        CHECK(routed_to(ring) == std::vector<bool>{true, false, true});
        CHECK(ring.any_ejected());
        // Due after the retry timeout; the first worker to route lets it back.
        CHECK_FALSE(ring.rejoin_due(1000 * round + 1000));
        CHECK(ring.rejoin_due(1000 * round + 1001));
        std::vector<std::uint32_t> probe;
        ring.rejoin(1000 * round + 1001, probe);
        CHECK(probe.empty());
        CHECK_FALSE(ring.any_ejected());
        CHECK(routed_to(ring) == std::vector<bool>{true, true, true});
    }
    CHECK(ring.generation() == start + 40);  // one ring per ejection, one per rejoin
}

TEST_CASE("live ring: an answer in any worker resets the count; steady answers write nothing") {
    LiveRing ring(pool_with("  auto_eject_hosts: true\n  server_failure_limit: 2\n", 2));
    std::vector<std::uint32_t> probe;
    CHECK_FALSE(ring.failed(0, 0, probe));
    ring.answered(0);  // another worker's answer
    CHECK_FALSE(ring.failed(0, 0, probe));
    CHECK(ring.failed(0, 0, probe));
    // Answers from every thread at once, with no failure counted: no change.
    const std::uint64_t generation = ring.generation();
    all_at_once(4, [&](int) {
        for (int i = 0; i < 10000; ++i) ring.answered(1);
    });
    CHECK(ring.generation() == generation);
}

TEST_CASE("live ring: flush_on_rejoin hands out one probe, whoever routes first") {
    LiveRing ring(pool_with(
        "  auto_eject_hosts: true\n  server_failure_limit: 1\n  server_retry_timeout: 500\n  flush_on_rejoin: true\n",
        3));
    std::vector<std::uint32_t> none;
    REQUIRE(ring.failed(2, 0, none));
    std::atomic<int> probes{0};
    all_at_once(8, [&](int) {
        if (ring.rejoin_due(501)) {
            std::vector<std::uint32_t> probe;
            ring.rejoin(501, probe);
            probes += static_cast<int>(probe.size());
        }
    });
    CHECK(probes == 1);
    CHECK(routed_to(ring) == std::vector<bool>{true, true, false});  // off the ring until flushed
    // A failed probe keeps it out for another retry timeout; a good one lets it in.
    CHECK_FALSE(ring.probe_done(2, false, 600, none));
    CHECK_FALSE(ring.rejoin_due(1100));
    CHECK(ring.rejoin_due(1101));
    std::vector<std::uint32_t> probe;
    ring.rejoin(1101, probe);
    REQUIRE(probe == std::vector<std::uint32_t>{2});
    CHECK(ring.probe_done(2, true, 1200, none));
    CHECK(routed_to(ring) == std::vector<bool>{true, true, true});
}

TEST_CASE("live ring: without auto_eject_hosts nothing leaves the ring") {
    LiveRing ring(pool_with("  server_failure_limit: 1\n", 2));
    std::vector<std::uint32_t> probe;
    for (int i = 0; i < 10; ++i) CHECK_FALSE(ring.failed(0, 0, probe));
    CHECK(ring.generation() == 0);
    CHECK(routed_to(ring) == std::vector<bool>{true, true});
}

TEST_CASE("live_ring: a reload's ring keeps a kept server's ejection, and only its") {
    const std::string eject = "  auto_eject_hosts: true\n  server_failure_limit: 1\n  server_retry_timeout: 60000\n";
    LiveRing before(pool_with(eject, 3));
    std::vector<std::uint32_t> probes;
    REQUIRE(before.failed(1, 1000, probes));
    REQUIRE(routed_to(before) == std::vector<bool>{true, false, true});

    // The new pool has four servers; its server 2 is the old server 1, its
    // server 0 the old 0; the rest are new.
    LiveRing after(pool_with(eject, 4));
    after.inherit(before, {0, kNoMatch, 1, kNoMatch});
    CHECK(routed_to(after) == std::vector<bool>{true, true, false, true});
    CHECK(after.any_ejected());
    CHECK_FALSE(after.rejoin_due(1000 + 59999));
    CHECK(after.rejoin_due(1000 + 60001));

    // A pool that no longer ejects keeps every server on its ring.
    LiveRing no_eject(pool_with("", 3));
    no_eject.inherit(before, {0, 1, 2});
    CHECK(routed_to(no_eject) == std::vector<bool>{true, true, true});
    CHECK_FALSE(no_eject.any_ejected());
}
