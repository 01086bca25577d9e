#include "routing/live_set.hpp"

#include <algorithm>

namespace cachemux {

LiveSet::LiveSet(std::size_t servers, const PoolConfig& config)
    : enabled_(config.auto_eject_hosts),
      probe_first_(config.flush_on_rejoin),
      failure_limit_(static_cast<std::uint32_t>(std::max(1, config.server_failure_limit))),
      retry_timeout_ms_(config.server_retry_timeout_ms),
      state_(servers, State::OnRing),
      failures_(servers, 0),
      retry_at_ms_(servers, 0) {}

void LiveSet::eject(std::uint32_t server, std::int64_t now_ms) {
    failures_[server] = 0;
    state_[server] = State::Ejected;
    retry_at_ms_[server] = now_ms + retry_timeout_ms_;
    if (next_rejoin_ms_ == 0 || retry_at_ms_[server] < next_rejoin_ms_) {
        next_rejoin_ms_ = retry_at_ms_[server];
    }
}

bool LiveSet::failed(std::uint32_t server, std::int64_t now_ms) {
    if (!enabled_ || state_[server] != State::OnRing) {
        return false;
    }
    if (++failures_[server] < failure_limit_) {
        return false;
    }
    eject(server, now_ms);
    return true;
}

std::vector<bool> LiveSet::live(std::int64_t now_ms, std::vector<std::uint32_t>& probe) {
    std::vector<bool> on_ring(state_.size(), true);
    next_rejoin_ms_ = 0;
    for (std::uint32_t i = 0; i < state_.size(); ++i) {
        if (state_[i] == State::Ejected && retry_at_ms_[i] <= now_ms) {
            if (probe_first_) {
                state_[i] = State::Probing;
                probe.push_back(i);
            } else {
                state_[i] = State::OnRing;  // back on the ring, to be tried again
            }
        }
        if (state_[i] == State::OnRing) {
            continue;
        }
        on_ring[i] = false;
        if (state_[i] == State::Ejected && (next_rejoin_ms_ == 0 || retry_at_ms_[i] < next_rejoin_ms_)) {
            next_rejoin_ms_ = retry_at_ms_[i];
        }
    }
    return on_ring;
}

bool LiveSet::probe_done(std::uint32_t server, bool succeeded, std::int64_t now_ms) {
    if (state_[server] != State::Probing) {
        return false;
    }
    if (!succeeded) {
        eject(server, now_ms);
        return false;
    }
    state_[server] = State::OnRing;
    failures_[server] = 0;
    return true;
}

std::vector<bool> LiveSet::on_ring() const {
    std::vector<bool> on_ring(state_.size());
    for (std::size_t i = 0; i < state_.size(); ++i) {
        on_ring[i] = state_[i] == State::OnRing;
    }
    return on_ring;
}

void LiveSet::carry_over(const LiveSet& before, const std::vector<std::uint32_t>& old_server) {
    if (!enabled_) {
        return;
    }
    next_rejoin_ms_ = 0;
    for (std::size_t i = 0; i < state_.size() && i < old_server.size(); ++i) {
        std::uint32_t old = old_server[i];
        if (old == kNoMatch || old >= before.state_.size()) {
            continue;
        }
        // Probing stays Probing only if a flush will report: without
        // flush_on_rejoin now, the server is simply ejected until its time.
        State state = before.state_[old];
        state_[i] = state == State::Probing && !probe_first_ ? State::Ejected : state;
        failures_[i] = std::min(before.failures_[old], failure_limit_ - 1);
        retry_at_ms_[i] = before.retry_at_ms_[old];
        if (state_[i] == State::Ejected && (next_rejoin_ms_ == 0 || retry_at_ms_[i] < next_rejoin_ms_)) {
            next_rejoin_ms_ = retry_at_ms_[i];
        }
    }
}

}  // namespace cachemux
