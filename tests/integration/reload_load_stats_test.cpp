// The stats JSON across SIGUSR1 reloads: a surviving server's counters carry
// on (exactly, when quiet; never dropping, under load), a new server or pool
// appears at 0, a removed one disappears.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "backend_servers.hpp"
#include "harness.hpp"
#include "load.hpp"
#include "reloader.hpp"
#include "stats_flat.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// The stats JSON's numbers by path: "pool/server/metric" -> value.
using Numbers = std::map<std::string, long long>;

Numbers stats(int stats_port) { return stats_numbers(flatten_stats(stats_json(stats_port))); }

// Counters only (uptime and timestamp tick by themselves).
Numbers counters_of(Numbers f) {
    f.erase("uptime");
    f.erase("timestamp");
    return f;
}

// The stats once two reads in a row agree (the proxy may publish its
// counters a moment after the traffic), bounded.
Numbers settled_stats(int stats_port) {
    Numbers last = stats(stats_port);
    for (auto deadline = Clock::now() + 5s; Clock::now() < deadline;) {
        std::this_thread::sleep_for(150ms);
        Numbers now = stats(stats_port);
        if (counters_of(now) == counters_of(last)) return now;
        last = std::move(now);
    }
    return last;
}

long long get_or(const Numbers& f, const std::string& k, long long fallback = -1) {
    auto it = f.find(k);
    return it == f.end() ? fallback : it->second;
}

bool has_prefix(const Numbers& f, const std::string& prefix) {
    auto it = f.lower_bound(prefix);
    return it != f.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

long long requests_of(const Numbers& f, const std::string& server) { return get_or(f, "st/" + server + "/requests"); }

// A: pool "st" on s1, s2. B: s3 added, and a pool "tmp" (t1, on s1's
// memcached) on a port of its own.
struct Configs {
    std::vector<PoolSpec> a, b;
    int tmp_port = 0;
};

Configs configs_of(const Proxy& proxy, const BackendServers& mcb) {
    Configs c;
    c.a = proxy.pools();
    c.b = c.a;
    c.b[0].servers = mcb.specs(0, 3, "s");
    PoolSpec tmp;
    tmp.name = "tmp";
    tmp.servers = mcb.specs(0, 1, "t");
    tmp.port = c.tmp_port = free_port();
    c.b.push_back(tmp);
    return c;
}

// n sets through `c`, each answered STORED.
void traffic(Connection& c, const std::string& prefix, int n) {
    std::string batch;
    for (int i = 0; i < n; ++i) batch += mc::set(prefix + std::to_string(i), "x");
    c.send_all(batch);
    for (int i = 0; i < n; ++i) REQUIRE(c.read_mc_reply() == "STORED\r\n");
}

// A to B and back with no traffic across the reloads: exact numbers.
void quiet_round(int round, Reloader& reloader, const Configs& cf, Connection& c, int sp) {
    CAPTURE(round);
    Numbers before = settled_stats(sp);
    REQUIRE(reloader.reload(cf.b).empty());
    Numbers s1 = settled_stats(sp);
    // Survivors carry on exactly (no traffic since), the new ones start at 0
    // (s3 and tmp were there in round 0 already, with requests: not carried).
    CHECK(requests_of(s1, "s1") == requests_of(before, "s1"));
    CHECK(requests_of(s1, "s2") == requests_of(before, "s2"));
    CHECK(get_or(s1, "st/s1/responses") == get_or(before, "st/s1/responses"));
    CHECK(get_or(s1, "st/s2/request_bytes") == get_or(before, "st/s2/request_bytes"));
    CHECK(get_or(s1, "st/client_connections") == get_or(before, "st/client_connections"));
    CHECK(get_or(s1, "st/client_eof") == get_or(before, "st/client_eof"));
    CHECK(requests_of(s1, "s3") == 0);
    CHECK(get_or(s1, "st/s3/responses") == 0);
    CHECK(get_or(s1, "tmp/client_connections") == 0);
    CHECK(get_or(s1, "tmp/t1/requests") == 0);

    traffic(c, "q2:" + std::to_string(round) + ":", 60);
    Connection tc(cf.tmp_port, 1000ms);
    for (int i = 0; i < 5; ++i) REQUIRE(tc.mc(mc::set("t" + std::to_string(i), "y")) == "STORED\r\n");
    Numbers s2 = settled_stats(sp);
    CHECK(requests_of(s2, "s3") > 0);
    CHECK(requests_of(s2, "s1") >= requests_of(s1, "s1"));
    CHECK(requests_of(s2, "s2") >= requests_of(s1, "s2"));
    CHECK(requests_of(s2, "s1") + requests_of(s2, "s2") + requests_of(s2, "s3") ==
          requests_of(s1, "s1") + requests_of(s1, "s2") + 60);
    CHECK(get_or(s2, "tmp/t1/requests") == 5);
    CHECK(get_or(s2, "tmp/client_connections") == 1);

    REQUIRE(reloader.reload(cf.a).empty());
    CHECK(tc.wait_closed(2000ms));  // tmp's client goes with tmp
    Numbers s3 = settled_stats(sp);
    CHECK(requests_of(s3, "s1") == requests_of(s2, "s1"));
    CHECK(requests_of(s3, "s2") == requests_of(s2, "s2"));
    CHECK(!has_prefix(s3, "st/s3/"));
    CHECK(!has_prefix(s3, "tmp/"));
}

// What sampling the stats under load across reloads saw.
struct Samples {
    std::uint64_t count = 0;
    std::string dropped;  // the first counter seen to go down
    bool s3_seen = false;
};

// 6 reloads, A and B in turn, the stats sampled for 300 ms after each: the
// survivors' requests never drop, whatever the moment.
Samples sample_across_reloads(Reloader& reloader, const Configs& cf, int sp) {
    Samples out;
    std::map<std::string, long long> last;  // per server: the highest value seen
    for (int i = 1; i <= 6; ++i) {
        const bool to_b = i % 2 == 1;
        REQUIRE(reloader.reload(to_b ? cf.b : cf.a).empty());
        if (!to_b) last.erase("s3");
        for (auto until = Clock::now() + 300ms; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
            Numbers f = stats(sp);
            ++out.count;
            for (const std::string s : {"s1", "s2", "s3"}) {
                long long v = requests_of(f, s);
                if (v < 0) continue;  // not in this config (s3 under A)
                if (s == "s3") out.s3_seen = true;
                auto it = last.find(s);
                if (it != last.end() && v < it->second && out.dropped.empty())
                    out.dropped = s + " requests dropped from " + std::to_string(it->second) + " to " +
                                  std::to_string(v) + " (after reload " + std::to_string(i) + ")";
                last[s] = std::max(v, it == last.end() ? v : it->second);
            }
        }
    }
    return out;
}

}  // namespace

TEST_CASE("reload_load: stats counters carry on across reloads; new servers and pools start at 0, removed ones go" *
          doctest::test_suite("reload_load")) {
    BackendServers mcb(Protocol::Memcache, 3);
    PoolSpec st;
    st.name = "st";
    st.servers = mcb.specs(0, 2, "s");
    st.set("hash", "md5").set("distribution", "ketama");
    Proxy proxy(ProxyKind::Cachemux, {st});
    const int sp = proxy.stats_port();
    const Configs cf = configs_of(proxy, mcb);
    Reloader reloader(proxy);

    // --- quiet: exact numbers
    Connection c(proxy.port());
    traffic(c, "q1:", 40);
    Numbers s0 = settled_stats(sp);
    CHECK(requests_of(s0, "s1") > 0);
    CHECK(requests_of(s0, "s2") > 0);
    CHECK(requests_of(s0, "s1") + requests_of(s0, "s2") == 40);
    CHECK(!has_prefix(s0, "st/s3/"));
    CHECK(!has_prefix(s0, "tmp/"));
    for (int round = 0; round < 2; ++round) quiet_round(round, reloader, cf, c, sp);

    // --- under load: the survivors' counters never drop, whatever the moment.
    load::Options lo;
    lo.port = proxy.port();
    lo.clients = 3;
    lo.window = 8;
    lo.pause = 1ms;
    lo.max_duration = 20s;
    lo.tag = "S";
    load::Load load(lo);
    load.start();
    std::this_thread::sleep_for(200ms);
    const Samples samples = sample_across_reloads(reloader, cf, sp);
    const auto& results = load.stop();
    CHECK_MESSAGE(samples.dropped.empty(), samples.dropped);
    CHECK(samples.s3_seen);
    CHECK(samples.count >= 12);
    bool clean = true;
    std::uint64_t errors = 0;
    for (const auto& r : results) {
        clean = clean && r.failure.empty() && r.replies == r.sent && !r.closed_by_proxy && r.sent > 100;
        errors += r.errors;
    }
    CHECK_MESSAGE(clean, load::summary(results));
    CHECK_MESSAGE(errors == 0, load::summary(results));
    MESSAGE("stats under load: " << samples.count << " samples over 6 reloads\n" << load::summary(results));
    CHECK(reloader.done() == 10);
}
