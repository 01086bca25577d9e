// Distribution plugin helpers: CACHEMUX_DIST_PLUGIN(Class) exports a
// descriptor holding one instance of `Class` (a cachemux::abi::Distribution).
//
// Contract shared by every distribution here (as in nutcracker 0.5.0):
//  * nutcracker sorts a pool's servers by name (shorter name first, then
//    bytewise) while validating its configuration and uses that order ever
//    after: modula lays out its slots in it and ketama breaks ties between
//    equal ring points with it. We do the same internally, so the caller may
//    pass servers in configuration order and gets configuration indices back;
//  * only servers with `live == true` receive keys; server_for() returns an
//    index into the ServerSpec list given to build();
//  * build() of a list with no live server succeeds and gives a continuum
//    with live_servers() == 0, whose server_for() must not be called (it is
//    still memory-safe and returns 0);
//  * a live server with weight 0, or a total live weight above 2^32 - 1,
//    makes build() throw std::invalid_argument (nutcracker rejects weight 0
//    at configuration time, and counts weights in 32 bits).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "cachemux/plugin_abi.hpp"

namespace cachemux::dist {

struct LiveTotals {
    std::uint32_t live = 0;          // number of live servers
    std::uint32_t total_weight = 0;  // sum of live servers' weights
};

// Counts live servers and their weight; `check_weights` rejects what
// nutcracker could not have been configured with.
inline LiveTotals live_totals(std::span<const abi::ServerSpec> servers, bool check_weights) {
    LiveTotals t;
    std::uint64_t total = 0;
    for (const auto& s : servers) {
        if (!s.live) continue;
        if (check_weights && s.weight == 0)
            throw std::invalid_argument("server '" + std::string(s.name) + "' has weight 0");
        ++t.live;
        total += s.weight;
    }
    if (check_weights && total > UINT32_MAX)
        throw std::invalid_argument("total live server weight exceeds 2^32 - 1");
    t.total_weight = static_cast<std::uint32_t>(total);
    return t;
}

// nutcracker's server order: string_compare() on the names, i.e. by length,
// then strncmp (unsigned bytes). Equal names (which nutcracker's configuration
// rejects) keep their relative order.
inline bool nutcracker_name_less(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return a.size() < b.size();
    return std::memcmp(a.data(), b.data(), a.size()) < 0;
}

// Indices into `servers` in nutcracker's server order.
inline std::vector<std::uint32_t> nutcracker_order(std::span<const abi::ServerSpec> servers) {
    std::vector<std::uint32_t> order(servers.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::uint32_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
        return nutcracker_name_less(servers[a].name, servers[b].name);
    });
    return order;
}

}  // namespace cachemux::dist

#define CACHEMUX_DIST_PLUGIN(CLASS, DESCRIPTION)                                     \
    namespace {                                                                      \
    const CLASS cachemux_dist_instance;                                              \
    const ::cachemux::abi::Distribution* const cachemux_dist_list[] = {              \
        &cachemux_dist_instance};                                                    \
    const ::cachemux::abi::PluginDescriptor cachemux_dist_descriptor{                \
        ::cachemux::abi::kAbiVersion, DESCRIPTION, {}, cachemux_dist_list, {}};      \
    const ::cachemux::abi::PluginDescriptor* cachemux_dist_entry() {                 \
        return &cachemux_dist_descriptor;                                            \
    }                                                                                \
    }                                                                                \
    CACHEMUX_PLUGIN(cachemux_dist_entry)
