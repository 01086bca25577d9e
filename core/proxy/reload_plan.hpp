// A reload as the workers apply it: the new configuration's pools, what
// each carries on of the running ones, and the latch on which the control
// thread waits until every worker has switched.
//
// The control thread builds it (off the request path), posts it to every
// worker's inbox, and waits: each worker applies it between two loop turns,
// after the clients handed to it under the old configuration and before
// any handed to it under the new one. So the switch takes every worker one
// loop turn, and the stats port, on the waiting thread, never reads a
// worker's numbers while they are laid out anew.
#pragma once

#include <cstddef>
#include <latch>
#include <memory>
#include <vector>

#include "proxy/shared_pool.hpp"
#include "routing/pool_match.hpp"

namespace cachemux {

struct ReloadPlan {
    ReloadPlan(std::vector<std::shared_ptr<SharedPool>> pools, std::vector<PoolMatch> matches, std::size_t workers)
        : pools(std::move(pools)), matches(std::move(matches)), applied(static_cast<std::ptrdiff_t>(workers)) {}

    const std::vector<std::shared_ptr<SharedPool>> pools;  // the new configuration's, in its order
    const std::vector<PoolMatch> matches;                  // parallel to pools
    std::latch applied;                                    // each worker counts down once
};

}  // namespace cachemux
