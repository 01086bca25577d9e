// Modula distribution as nutcracker 0.5.0 does it (src/hashkit/nc_modula.c):
// one slot per unit of weight of every live server, servers taken in
// nutcracker's order (sorted by name, see dist_plugin.hpp); a key goes to
// slot[hash % total live weight].
#include <algorithm>
#include <vector>

#include "dist_plugin.hpp"

namespace {

using cachemux::abi::Continuum;
using cachemux::abi::Distribution;
using cachemux::abi::ServerSpec;

// Up to this many slots the slot table is stored flat (one lookup); beyond
// it, as cumulative weights searched in O(log n). Both place keys alike.
constexpr std::uint32_t kMaxFlatSlots = 1u << 16;

class ModulaContinuum final : public Continuum {
public:
    ModulaContinuum(std::span<const ServerSpec> servers, std::uint32_t live, std::uint32_t total)
        : live_(live), total_(total) {
        if (total_ <= kMaxFlatSlots) {
            slots_.reserve(total_);
            for (const std::uint32_t i : cachemux::dist::nutcracker_order(servers))
                if (servers[i].live) slots_.insert(slots_.end(), servers[i].weight, i);
        } else {
            std::uint32_t end = 0;
            for (const std::uint32_t i : cachemux::dist::nutcracker_order(servers)) {
                if (!servers[i].live) continue;
                end += servers[i].weight;
                ends_.push_back(end);
                owners_.push_back(i);
            }
        }
    }

    std::uint32_t server_for(std::uint32_t hash) const noexcept override {
        if (total_ == 0) return 0;
        const std::uint32_t slot = hash % total_;
        if (!slots_.empty()) return slots_[slot];
        auto it = std::upper_bound(ends_.begin(), ends_.end(), slot);
        return owners_[static_cast<std::size_t>(it - ends_.begin())];
    }
    std::uint32_t live_servers() const noexcept override { return live_; }

private:
    std::uint32_t live_;
    std::uint32_t total_;                // total live weight = number of slots
    std::vector<std::uint32_t> slots_;   // flat: slot -> server index
    std::vector<std::uint32_t> ends_;    // else: cumulative slot ends ...
    std::vector<std::uint32_t> owners_;  // ... and their servers
};

class Modula final : public Distribution {
public:
    std::string_view name() const noexcept override { return "modula"; }
    std::unique_ptr<Continuum> build(std::span<const ServerSpec> servers) const override {
        const auto t = cachemux::dist::live_totals(servers, true);
        return std::make_unique<ModulaContinuum>(servers, t.live, t.total_weight);
    }
};

}  // namespace

CACHEMUX_DIST_PLUGIN(Modula, "nutcracker-compatible modula distribution")
