// replicas: (cachemux's own pool key) on memcached: every key on one server
// of each copy, placed as nutcracker places it on that copy's servers;
// writes reach every live copy, reads fail over, an ejected copy is
// skipped and never rehashed, and copies that disagree are invalidated.
#include <doctest/doctest.h>

#include <csignal>
#include <set>
#include <thread>

#include "backend_servers.hpp"
#include "backend_stats.hpp"
#include "harness.hpp"
#include "settle.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// A pool of two copies over `b`: servers [0, half) named a<i>, the rest b<i>.
PoolSpec two_copies(const BackendServers& b, std::size_t half) {
    PoolSpec pool;
    pool.servers = b.specs(0, half, "a");
    pool.set("hash", "fnv1a_64").set("distribution", "ketama").set("timeout", "500");
    std::string replicas = "\n   - servers:";
    for (const ServerSpec& s : b.specs(half, b.size(), "b")) replicas += "\n      - " + s.line();
    pool.set("replicas", replicas);
    return pool;
}

std::vector<std::string> plain_keys(std::size_t n, std::uint32_t seed) {
    return make_keys(n, seed, KeyOptions{.prefix = "", .high_bytes = false, .max_len = 60});
}

// The backend (an index into `b`) in [from, to) holding `key`, asked
// directly; -1 if none does, -2 if several do.
int holder_in(const BackendServers& b, std::size_t from, std::size_t to, const std::string& key) {
    int found = -1;
    for (std::size_t i = from; i < to; ++i) {
        if (mc::holds(b.port(i), key)) found = found == -1 ? static_cast<int>(i) : -2;
    }
    return found;
}

// A key whose copy-0 server is backend `a` (of two copies of two servers).
std::string key_on(const BackendServers& b, Connection& c, std::size_t a) {
    for (const std::string& k : plain_keys(200, 91)) {
        REQUIRE(c.mc(mc::set(k, "probe")) == "STORED\r\n");
        bool here = mc::holds(b.port(a), k);
        REQUIRE(c.mc("delete " + k + "\r\n") == "DELETED\r\n");
        if (here) return k;
    }
    FAIL("no key lands on backend " << a);
    return "";
}

}  // namespace

HARNESS_CACHEMUX_TEST("replicas: each copy places every key as nutcracker does on that copy's servers") {
    BackendServers b(Protocol::Memcache, 6);
    const auto keys = plain_keys(300, 17);
    std::vector<int> owner_a, owner_b;
    {
        PoolSpec a;
        a.servers = b.specs(0, 3, "a");
        a.set("hash", "fnv1a_64").set("distribution", "ketama");
        Proxy nc = start_proxy(ProxyKind::Nutcracker, a);
        owner_a = owners_via(b, nc.port(), keys);
    }
    {
        PoolSpec copy_b;
        copy_b.servers = b.specs(3, 6, "b");
        copy_b.set("hash", "fnv1a_64").set("distribution", "ketama");
        Proxy nc = start_proxy(ProxyKind::Nutcracker, copy_b);
        owner_b = owners_via(b, nc.port(), keys);
    }
    Proxy cm = start_proxy(ProxyKind::Cachemux, two_copies(b, 3));
    Connection c(cm.port());
    std::string batch;
    for (const auto& k : keys) batch += mc::set(k, "v-" + k);
    c.send_all(batch);
    for (std::size_t i = 0; i < keys.size(); ++i) REQUIRE(c.read_mc_reply() == "STORED\r\n");

    std::vector<std::vector<bool>> held;
    for (std::size_t i = 0; i < b.size(); ++i) held.push_back(b.holds_many(i, keys));
    std::size_t misplaced = 0;
    for (std::size_t j = 0; j < keys.size(); ++j) {
        REQUIRE(owner_a[j] >= 0);
        REQUIRE(owner_b[j] >= 3);
        std::set<int> holders;
        for (std::size_t i = 0; i < b.size(); ++i)
            if (held[i][j]) holders.insert(static_cast<int>(i));
        if (holders != std::set<int>{owner_a[j], owner_b[j]}) ++misplaced;
    }
    CHECK(misplaced == 0);
    // And every value reads back, in one multi-get, in request order.
    std::vector<std::string> some(keys.begin(), keys.begin() + 40);
    auto items = mc::parse_values(c.mc(mc::get(some)));
    REQUIRE(items.size() == some.size());
    for (std::size_t i = 0; i < some.size(); ++i) CHECK(items[i].key == some[i]);
}

// memcached 1.6's meta get, straight to a server: "VA 5 t299 f5" and the value.
std::string meta_get(int port, const std::string& key) {
    Connection c(port);
    c.send_all("mg " + key + " t f v\r\n");
    // "EN\r\n" for a miss, else a header line and the value, each ending in CRLF.
    return c.read_until([](std::string_view b) -> std::size_t {
        if (b.starts_with("EN\r\n")) return 4;
        std::size_t header = b.find("\r\n");
        std::size_t data = header == std::string_view::npos ? header : b.find("\r\n", header + 2);
        return data == std::string_view::npos ? 0 : data + 2;
    });
}

HARNESS_CACHEMUX_TEST("replicas: a get that misses on the primary is answered by the next copy and backfilled; read_failover: error does not") {
    BackendServers b(Protocol::Memcache, 2);
    struct Variant {
        const char* failover;
        const char* backfill_ttl;  // nullptr: the default (300)
    };
    for (Variant v : {Variant{"miss", nullptr}, Variant{"miss", "0"}, Variant{"error", nullptr}}) {
        CAPTURE(v.failover);
        CAPTURE(v.backfill_ttl);
        const bool fails_over = std::string(v.failover) == "miss";
        const bool backfills = fails_over && v.backfill_ttl == nullptr;
        b.flush();
        PoolSpec pool = two_copies(b, 1);
        pool.set("read_failover", v.failover);
        if (v.backfill_ttl != nullptr) pool.set("backfill_ttl", v.backfill_ttl);
        Proxy cm = start_proxy(ProxyKind::Cachemux, pool);
        Connection c(cm.port());
        REQUIRE(c.mc(mc::set("k", "value", 5)) == "STORED\r\n");
        REQUIRE(mc::get_direct(b.port(0), "k") == "value");
        REQUIRE(mc::get_direct(b.port(1), "k") == "value");
        // As if the primary had evicted it.
        Connection a(b.port(0));
        REQUIRE(a.mc("delete k\r\n") == "DELETED\r\n");
        std::string expect = fails_over ? mc::value("k", "value", 5) + "END\r\n" : "END\r\n";
        CHECK(c.mc(mc::get({"k"})) == expect);
        // The hit went back to the primary with its flags and a capped TTL.
        std::string back = settle([&] { return meta_get(b.port(0), "k"); },
                                  backfills ? std::string("?") : std::string("EN\r\n"), backfills ? 1000ms : 300ms);
        if (backfills) {
            CHECK(back.starts_with("VA 5 t"));
            CHECK(back.find(" f5\r\nvalue\r\n") != std::string::npos);
            long ttl = std::stol(back.substr(6));
            CHECK((ttl > 250 && ttl <= 300));
        } else {
            CHECK(back == "EN\r\n");
        }
        // A multi-get fails over key by key and keeps the request's order.
        a.mc("delete k\r\n");
        REQUIRE(c.mc(mc::set("j", "other")) == "STORED\r\n");
        std::string both = fails_over ? mc::value("k", "value", 5) : "";
        CHECK(c.mc(mc::get({"j", "k", "nope", "j"})) ==
              mc::value("j", "other") + both + mc::value("j", "other") + "END\r\n");
        // /metrics: which copy each server is in; reads the second copy
        // answered; hits written back.
        std::string m = metrics(cm);
        CHECK(metric_value(m, "cachemux_server_copy{pool=\"alpha\",server=\"a1\"}") == 0);
        CHECK(metric_value(m, "cachemux_server_copy{pool=\"alpha\",server=\"b2\"}") == 1);
        double failovers = fails_over ? 2 : 0;
        CHECK(settle([&] { return metric_value(metrics(cm), "cachemux_pool_copy_failovers_total{pool=\"alpha\"}"); },
                     failovers) == failovers);
        CHECK(metric_value(metrics(cm), "cachemux_pool_copy_backfills_total{pool=\"alpha\"}") == (backfills ? 2 : 0));
        // JSON stays nutcracker's: the servers of both copies, no new keys.
        std::string json = stats_json(cm);
        CHECK(json.find("\"b2\"") != std::string::npos);
        CHECK(json.find("copy") == std::string::npos);
    }
}

HARNESS_CACHEMUX_TEST("replicas: a dead copy not yet ejected: reads from the other, a clean miss beats its error, write policies") {
    for (const char* write : {"all", "one"}) {
        CAPTURE(write);
        auto backends = std::make_unique<BackendServers>(Protocol::Memcache, 2);
        PoolSpec pool = two_copies(*backends, 1);
        pool.set("write", write);
        Proxy cm = start_proxy(ProxyKind::Cachemux, pool);
        Connection c(cm.port());
        REQUIRE(c.mc(mc::set("k", "before")) == "STORED\r\n");
        backends->mc[0].reset();  // the primary is gone: connections refused
        CHECK(c.mc(mc::get({"k"})) == mc::value("k", "before") + "END\r\n");
        CHECK(c.mc(mc::get({"absent"})) == "END\r\n");
        // A multi-get: its first round meets the refused primary, its keys
        // ask the other copy; gets fails over on the error too.
        CHECK(c.mc(mc::get({"k", "absent", "k"})) == mc::value("k", "before") + mc::value("k", "before") + "END\r\n");
        auto items = mc::parse_values(c.mc(mc::get({"absent", "k"}, "gets")));
        REQUIRE(items.size() == 1);
        CHECK(items[0].key == "k");
        std::string stored = c.mc(mc::set("k", "after"));
        if (std::string(write) == "all") {
            CHECK(stored == "SERVER_ERROR Connection refused\r\n");
        } else {
            CHECK(stored == "STORED\r\n");
        }
        CHECK(mc::get_direct(backends->port(1), "k") == "after");
        CHECK(c.mc(mc::get({"k"})) == mc::value("k", "after") + "END\r\n");
        backends->mc[1].reset();  // both gone: the error, as nutcracker's, for a multi-get too
        CHECK(c.mc(mc::get({"k"})) == "SERVER_ERROR Connection refused\r\n");
        CHECK(c.mc(mc::get({"k", "absent"})) == "SERVER_ERROR Connection refused\r\n");
    }
}

HARNESS_CACHEMUX_TEST("replicas: an ejected server's keys go to its other copy only, never to another server of its copy") {
    BackendServers b(Protocol::Memcache, 4);
    PoolSpec pool = two_copies(b, 2);
    pool.set("auto_eject_hosts", "true").set("server_failure_limit", "1").set("server_retry_timeout", "30000");
    Proxy cm = start_proxy(ProxyKind::Cachemux, pool);
    Connection c(cm.port());
    const std::string k = key_on(b, c, 0);
    b.mc[0]->process().signal(SIGKILL);
    // The first write meets the refused connection, which ejects a1.
    c.mc(mc::set(k, "x"));
    std::string stored;
    for (auto deadline = Clock::now() + 3s; Clock::now() < deadline && stored != "STORED\r\n";) {
        stored = c.mc(mc::set(k, "after"));
    }
    REQUIRE(stored == "STORED\r\n");
    CHECK(!mc::holds(b.port(1), k));  // a2 never takes a1's key
    CHECK(holder_in(b, 2, 4, k) >= 2);
    CHECK(c.mc(mc::get({k})) == mc::value(k, "after") + "END\r\n");
}

HARNESS_CACHEMUX_TEST("replicas: add and incr are decided by the primary, and a copy that answered otherwise is invalidated") {
    BackendServers b(Protocol::Memcache, 2);
    Proxy cm = start_proxy(ProxyKind::Cachemux, two_copies(b, 1));
    Connection c(cm.port());
    Connection a(b.port(0)), bb(b.port(1));

    // add as a lock: the key is only on the second copy.
    REQUIRE(bb.mc(mc::set("lock", "theirs")) == "STORED\r\n");
    CHECK(c.mc(mc::storage("add", "lock", "mine")) == "STORED\r\n");
    CHECK(mc::get_direct(b.port(0), "lock") == "mine");
    CHECK(!settle([&] { return mc::holds(b.port(1), "lock"); }, false));
    CHECK(c.mc(mc::get({"lock"})) == mc::value("lock", "mine") + "END\r\n");

    // incr: the copies agree, then the second lost the key, then the first.
    REQUIRE(c.mc(mc::set("n", "10")) == "STORED\r\n");
    REQUIRE(bb.mc("delete n\r\n") == "DELETED\r\n");
    CHECK(c.mc("incr n 5\r\n") == "15\r\n");
    CHECK(mc::get_direct(b.port(0), "n") == "15");
    REQUIRE(c.mc(mc::set("n", "10")) == "STORED\r\n");
    REQUIRE(a.mc("delete n\r\n") == "DELETED\r\n");
    CHECK(c.mc("incr n 5\r\n") == "NOT_FOUND\r\n");
    CHECK(!settle([&] { return mc::holds(b.port(1), "n"); }, false));
}

HARNESS_CACHEMUX_TEST("replicas: noreply writes reach every copy and stay silent; the copies are heard") {
    BackendServers b(Protocol::Memcache, 2);
    Proxy cm = start_proxy(ProxyKind::Cachemux, two_copies(b, 1));
    Connection c(cm.port());
    c.send_all(mc::set("k", "x", 0, 0, true) + mc::get({"k"}) + "delete k noreply\r\n" + mc::get({"k"}));
    CHECK(c.read_mc_reply() == mc::value("k", "x") + "END\r\n");
    CHECK(c.read_mc_reply() == "END\r\n");
    CHECK(c.read_for(300ms).empty());
    c.send_all(mc::set("m", "y", 0, 0, true) + "incr m 1 noreply\r\n" + mc::set("m2", "z", 0, 0, true) + mc::get({"m2"}));
    CHECK(c.read_mc_reply() == mc::value("m2", "z") + "END\r\n");
    CHECK(c.read_for(300ms).empty());
    CHECK(mc::get_direct(b.port(0), "k") == std::nullopt);
    CHECK(mc::get_direct(b.port(1), "k") == std::nullopt);
    CHECK(mc::get_direct(b.port(0), "m2") == "z");
    CHECK(mc::get_direct(b.port(1), "m2") == "z");
    // Every copy answered the proxy (no stray reply reached the client).
    CHECK(memcached_stat(b.port(1), "cmd_set") == 3);
}

HARNESS_CACHEMUX_TEST("replicas: gets and cas use the primary; a stored cas reaches the other copy, a refused one changes nothing") {
    BackendServers b(Protocol::Memcache, 2);
    Proxy cm = start_proxy(ProxyKind::Cachemux, two_copies(b, 1));
    Connection c(cm.port());
    REQUIRE(c.mc(mc::set("k", "one", 3)) == "STORED\r\n");
    auto items = mc::parse_values(c.mc(mc::get({"k"}, "gets")));
    REQUIRE(items.size() == 1);
    Connection a(b.port(0));
    auto direct = mc::parse_values(a.mc(mc::get({"k"}, "gets")));
    REQUIRE(direct.size() == 1);
    CHECK(items[0].cas == direct[0].cas);  // the primary's token
    CHECK(c.mc(mc::cas("k", "two", *items[0].cas + 1000, 7)) == "EXISTS\r\n");
    CHECK(mc::get_direct(b.port(1), "k") == "one");
    CHECK(c.mc(mc::cas("k", "two", *items[0].cas, 7)) == "STORED\r\n");
    CHECK(mc::get_direct(b.port(0), "k") == "two");
    Connection other(b.port(1));
    CHECK(settle([&] { return other.mc(mc::get({"k"})); }, mc::value("k", "two", 7) + "END\r\n") ==
          mc::value("k", "two", 7) + "END\r\n");
    // noreply: the same, silently; the copy still gets the set.
    items = mc::parse_values(c.mc(mc::get({"k"}, "gets")));
    REQUIRE(items.size() == 1);
    c.send_all(mc::cas("k", "three", *items[0].cas, 0, true) + mc::get({"k"}));
    CHECK(c.read_mc_reply() == mc::value("k", "three") + "END\r\n");
    CHECK(settle([&] { return other.mc(mc::get({"k"})); }, mc::value("k", "three") + "END\r\n") ==
          mc::value("k", "three") + "END\r\n");
    CHECK(metric_value(metrics(cm), "cachemux_pool_copy_propagations_total{pool=\"alpha\"}") == 2);
}
