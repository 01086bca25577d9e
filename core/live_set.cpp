#include "live_set.hpp"

#include <algorithm>

namespace cachemux {

LiveSet::LiveSet(std::size_t servers, const PoolConfig& config)
    : enabled_(config.auto_eject_hosts),
      failure_limit_(static_cast<std::uint32_t>(std::max(1, config.server_failure_limit))),
      retry_timeout_ms_(config.server_retry_timeout_ms),
      failures_(servers, 0),
      retry_at_ms_(servers, 0) {}

bool LiveSet::failed(std::uint32_t server, std::int64_t now_ms) {
    if (!enabled_ || retry_at_ms_[server] != 0) {
        return false;
    }
    if (++failures_[server] < failure_limit_) {
        return false;
    }
    failures_[server] = 0;
    retry_at_ms_[server] = now_ms + retry_timeout_ms_;
    return true;
}

std::vector<bool> LiveSet::live(std::int64_t now_ms) {
    std::vector<bool> on_ring(retry_at_ms_.size(), true);
    next_rejoin_ms_ = 0;
    for (std::size_t i = 0; i < retry_at_ms_.size(); ++i) {
        if (retry_at_ms_[i] == 0) {
            continue;
        }
        if (retry_at_ms_[i] <= now_ms) {
            retry_at_ms_[i] = 0;  // back on the ring, to be tried again
            continue;
        }
        on_ring[i] = false;
        if (next_rejoin_ms_ == 0 || retry_at_ms_[i] < next_rejoin_ms_) {
            next_rejoin_ms_ = retry_at_ms_[i];
        }
    }
    return on_ring;
}

}  // namespace cachemux
