// Ketama consistent hashing, placing keys exactly as nutcracker 0.5.0 does
// (src/hashkit/nc_ketama.c):
//  * each live server gets floor(pct * 160 / 4 * nlive + 1e-10) * 4 points,
//    pct = weight / total live weight, computed in float exactly as nutcracker
//    does (the 1e-10 is added in double and cast back to float, so it never
//    rescues a product that float rounding left just below an integer);
//  * point group k of a server is md5("<name>-<k>"), k = 0, 1, ...; each
//    digest yields 4 points, its bytes 4x..4x+3 read little-endian;
//  * points are sorted by value. nutcracker uses glibc qsort, which is a
//    stable merge sort, so among equal values the one inserted first wins the
//    lookup; servers are visited in nutcracker's order (sorted by name, see
//    dist_plugin.hpp), so the server whose name sorts first wins a tie. We
//    stable-sort the points, generated in that same order.
//  * lookup: first point with value >= hash, wrapping to the first point.
//
// Divergence: nutcracker formats the ring key into an 86-byte buffer and then
// hashes snprintf's return length, so a "<name>-<k>" of 86 bytes or more makes
// it hash stack garbage. We hash the full string instead.
#include <md5.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dist_plugin.hpp"

namespace {

using cachemux::abi::Continuum;
using cachemux::abi::Distribution;
using cachemux::abi::ServerSpec;

constexpr std::uint32_t kPointsPerServer = 160;
constexpr std::uint32_t kPointsPerHash = 4;

class KetamaContinuum final : public Continuum {
public:
    KetamaContinuum(std::vector<std::uint32_t> values, std::vector<std::uint32_t> servers,
                    std::uint32_t live)
        : values_(std::move(values)), servers_(std::move(servers)), live_(live) {}

    std::uint32_t server_for(std::uint32_t hash) const noexcept override {
        if (values_.empty()) return 0;
        auto it = std::lower_bound(values_.begin(), values_.end(), hash);
        std::size_t i = static_cast<std::size_t>(it - values_.begin());
        if (i == values_.size()) i = 0;
        return servers_[i];
    }
    std::uint32_t live_servers() const noexcept override { return live_; }

private:
    std::vector<std::uint32_t> values_;   // sorted point values
    std::vector<std::uint32_t> servers_;  // servers_[i] owns values_[i]
    std::uint32_t live_;
};

// Points per server exactly as nutcracker computes them (float, then double).
std::uint32_t points_for(std::uint32_t weight, std::uint32_t total_weight, std::uint32_t nlive) {
    const float pct = static_cast<float>(weight) / static_cast<float>(total_weight);
    const float scaled = pct * static_cast<float>(kPointsPerServer) / 4.0f * static_cast<float>(nlive);
    const float nudged = static_cast<float>(static_cast<double>(scaled) + 0.0000000001);
    return static_cast<std::uint32_t>(std::floor(nudged) * 4.0f);
}

class Ketama final : public Distribution {
public:
    std::string_view name() const noexcept override { return "ketama"; }

    std::unique_ptr<Continuum> build(std::span<const ServerSpec> servers) const override {
        const auto totals = cachemux::dist::live_totals(servers, true);
        struct Point {
            std::uint32_t value;
            std::uint32_t server;
        };
        std::vector<Point> points;
        if (totals.live > 0) {
            points.reserve(std::size_t{totals.live} * kPointsPerServer + kPointsPerServer);
            std::string key;
            for (const std::uint32_t i : cachemux::dist::nutcracker_order(servers)) {
                const ServerSpec& s = servers[i];
                if (!s.live) continue;
                const std::uint32_t groups = points_for(s.weight, totals.total_weight, totals.live) / kPointsPerHash;
                for (std::uint32_t g = 0; g < groups; ++g) {
                    key.assign(s.name);
                    key += '-';
                    key += std::to_string(g);
                    MD5_CTX ctx;
                    unsigned char d[MD5_DIGEST_LENGTH];
                    MD5Init(&ctx);
                    MD5Update(&ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size());
                    MD5Final(d, &ctx);
                    for (std::uint32_t x = 0; x < kPointsPerHash; ++x) {
                        const unsigned char* b = d + 4 * x;
                        const std::uint32_t v = std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 |
                                                std::uint32_t{b[2]} << 16 | std::uint32_t{b[3]} << 24;
                        points.push_back({v, i});
                    }
                }
            }
            std::stable_sort(points.begin(), points.end(),
                             [](const Point& a, const Point& b) { return a.value < b.value; });
        }
        std::vector<std::uint32_t> values(points.size()), owners(points.size());
        for (std::size_t i = 0; i < points.size(); ++i) {
            values[i] = points[i].value;
            owners[i] = points[i].server;
        }
        return std::make_unique<KetamaContinuum>(std::move(values), std::move(owners), totals.live);
    }
};

}  // namespace

CACHEMUX_DIST_PLUGIN(Ketama, "nutcracker-compatible ketama distribution")
