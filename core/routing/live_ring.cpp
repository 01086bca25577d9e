#include "routing/live_ring.hpp"

namespace cachemux {

LiveRing::LiveRing(std::shared_ptr<const ServerPool> configured)
    : configured_(std::move(configured)),
      eject_enabled_(configured_->config().auto_eject_hosts),
      live_(configured_->servers().size(), configured_->config()),
      ring_(configured_),
      failing_(new std::atomic<bool>[configured_->servers().size()]) {
    for (std::size_t i = 0; i < configured_->servers().size(); ++i) {
        failing_[i].store(false, std::memory_order_relaxed);
    }
}

void LiveRing::answered(std::uint32_t server) {
    if (!failing_[server].load(std::memory_order_relaxed)) {
        return;
    }
    std::lock_guard lock(mutex_);
    live_.answered(server);
    failing_[server].store(false, std::memory_order_relaxed);
}

std::shared_ptr<const ServerPool> LiveRing::current(std::uint64_t& generation) const {
    std::lock_guard lock(mutex_);
    generation = generation_.load(std::memory_order_relaxed);
    return ring_;
}

bool LiveRing::failed(std::uint32_t server, std::int64_t now_ms, std::vector<std::uint32_t>& probe) {
    if (!eject_enabled_) {
        return false;
    }
    std::lock_guard lock(mutex_);
    failing_[server].store(true, std::memory_order_relaxed);
    if (!live_.failed(server, now_ms)) {
        return false;
    }
    failing_[server].store(false, std::memory_order_relaxed);  // the count starts over
    publish(now_ms, probe);
    return true;
}

void LiveRing::rejoin(std::int64_t now_ms, std::vector<std::uint32_t>& probe) {
    std::lock_guard lock(mutex_);
    if (live_.rejoin_due(now_ms)) {
        publish(now_ms, probe);
    }
}

bool LiveRing::probe_done(std::uint32_t server, bool flushed, std::int64_t now_ms,
                          std::vector<std::uint32_t>& probe) {
    std::lock_guard lock(mutex_);
    bool rejoined = live_.probe_done(server, flushed, now_ms);
    if (rejoined) {
        publish(now_ms, probe);
    } else {
        next_rejoin_ms_.store(live_.next_rejoin_ms(), std::memory_order_relaxed);  // out again: a new retry time
    }
    return rejoined;
}

void LiveRing::publish(std::int64_t now_ms, std::vector<std::uint32_t>& probe) {
    ring_ = configured_->with_live(live_.live(now_ms, probe));
    next_rejoin_ms_.store(live_.next_rejoin_ms(), std::memory_order_relaxed);
    // Release: a worker that sees the new generation sees the ring too
    // (and takes it under the lock anyway).
    generation_.fetch_add(1, std::memory_order_release);
}

void LiveRing::inherit(const LiveRing& before, const std::vector<std::uint32_t>& old_server) {
    std::scoped_lock lock(before.mutex_, mutex_);
    live_.carry_over(before.live_, old_server);
    for (std::size_t i = 0; i < old_server.size(); ++i) {
        if (old_server[i] != kNoMatch) {
            failing_[i].store(before.failing_[old_server[i]].load(std::memory_order_relaxed), std::memory_order_relaxed);
        }
    }
    // No rejoin here: one that is due happens on the next request, in the
    // worker that then sends its probe.
    ring_ = configured_->with_live(live_.on_ring());
    next_rejoin_ms_.store(live_.next_rejoin_ms(), std::memory_order_relaxed);
}

}  // namespace cachemux
