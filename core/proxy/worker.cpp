#include "proxy/worker.hpp"

#include <malloc.h>
#include <unistd.h>

#include <stdexcept>

#include "process/steady_clock.hpp"
#include "proxy/client_connection.hpp"
#include "proxy/reload_plan.hpp"

namespace cachemux {

Worker::Worker(std::size_t mbuf_size, const std::vector<std::shared_ptr<SharedPool>>& pools,
               std::atomic<std::size_t>& process_clients, std::int64_t started_at)
    : started_at_(started_at),
      process_clients_(process_clients),
      mbufs_(mbuf_size),
      scratch_(mbufs_),
      flushes_(base_.get()) {
    if (base_.get() == nullptr) {
        throw std::runtime_error("cannot create the event loop");
    }
    for (const auto& pool : pools) {
        upstreams_.push_back(std::make_unique<Upstream>(*this, pool));
    }
    inbox_.attach(base_.get(), [this](const WorkerMessage& message) { deliver(message); });
    trim_timer_ = event_new(base_.get(), -1, EV_PERSIST, &Worker::on_trim, this);
    timeval every_second{1, 0};
    event_add(trim_timer_, &every_second);
}

Worker::~Worker() {
    event_free(trim_timer_);
    upstreams_.clear();
    retired_.clear();
    // Run the deferred deletions of closed connections before the loop goes.
    event_base_loop(base_.get(), EVLOOP_NONBLOCK);
}

void Worker::run() {
    for (auto& upstream : upstreams_) {
        upstream->start();
    }
    event_base_dispatch(base_.get());
}

void Worker::deliver(const WorkerMessage& message) {
    switch (message.kind) {
    case WorkerMessage::Kind::Client:
        upstreams_[message.pool]->adopt_client(message.fd);
        break;
    case WorkerMessage::Kind::Reload:
        apply(*message.plan);
        break;
    case WorkerMessage::Kind::Stop:
        event_base_loopbreak(base_.get());
        break;
    }
}

void Worker::apply(ReloadPlan& plan) {
    std::vector<std::unique_ptr<Upstream>> next(plan.pools.size());
    for (std::size_t i = 0; i < plan.pools.size(); ++i) {
        const PoolMatch& match = plan.matches[i];
        if (match.kept()) {
            next[i] = std::move(upstreams_[match.old_pool]);
            next[i]->reseat(plan.pools[i], match.old_server);
        } else {
            next[i] = std::make_unique<Upstream>(*this, plan.pools[i]);
            next[i]->start();
        }
    }
    for (auto& removed : upstreams_) {
        if (removed != nullptr) {
            removed->retire();
            retired_.push_back(std::move(removed));
        }
    }
    upstreams_ = std::move(next);
    reap(now_ms());  // what was idle goes now: a removed server sees its connections close
    plan.applied.count_down();
}

void Worker::reap(std::int64_t now_ms) {
    for (auto& upstream : upstreams_) {
        upstream->reap(now_ms);
    }
    std::erase_if(retired_, [now_ms](std::unique_ptr<Upstream>& upstream) { return upstream->reap(now_ms); });
}

void Worker::client_closed() {
    assigned_clients_.fetch_sub(1, std::memory_order_relaxed);
    process_clients_.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::on_trim(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<Worker*>(arg);
    self->reap(now_ms());
    std::size_t freed = self->mbufs_.trim() + self->requests_.trim();
    if (freed > 0) {
        // free() keeps the pages of chunks below the heap's top; hand them back.
        malloc_trim(0);
    }
}

void Worker::add_stats_to(StatsSnapshot& snapshot) const {
    snapshot.total_connections += total_connections_.get();
    snapshot.curr_connections += curr_connections_.get();
    for (std::size_t i = 0; i < upstreams_.size() && i < snapshot.pools.size(); ++i) {
        add_to(snapshot.pools[i], upstreams_[i]->stats());
    }
}

StatsSnapshot::Worker Worker::figures() const {
    StatsSnapshot::Worker figures;
    for (const auto& upstream : upstreams_) {
        const PoolStats& stats = upstream->stats();
        figures.client_connections += stats.pool.client_connections.get();
        for (const LiveServerMetrics& server : stats.servers) {
            figures.requests += server.requests.get();
        }
    }
    return figures;
}

}  // namespace cachemux
