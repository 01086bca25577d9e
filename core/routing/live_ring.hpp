// A pool's ring as every worker routes it: one LiveSet (auto_eject_hosts)
// for the whole process, and the ring built from it, shared read-only.
//
// A server's failures are counted across workers, and an answer in any
// worker resets the count, as in one process. The call that reaches
// `server_failure_limit` ejects the server once, builds the ring without it
// once, and publishes it; each worker sees the new generation on its next
// request and takes the ring. Rejoins work the same way: the first worker
// to route after the retry time rebuilds for all, so every worker tries the
// server again at the same moment, and a flush_on_rejoin probe goes out once.
//
// The request path only reads: two atomics on a cache line written when the
// ring changes, nothing else. Changes (faults, rejoins) take a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "routing/live_set.hpp"
#include "routing/server_pool.hpp"

namespace cachemux {

class LiveRing {
public:
    explicit LiveRing(std::shared_ptr<const ServerPool> configured);
    LiveRing(const LiveRing&) = delete;
    LiveRing& operator=(const LiveRing&) = delete;

    // Every server on the ring: the pool as configured.
    const ServerPool& configured() const { return *configured_; }

    // --- request path: reads only.
    // Bumped each time a new ring is published.
    std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
    // Some ejected server's retry time has passed (call rejoin()).
    bool rejoin_due(std::int64_t now_ms) const noexcept {
        std::int64_t at = next_rejoin_ms_.load(std::memory_order_relaxed);
        return at != 0 && now_ms > at;
    }
    bool any_ejected() const noexcept { return next_rejoin_ms_.load(std::memory_order_relaxed) != 0; }
    // The server answered: its failures no longer count. Writes only when
    // there were failures, so steady traffic writes nothing shared.
    void answered(std::uint32_t server);

    // --- on a change: these lock. Any ring they publish also lets servers
    // whose retry time has come back on the ring or, with flush_on_rejoin,
    // appends them to `probe`: the caller sends each one its flush and
    // reports with probe_done().
    // The ring now, and its generation.
    std::shared_ptr<const ServerPool> current(std::uint64_t& generation) const;
    // A connection to `server` failed. True when this call ejected it (the
    // caller counts server_ejects); the new ring is published by then.
    bool failed(std::uint32_t server, std::int64_t now_ms, std::vector<std::uint32_t>& probe);
    // The rejoins that are due; nothing if another worker did them first.
    void rejoin(std::int64_t now_ms, std::vector<std::uint32_t>& probe);
    // The probe of `server` ended: true when that put it back on the ring.
    // A failed probe keeps it out for another retry timeout.
    bool probe_done(std::uint32_t server, bool flushed, std::int64_t now_ms, std::vector<std::uint32_t>& probe);

    // --- a reload, before any worker sees this ring: the servers it kept
    // (`old_server`, as PoolMatch has it) keep their failures and ejections,
    // and the ring leaves out the ones still ejected.
    void inherit(const LiveRing& before, const std::vector<std::uint32_t>& old_server);

private:
    // With mutex_ held: the ring over live_'s servers, published.
    void publish(std::int64_t now_ms, std::vector<std::uint32_t>& probe);

    const std::shared_ptr<const ServerPool> configured_;
    const bool eject_enabled_;

    // Read by every request: apart from what a change writes under the lock.
    alignas(64) std::atomic<std::uint64_t> generation_{0};
    std::atomic<std::int64_t> next_rejoin_ms_{0};  // LiveSet's, mirrored for lock-free reads

    alignas(64) mutable std::mutex mutex_;
    LiveSet live_;                                 // guarded by mutex_
    std::shared_ptr<const ServerPool> ring_;       // guarded by mutex_
    std::unique_ptr<std::atomic<bool>[]> failing_;  // per server: failures counted since its last answer
};

}  // namespace cachemux
