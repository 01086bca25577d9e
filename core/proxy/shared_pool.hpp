// What every worker shares of one pool: its ring (with ejections), and how
// many clients it has, against the pool's client_connections.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "routing/live_ring.hpp"

namespace cachemux {

struct SharedPool {
    explicit SharedPool(std::shared_ptr<const ServerPool> pool) : ring(std::move(pool)) {}

    const ServerPool& configured() const { return ring.configured(); }

    LiveRing ring;
    // Clients accepted and not yet closed, in every worker: the acceptor
    // adds one as it accepts, the worker that closes a client takes it off.
    alignas(64) std::atomic<std::size_t> clients{0};
};

}  // namespace cachemux
