// nutcracker's auto_eject_hosts: which of a pool's servers are on the ring.
//
// A server whose connections fail `server_failure_limit` times in a row
// leaves the ring for `server_retry_timeout` ms; then it rejoins and is tried
// again. With `flush_on_rejoin` it rejoins only once a flush (a probe) has
// succeeded; a failed probe keeps it out for another retry timeout. Not
// thread-safe: LiveRing holds the one LiveSet of a pool for every worker.
#pragma once

#include <cstdint>
#include <vector>

#include "config/config.hpp"
#include "routing/pool_match.hpp"

namespace cachemux {

class LiveSet {
public:
    LiveSet(std::size_t servers, const PoolConfig& config);

    // A connection to `server` failed. True when that ejected it (the ring
    // must be rebuilt). Failures of a server off the ring do not count.
    bool failed(std::uint32_t server, std::int64_t now_ms);
    // `server` answered: its failures no longer count.
    void answered(std::uint32_t server) { failures_[server] = 0; }
    // Some ejected server's retry time has passed (the ring must be rebuilt).
    bool rejoin_due(std::int64_t now_ms) const { return next_rejoin_ms_ != 0 && now_ms > next_rejoin_ms_; }
    bool any_ejected() const { return next_rejoin_ms_ != 0; }
    // The earliest retry time of an ejected server, 0 if none is.
    std::int64_t next_rejoin_ms() const { return next_rejoin_ms_; }
    // Which servers are on the ring now. Servers whose retry time has come
    // rejoin (as nutcracker's ring update does), or with flush_on_rejoin are
    // appended to `probe` and stay off the ring until probe_done().
    std::vector<bool> live(std::int64_t now_ms, std::vector<std::uint32_t>& probe);
    // The probe of `server` ended; true when it rejoined (rebuild the ring).
    bool probe_done(std::uint32_t server, bool succeeded, std::int64_t now_ms);
    // Which servers are on the ring, changing nothing (no rejoin is started).
    std::vector<bool> on_ring() const;

    // A reload kept some servers: `old_server[i]` is server i's index in
    // `before`, or kNoMatch. Their failures, ejections and retry times carry
    // over, unless this pool no longer ejects.
    void carry_over(const LiveSet& before, const std::vector<std::uint32_t>& old_server);

private:
    enum class State : std::uint8_t { OnRing, Ejected, Probing };

    void eject(std::uint32_t server, std::int64_t now_ms);

    bool enabled_;
    bool probe_first_;
    std::uint32_t failure_limit_;
    std::int64_t retry_timeout_ms_;
    std::vector<State> state_;
    std::vector<std::uint32_t> failures_;
    std::vector<std::int64_t> retry_at_ms_;  // when an Ejected server is tried again
    std::int64_t next_rejoin_ms_ = 0;        // earliest retry_at_ms_ of an Ejected server, 0 if none
};

}  // namespace cachemux
