// The distribution plugins: placements observed from nutcracker 0.5.0 (see
// nutcracker_placements.hpp), and properties of the continua.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../plugin_loader.hpp"
#include "nutcracker_placements.hpp"

using cachemux::abi::Continuum;
using cachemux::abi::ServerSpec;
using cachemux::test::LoadedPlugin;

namespace {

std::string numbered_key(std::size_t i) { return std::to_string(i) + ":cachemux"; }

struct Dist {
    LoadedPlugin plugin;
    const cachemux::abi::Distribution& dist;
    explicit Dist(std::string_view name) : plugin(name), dist(plugin.distribution(name)) {}
    std::unique_ptr<Continuum> build(const std::vector<ServerSpec>& s) const { return dist.build(s); }
};

// ServerSpec holds string_views: the names must outlive every spec made from
// them, so they are kept here for the life of the test binary.
std::vector<ServerSpec> servers(const std::vector<std::string>& names, const std::vector<std::uint32_t>& weights) {
    static std::deque<std::string> kept;
    std::vector<ServerSpec> out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        kept.push_back(names[i]);
        out.push_back({kept.back(), weights[i], true});
    }
    return out;
}

}  // namespace

TEST_CASE("every distribution plugin exports exactly its one distribution") {
    for (std::string_view name : {"ketama", "modula", "random"}) {
        CAPTURE(name);
        LoadedPlugin p(name);
        const auto& d = p.descriptor();
        CHECK(d.abi_version == cachemux::abi::kAbiVersion);
        CHECK(d.hashes.empty());
        CHECK(d.protocols.empty());
        REQUIRE(d.distributions.size() == 1);
        CHECK(d.distributions[0]->name() == name);
    }
}

// Among the scenarios, ketama_rounding uses weights 7,8,4,3,3, for which
// nutcracker's float arithmetic gives 224,252,124,92,92 points where exact
// arithmetic gives 224,256,128,96,96; 3 of its 400 keys tell the two apart.
TEST_CASE("placements equal nutcracker's") {
    for (const Scenario& sc : kScenarios) {
        CAPTURE(sc.name);
        Dist d(sc.distribution);
        LoadedPlugin hp(sc.hash);
        const auto hash = hp.hash(sc.hash);
        auto c = d.build(sc.servers);
        std::uint32_t live = 0;
        for (const auto& s : sc.servers) live += s.live ? 1 : 0;
        CHECK(c->live_servers() == live);
        const std::size_t n = sc.keys.empty() ? sc.expected.size() : sc.keys.size();
        REQUIRE(n == sc.expected.size());
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const std::string key = sc.keys.empty() ? numbered_key(i) : std::string(sc.keys[i]);
            const std::uint32_t got = c->server_for(hash(key.data(), key.size()));
            if (got != static_cast<std::uint32_t>(sc.expected[i] - '0')) {
                ++wrong;
                CAPTURE(key);
                CHECK(got == static_cast<std::uint32_t>(sc.expected[i] - '0'));
            }
        }
        CHECK(wrong == 0);
    }
}

TEST_CASE("ketama: ties between equal ring points go to the server whose name sorts first") {
    // Observed in nutcracker (scenarios ketama_tie_*): it sorts servers by
    // name length, then bytes, and its qsort of the points is stable.
    int tie_scenarios = 0;
    for (const Scenario& sc : kScenarios) {
        if (sc.name.substr(0, 10) != "ketama_tie") continue;
        ++tie_scenarios;
        REQUIRE(sc.servers.size() == 2);
        const auto& a = sc.servers[0].name;
        const auto& b = sc.servers[1].name;
        const char first = (a.size() < b.size() || (a.size() == b.size() && a < b)) ? '0' : '1';
        CHECK(sc.expected.find_first_not_of(first) == std::string_view::npos);
    }
    CHECK(tie_scenarios == 3);
}

TEST_CASE("ketama: an ejected server's keys move, the others' stay") {
    Dist d("ketama");
    LoadedPlugin hp("fnv1a_64");
    const auto hash = hp.hash("fnv1a_64");
    auto all = servers({"127.0.0.1", "127.0.0.1:11212", "cache-a", "server4", "10.0.0.5:22122"}, {1, 2, 3, 5, 8});
    auto ejected = all;
    ejected[3].live = false;
    auto before = d.build(all);
    auto after = d.build(ejected);
    CHECK(before->live_servers() == 5);
    CHECK(after->live_servers() == 4);
    std::size_t moved_from_dead = 0, on_dead = 0, others = 0, others_stayed = 0;
    for (std::size_t i = 0; i < 5000; ++i) {
        const std::string key = "eject-" + std::to_string(i);
        const std::uint32_t h = hash(key.data(), key.size());
        const std::uint32_t b = before->server_for(h), a = after->server_for(h);
        CHECK(a != 3);
        if (b == 3) {
            ++on_dead;
            moved_from_dead += a != 3;
        } else {
            ++others;
            others_stayed += a == b;
        }
    }
    CHECK(on_dead > 0);
    CHECK(moved_from_dead == on_dead);
    // Point counts are recomputed from the new weight shares, so a few keys of
    // live servers move too, but by far most stay.
    CHECK(others_stayed * 10 >= others * 9);
}

TEST_CASE("ketama: weights shape the share of keys") {
    Dist d("ketama");
    LoadedPlugin hp("md5");
    const auto hash = hp.hash("md5");
    auto c = d.build(servers({"a:1", "b:2", "c:3", "d:4", "e:5"}, {1, 2, 3, 5, 8}));
    std::map<std::uint32_t, int> count;
    for (int i = 0; i < 19000; ++i) {
        const std::string key = "w" + std::to_string(i);
        ++count[c->server_for(hash(key.data(), key.size()))];
    }
    // expected ~1000, 2000, 3000, 5000, 8000
    CHECK(count[0] > 500);
    CHECK(count[0] < count[2]);
    CHECK(count[1] < count[3]);
    CHECK(count[3] < count[4]);
    CHECK(count[4] > 6000);
}

TEST_CASE("ketama: the first point at or after the hash, wrapping") {
    Dist d("ketama");
    auto c = d.build(servers({"only"}, {1}));
    CHECK(c->live_servers() == 1);
    for (std::uint32_t h : {0u, 1u, 0x7fffffffu, 0xfffffffeu, 0xffffffffu}) CHECK(c->server_for(h) == 0);
    auto two = d.build(servers({"x", "y"}, {1, 1}));
    std::set<std::uint32_t> seen;
    for (std::uint64_t h = 0; h <= UINT32_MAX; h += 1u << 20) seen.insert(two->server_for(static_cast<std::uint32_t>(h)));
    seen.insert(two->server_for(UINT32_MAX));  // past the last point: wraps to the first
    CHECK(seen == std::set<std::uint32_t>{0, 1});
}

TEST_CASE("modula: slot = hash % total live weight, servers in name order") {
    Dist d("modula");
    // Names sort as b, c, aa, server9, server10 (length first), so slots are
    // b(3) c(8x) aa(5x) ...; weights 3,8,5 in that order.
    auto c = d.build(servers({"server10", "server9", "b", "aa", "c"}, {1, 2, 3, 5, 8}));
    CHECK(c->live_servers() == 5);
    const std::uint32_t b = 2, cc = 4, aa = 3, s9 = 1, s10 = 0;
    const std::vector<std::uint32_t> expect = {b,  b,  b,  cc, cc, cc, cc, cc, cc, cc, cc, aa, aa, aa, aa, aa, s9, s9, s10};
    for (std::uint32_t h = 0; h < 19 * 3; ++h) CHECK(c->server_for(h) == expect[h % 19]);
    CHECK(c->server_for(UINT32_MAX) == expect[UINT32_MAX % 19]);

    auto ejected = servers({"server10", "server9", "b", "aa", "c"}, {1, 2, 3, 5, 8});
    ejected[4].live = false;  // "c"
    auto e = d.build(ejected);
    CHECK(e->live_servers() == 4);
    const std::vector<std::uint32_t> expect2 = {b, b, b, aa, aa, aa, aa, aa, s9, s9, s10};
    for (std::uint32_t h = 0; h < 11 * 3; ++h) CHECK(e->server_for(h) == expect2[h % 11]);
}

TEST_CASE("modula: large weights give the same slots as the flat table") {
    Dist d("modula");
    auto small = d.build(servers({"a", "b", "c"}, {3, 1, 2}));
    auto large = d.build(servers({"a", "b", "c"}, {3u << 16, 1u << 16, 2u << 16}));
    for (std::uint32_t h = 0; h < 1000; ++h) {
        CHECK(small->server_for(h) == std::vector<std::uint32_t>{0, 0, 0, 1, 2, 2}[h % 6]);
        CHECK(large->server_for(h) == 0);  // h < 3 << 16: first server's slots
    }
    CHECK(large->server_for((3u << 16) + 5) == 1);
    CHECK(large->server_for((4u << 16) + 5) == 2);
    CHECK(large->server_for((6u << 16) + 1) == 0);  // wraps: slot 1
}

TEST_CASE("random: only live servers, all of them") {
    Dist d("random");
    auto specs = servers({"a", "b", "c", "d"}, {1, 1, 5, 1});
    specs[1].live = false;
    auto c = d.build(specs);
    CHECK(c->live_servers() == 3);
    std::map<std::uint32_t, int> count;
    for (int i = 0; i < 3000; ++i) ++count[c->server_for(42)];
    CHECK(count.count(1) == 0);
    CHECK(count.size() == 3);
    for (auto [s, n] : count) CHECK(n > 700);  // weights are ignored, as in nutcracker
}

TEST_CASE("no live server: build works, live_servers() is 0") {
    for (std::string_view name : {"ketama", "modula", "random"}) {
        CAPTURE(name);
        Dist d(name);
        auto specs = servers({"a", "b"}, {1, 2});
        for (auto& s : specs) s.live = false;
        auto c = d.build(specs);
        CHECK(c->live_servers() == 0);
        auto empty = d.build({});
        CHECK(empty->live_servers() == 0);
        // server_for must not be called then; it is still memory-safe.
        CHECK(c->server_for(7) == 0);
    }
}

TEST_CASE("weight 0 on a live server is rejected") {
    for (std::string_view name : {"ketama", "modula"}) {
        CAPTURE(name);
        Dist d(name);
        CHECK_THROWS_AS(d.build(servers({"a", "b"}, {1, 0})), std::invalid_argument);
        auto specs = servers({"a", "b"}, {1, 0});
        specs[1].live = false;  // a dead one does not matter
        CHECK(d.build(specs)->live_servers() == 1);
    }
}
