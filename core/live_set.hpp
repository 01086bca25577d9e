// nutcracker's auto_eject_hosts: which of a pool's servers are on the ring.
//
// A server whose connections fail `server_failure_limit` times in a row
// leaves the ring for `server_retry_timeout` ms; then it rejoins and is tried
// again. Counted per worker, like every other per-connection fact.
#pragma once

#include <cstdint>
#include <vector>

#include "config.hpp"

namespace cachemux {

class LiveSet {
public:
    LiveSet(std::size_t servers, const PoolConfig& config);

    // A connection to `server` failed. True when that ejected it (the ring
    // must be rebuilt).
    bool failed(std::uint32_t server, std::int64_t now_ms);
    // `server` answered: its failures no longer count.
    void answered(std::uint32_t server) { failures_[server] = 0; }
    // Some ejected server's retry time has passed (the ring must be rebuilt).
    bool rejoin_due(std::int64_t now_ms) const { return next_rejoin_ms_ != 0 && now_ms > next_rejoin_ms_; }
    bool any_ejected() const { return next_rejoin_ms_ != 0; }
    // Which servers are on the ring now; servers whose retry time has come
    // rejoin (as nutcracker's ring update does).
    std::vector<bool> live(std::int64_t now_ms);

private:
    bool enabled_;
    std::uint32_t failure_limit_;
    std::int64_t retry_timeout_ms_;
    std::vector<std::uint32_t> failures_;
    std::vector<std::int64_t> retry_at_ms_;  // 0: on the ring
    std::int64_t next_rejoin_ms_ = 0;
};

}  // namespace cachemux
