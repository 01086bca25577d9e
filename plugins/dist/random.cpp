// Random distribution as nutcracker 0.5.0 does it (src/hashkit/nc_random.c):
// every request goes to a uniformly chosen live server; weights and the hash
// are ignored. The generator is per thread, seeded from std::random_device.
#include <chrono>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "dist_plugin.hpp"

namespace {

using cachemux::abi::Continuum;
using cachemux::abi::Distribution;
using cachemux::abi::ServerSpec;

std::uint32_t seed() noexcept {
    try {
        std::random_device rd;
        return rd();
    } catch (...) {
        // No entropy source: fall back to the clock and the thread's identity.
        const auto t = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        return static_cast<std::uint32_t>(t ^ (t >> 32) ^ std::hash<std::thread::id>{}(std::this_thread::get_id()));
    }
}

std::uint32_t next_random() noexcept {
    thread_local std::minstd_rand rng{seed()};
    return static_cast<std::uint32_t>(rng());
}

class RandomContinuum final : public Continuum {
public:
    explicit RandomContinuum(std::vector<std::uint32_t> live) : live_(std::move(live)) {}
    std::uint32_t server_for(std::uint32_t) const noexcept override {
        if (live_.empty()) return 0;
        return live_[next_random() % live_.size()];
    }
    std::uint32_t live_servers() const noexcept override {
        return static_cast<std::uint32_t>(live_.size());
    }

private:
    std::vector<std::uint32_t> live_;  // indices of the live servers
};

class Random final : public Distribution {
public:
    std::string_view name() const noexcept override { return "random"; }
    std::unique_ptr<Continuum> build(std::span<const ServerSpec> servers) const override {
        std::vector<std::uint32_t> live;
        for (std::size_t i = 0; i < servers.size(); ++i)
            if (servers[i].live) live.push_back(static_cast<std::uint32_t>(i));
        return std::make_unique<RandomContinuum>(std::move(live));
    }
};

}  // namespace

CACHEMUX_DIST_PLUGIN(Random, "nutcracker-compatible random distribution")
