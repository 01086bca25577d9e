// flush_on_rejoin (cachemux's own pool option): a memcached server that was
// ejected while its keys were written elsewhere must not serve its old
// values when it rejoins. Without the option (nutcracker's behaviour, and
// the default) it does: the stale read this option exists to prevent.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <thread>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

struct RejoinReads {
    bool stale_seen = false;            // some read returned the value from before the ejection
    std::vector<std::string> settled;   // each key's read once the server rejoined: "old", "new" or "miss"
};

// Two memcached servers; the keys of the first are written "old", the server
// is stopped until it is ejected, the keys are written "new" (they land on
// the other server), then it resumes and rejoins after the retry timeout.
RejoinReads stale_reads_after_rejoin(ProxyKind kind, bool flush_on_rejoin, std::vector<std::string>* rejoined_keys,
                                     int* rejoined_port) {
    PoolSpec pool;
    pool.set("auto_eject_hosts", "true").set("server_failure_limit", "1").set("server_retry_timeout", "1000");
    pool.set("timeout", "300");
    if (flush_on_rejoin) pool.set("flush_on_rejoin", "true");
    ProxiedMemcached px(kind, 2, pool);
    Connection c(px.port());

    const auto keys = make_keys(300, 77, KeyOptions{.prefix = "", .high_bytes = false, .max_len = 60});
    std::string batch;
    for (const auto& k : keys) batch += mc::set(k, "old");
    c.send_all(batch);
    for (std::size_t i = 0; i < keys.size(); ++i) REQUIRE(c.read_mc_reply() == "STORED\r\n");

    MemcachedServer& a = *px.backends[0];
    std::vector<std::string> a_keys;
    auto held = mc::holds_many(a.port(), keys);
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (held[i]) a_keys.push_back(keys[i]);
    REQUIRE(a_keys.size() > 20);

    // Stopped, a read times out, which ejects it. (Not a write: a stopped
    // memcached still executes what waits in its socket when it resumes.)
    freeze(a.process());
    CHECK(c.mc(mc::get({a_keys[0]}), 3000ms) == "SERVER_ERROR Connection timed out\r\n");
    // The new values land on the other server.
    bool all_stored = false;
    for (int round = 0; round < 20 && !all_stored; ++round) {
        batch.clear();
        for (const auto& k : a_keys) batch += mc::set(k, "new");
        c.send_all(batch);
        all_stored = true;
        for (std::size_t i = 0; i < a_keys.size(); ++i) all_stored = c.read_mc_reply() == "STORED\r\n" && all_stored;
    }
    REQUIRE_MESSAGE(all_stored, "the stopped server was never ejected");
    a.process().signal(SIGCONT);
    std::this_thread::sleep_for(1100ms);

    // Reads until every key reads from the rejoined server (not "new").
    RejoinReads reads;
    batch = mc::get(a_keys);
    for (auto deadline = Clock::now() + 5s; Clock::now() < deadline; std::this_thread::sleep_for(50ms)) {
        c.send_all(batch);
        auto items = mc::parse_values(c.read_mc_reply());
        std::map<std::string, std::string> got;
        for (auto& item : items) got[item.key] = item.data;
        reads.settled.clear();
        bool rejoined = true;
        for (const auto& k : a_keys) {
            auto it = got.find(k);
            std::string v = it == got.end() ? "miss" : it->second;
            reads.stale_seen = reads.stale_seen || v == "old";
            rejoined = rejoined && v != "new";
            reads.settled.push_back(v);
        }
        if (rejoined) break;
    }
    if (rejoined_keys) *rejoined_keys = a_keys;
    if (rejoined_port) *rejoined_port = a.port();
    if (flush_on_rejoin) {
        // Flushed before it took traffic: nothing of the old values is left on it.
        for (const auto& k : a_keys) CHECK_MESSAGE(!mc::get_direct(a.port(), k), "key " << k << " survived the flush");
    }
    return reads;
}

std::size_t count(const std::vector<std::string>& values, const std::string& v) {
    return static_cast<std::size_t>(std::count(values.begin(), values.end(), v));
}

void rejoin_serves_stale_values(ProxyKind kind) {
    RejoinReads reads = stale_reads_after_rejoin(kind, false, nullptr, nullptr);
    // nutcracker's behaviour, kept by default: the old values come back.
    CHECK(reads.stale_seen);
    CHECK(count(reads.settled, "old") == reads.settled.size());
}

}  // namespace

HARNESS_PROXY_TEST("memcache: by default a rejoining server serves the values it held", rejoin_serves_stale_values)

HARNESS_CACHEMUX_TEST("memcache: flush_on_rejoin empties a rejoining server before it takes traffic") {
    RejoinReads reads = stale_reads_after_rejoin(ProxyKind::Cachemux, true, nullptr, nullptr);
    CHECK_FALSE(reads.stale_seen);
    CHECK(count(reads.settled, "miss") == reads.settled.size());
}

HARNESS_CACHEMUX_TEST("flush_on_rejoin is refused on a redis pool, naming the file, line and key") {
    std::string conf;
    auto r = run_proxy_once(ProxyKind::Cachemux,
                            "cache:\n  listen: 127.0.0.1:1\n  redis: true\n  auto_eject_hosts: true\n"
                            "  flush_on_rejoin: true\n  servers:\n   - 127.0.0.1:6379:1\n",
                            {"-t"}, 10000ms, &conf);
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(r.output.find(conf + ":5: pool 'cache': key 'flush_on_rejoin': is refused on a redis pool") !=
                      std::string::npos,
                  r.output);
}
