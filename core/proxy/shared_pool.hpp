// What every worker shares of one pool: its ring (with ejections), and how
// many clients it has, against the pool's client_connections.
//
// A reload makes a new SharedPool for every pool of the new configuration
// (a new ring, over the new config); a pool it keeps hands on its client
// count, since its clients stay.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "routing/live_ring.hpp"

namespace cachemux {

// Clients accepted and not yet closed, in every worker: the acceptor adds
// one as it accepts, the worker that closes a client takes it off.
struct ClientCount {
    alignas(64) std::atomic<std::size_t> value{0};
};

struct SharedPool {
    SharedPool(std::shared_ptr<const ServerPool> pool, std::shared_ptr<ClientCount> clients)
        : ring(std::move(pool)), clients(std::move(clients)) {}
    explicit SharedPool(std::shared_ptr<const ServerPool> pool)
        : SharedPool(std::move(pool), std::make_shared<ClientCount>()) {}

    const ServerPool& configured() const { return ring.configured(); }

    LiveRing ring;
    const std::shared_ptr<ClientCount> clients;
};

}  // namespace cachemux
