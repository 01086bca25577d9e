// Key placement: with the same config and the same backends, cachemux must put
// every key on the same server as nutcracker 0.5.0.
//
// For each config, each proxy in turn writes the same keys (varied lengths
// 1..250 and bytes, including 0x80..0xfe) through its pool; then every backend
// is asked directly which of the keys it holds.  The backends are flushed
// between runs; their ports (and so the ring's server names) stay the same.
#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

struct PlacementConfig {
    std::string hash;
    std::string distribution;
    bool names = false;
    std::string hash_tag;  // "" (none), "{}", "$$", ...

    std::string label() const {
        return "hash " + hash + ", distribution " + distribution + (names ? ", named servers" : "") +
               (hash_tag.empty() ? "" : ", hash_tag \"" + hash_tag + "\"");
    }
};

constexpr std::size_t kKeys = 3000;
const std::vector<unsigned> kWeights = {1, 2, 3, 5, 8};

// Writes `keys` through the proxy (pipelined in chunks) and returns, for each
// key, the index of the backend that holds it (-1: none, -2: several).
std::vector<int> place(ProxyKind kind, const PlacementConfig& cfg,
                       const std::vector<std::unique_ptr<MemcachedServer>>& backends,
                       const std::vector<std::string>& keys) {
    for (auto& b : backends) mc::flush_all(b->port());

    PoolSpec pool;
    pool.name = "placement";
    pool.servers = server_specs(backends, kWeights, cfg.names ? "server" : "");
    pool.set("hash", cfg.hash).set("distribution", cfg.distribution);
    if (!cfg.hash_tag.empty()) pool.set("hash_tag", "\"" + cfg.hash_tag + "\"");
    {
        Proxy proxy = start_proxy(kind, pool);
        Connection c(proxy.port());
        const std::size_t chunk = 500;
        for (std::size_t start = 0; start < keys.size(); start += chunk) {
            std::size_t end = std::min(keys.size(), start + chunk);
            std::string batch;
            for (std::size_t i = start; i < end; ++i) batch += mc::set(keys[i], "v");
            c.send_all(batch);
            for (std::size_t i = start; i < end; ++i) {
                std::string reply = c.read_until("\r\n", 10000ms);
                if (reply != "STORED\r\n")
                    throw HarnessError(std::string(to_string(kind)) + ": set of key \"" + escape(keys[i]) +
                                       "\" answered \"" + escape(reply) + "\"");
            }
        }
    }
    return mc::holders(backends, keys);
}

std::string histogram(const std::vector<int>& where, std::size_t backends) {
    std::vector<std::size_t> n(backends, 0);
    std::size_t lost = 0, several = 0;
    for (int w : where) {
        if (w >= 0) ++n[static_cast<std::size_t>(w)];
        else if (w == -1) ++lost;
        else ++several;
    }
    std::ostringstream s;
    for (std::size_t i = 0; i < backends; ++i) s << (i ? " " : "") << "s" << i + 1 << "(w" << kWeights[i] << ")=" << n[i];
    if (lost) s << " none=" << lost;
    if (several) s << " several=" << several;
    return s.str();
}

void compare_placement(const std::vector<PlacementConfig>& configs) {
    auto backends = start_memcached(kWeights.size());
    for (auto& cfg : configs) {
        INFO("config: " << cfg.label());
        KeyOptions ko;
        ko.hash_tags = !cfg.hash_tag.empty();
        if (ko.hash_tags) ko.tag = cfg.hash_tag;
        auto keys = make_keys(kKeys, 4242, ko);

        std::vector<int> reference;
        try {
            reference = place(ProxyKind::Nutcracker, cfg, backends, keys);
        } catch (const std::exception& e) {
            FAIL_CHECK("nutcracker run failed: " << std::string(e.what()));
            continue;
        }
        // The reference itself must be sane: every key on exactly one server,
        // every server used.
        std::string ref_hist = histogram(reference, backends.size());
        CHECK_MESSAGE(std::count(reference.begin(), reference.end(), -1) == 0, "nutcracker: " << ref_hist);
        CHECK_MESSAGE(std::count(reference.begin(), reference.end(), -2) == 0, "nutcracker: " << ref_hist);
        // (nutcracker's crc32 is only 15 bits wide: on a ketama ring of 32-bit
        // points every key lands at the ring's start, so servers go unused.)
        bool degenerate = cfg.hash == "crc32" && cfg.distribution == "ketama";
        if (degenerate) MESSAGE("nutcracker " << cfg.label() << ": " << ref_hist);
        for (std::size_t b = 0; b < backends.size() && !degenerate; ++b)
            CHECK_MESSAGE(std::count(reference.begin(), reference.end(), static_cast<int>(b)) > 0,
                          "nutcracker: " << ref_hist);

        std::vector<int> got;
        try {
            got = place(ProxyKind::Cachemux, cfg, backends, keys);
        } catch (const std::exception& e) {
            FAIL_CHECK("cachemux run failed: " << std::string(e.what()));
            continue;
        }
        std::size_t mismatches = 0;
        std::string examples;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            if (got[i] == reference[i]) continue;
            if (++mismatches <= 8)
                examples += "\n  key \"" + escape(keys[i]) + "\" (" + std::to_string(keys[i].size()) +
                            " bytes): nutcracker s" + std::to_string(reference[i] + 1) + ", cachemux s" +
                            std::to_string(got[i] + 1);
        }
        CHECK_MESSAGE(mismatches == 0, mismatches << " of " << keys.size() << " keys placed differently"
                                                  << "\n  nutcracker: " << ref_hist
                                                  << "\n  cachemux:   " << histogram(got, backends.size())
                                                  << examples);
    }
}

}  // namespace

// Every hash x distribution pair, with and without node names, with and
// without a hash tag (the brace tag for half the hashes, "$$" for the rest).
TEST_CASE("placement: cachemux puts every key where nutcracker does (every hash, distribution, naming, tag)" *
          doctest::test_suite("cachemux")) {
    const char* const hashes[] = {"one_at_a_time", "md5",      "crc16",   "crc32", "crc32a", "fnv1_64",
                                  "fnv1a_64",      "fnv1_32",  "fnv1a_32", "hsieh", "murmur", "jenkins"};
    std::vector<PlacementConfig> configs;
    for (std::size_t h = 0; h < std::size(hashes); ++h)
        for (const char* dist : {"ketama", "modula"})
            for (bool names : {false, true})
                for (const char* tag : {"", h % 2 == 0 ? "{}" : "$$"})
                    configs.push_back({hashes[h], dist, names, tag});
    compare_placement(configs);
}

// nutcracker names a server "host" instead of "host:port" on the ketama ring
// when its port is 11211 (libmemcached compatibility).  Placement is observed
// without a server on 11211: keys nutcracker sends there get an error reply.
TEST_CASE("placement: a server on port 11211 sits on the ring as nutcracker puts it" *
          doctest::test_suite("cachemux")) {
    if (port_open(11211)) {
        WARN_MESSAGE(false, "NOT RUN: something listens on 127.0.0.1:11211, so keys routed there would not fail");
        return;
    }
    auto backends = start_memcached(3);
    auto keys = make_keys(1500, 77);
    auto errored_keys = [&](ProxyKind kind) {
        for (auto& b : backends) mc::flush_all(b->port());
        PoolSpec pool;
        pool.name = "quirk";
        pool.servers = server_specs(backends, {1, 2, 3});
        ServerSpec dead;
        dead.port = 11211;
        dead.weight = 2;
        pool.servers.insert(pool.servers.begin() + 1, dead);
        pool.set("hash", "fnv1a_64").set("distribution", "ketama").set("timeout", "2000");
        Proxy proxy = start_proxy(kind, pool);
        Connection c(proxy.port());
        std::vector<bool> failed(keys.size(), false);
        for (std::size_t start = 0; start < keys.size(); start += 250) {
            std::size_t end = std::min(keys.size(), start + 250);
            std::string batch;
            for (std::size_t i = start; i < end; ++i) batch += mc::set(keys[i], "v");
            c.send_all(batch);
            for (std::size_t i = start; i < end; ++i) {
                std::string reply = c.read_until("\r\n", 10000ms);
                if (reply != "STORED\r\n") {
                    if (reply.rfind("SERVER_ERROR", 0) != 0)
                        throw HarnessError("unexpected reply \"" + escape(reply) + "\"");
                    failed[i] = true;
                }
            }
        }
        return failed;
    };
    auto ref = errored_keys(ProxyKind::Nutcracker);
    CHECK(std::count(ref.begin(), ref.end(), true) > 0);
    auto got = errored_keys(ProxyKind::Cachemux);
    std::size_t diff = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) diff += ref[i] != got[i];
    CHECK_MESSAGE(diff == 0, diff << " of " << keys.size()
                                  << " keys routed differently with respect to the server on port 11211");
}

// random ignores the key and the weights: nutcracker keeps one continuum
// point per live server and picks one at random for every request.
TEST_CASE("placement: random spreads keys over every server, ignoring weights" * doctest::test_suite("cachemux")) {
    auto backends = start_memcached(kWeights.size());
    PoolSpec pool;
    pool.name = "spread";
    pool.servers = server_specs(backends, kWeights);
    pool.set("hash", "fnv1a_64").set("distribution", "random");
    auto keys = make_keys(2000, 99);
    {
        Proxy proxy = start_proxy(ProxyKind::Cachemux, pool);
        Connection c(proxy.port());
        std::string batch;
        for (const auto& k : keys) batch += mc::set(k, "v");
        c.send_all(batch);
        for (std::size_t i = 0; i < keys.size(); ++i) REQUIRE(c.read_until("\r\n", 10000ms) == "STORED\r\n");
    }
    std::vector<int> where(keys.size(), -1);
    for (std::size_t b = 0; b < backends.size(); ++b) {
        auto held = mc::holds_many(backends[b]->port(), keys);
        for (std::size_t i = 0; i < keys.size(); ++i)
            if (held[i]) where[i] = where[i] == -1 ? static_cast<int>(b) : -2;
    }
    INFO(histogram(where, backends.size()));
    CHECK(std::count(where.begin(), where.end(), -1) == 0);
    CHECK(std::count(where.begin(), where.end(), -2) == 0);
    // 2000 keys over 5 servers: 400 expected each; below 250 is vanishingly
    // unlikely for a uniform pick and certain for a weighted or keyed one.
    for (std::size_t b = 0; b < backends.size(); ++b)
        CHECK(std::count(where.begin(), where.end(), static_cast<int>(b)) > 250);
}
