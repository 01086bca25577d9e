#include "proxy/proxy.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "process/fatal_signals.hpp"
#include "process/log.hpp"
#include "proxy/reload_plan.hpp"
#include "routing/pool_match.hpp"

namespace cachemux {

Proxy::Proxy(std::size_t workers, std::size_t mbuf_size, std::vector<std::shared_ptr<const ServerPool>> pools)
    : started_at_(std::time(nullptr)), worker_count_(std::max<std::size_t>(1, workers)), mbuf_size_(mbuf_size) {
    if (base_.get() == nullptr) {
        throw std::runtime_error("cannot create the event loop");
    }
    for (auto& pool : pools) {
        pools_.push_back(std::make_shared<SharedPool>(std::move(pool)));
    }
    count_fd_reserve();
}

// nutcracker's limit: the fds left once every server connection and a
// reserve of 32 are counted, less one per pool (nutcracker 0.5.0 counts its
// listeners among the clients; observed black-box). Each worker has its own
// server connections, and beyond the first an event loop and an eventfd of
// its own.
void Proxy::count_fd_reserve() {
    constexpr std::size_t kReservedFds = 32;
    std::size_t server_connections = 0;
    for (auto& pool : pools_) {
        server_connections += pool->configured().servers().size() *
                              static_cast<std::size_t>(std::max(1, pool->configured().config().server_connections));
    }
    std::size_t reserved =
        worker_count_ * server_connections + kReservedFds + pools_.size() + 2 * (worker_count_ - 1);
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY && files.rlim_cur > reserved) {
        max_clients_ = files.rlim_cur - reserved;
    } else {
        max_clients_ = files.rlim_cur == RLIM_INFINITY ? SIZE_MAX : 0;
    }
}

Proxy::~Proxy() {
    stop_workers();
    acceptors_.clear();
}

void Proxy::listen() {
    for (std::uint32_t i = 0; i < pools_.size(); ++i) {
        const PoolConfig& config = pools_[i]->configured().config();
        acceptors_.push_back(std::make_unique<Acceptor>(*this, i));
        acceptors_.back()->listen(base_.get(), config.listen, config.backlog);
    }
}

void Proxy::run() {
    start_workers();
    event_base_dispatch(base_.get());
    stop_workers();
}

void Proxy::stop() { event_base_loopbreak(base_.get()); }

// Signals are the control loop's: workers start with every signal blocked
// but the faults, which are delivered to the thread that faults whatever
// the mask says (and would kill the process unlogged if blocked).
void Proxy::start_workers() {
    sigset_t all, saved;
    sigfillset(&all);
    for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
        sigdelset(&all, fault);
    }
    workers_.assign(worker_count_, nullptr);
    std::vector<std::promise<void>> ready(worker_count_);
    std::vector<std::future<void>> started;
    for (auto& promise : ready) {
        started.push_back(promise.get_future());
    }
    pthread_sigmask(SIG_BLOCK, &all, &saved);
    for (std::size_t i = 0; i < worker_count_; ++i) {
        threads_.emplace_back([this, i, &promise = ready[i]] { run_worker(i, promise); });
    }
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);
    try {
        for (auto& future : started) {
            future.get();
        }
    } catch (...) {
        stop_workers();  // the ones that did start
        throw;
    }
}

void Proxy::run_worker(std::size_t index, std::promise<void>& ready) {
    char name[16];
    std::snprintf(name, sizeof name, "cachemux-w%zu", index);
    pthread_setname_np(pthread_self(), name);
    install_thread_signal_stack();
    std::unique_ptr<Worker> worker;
    try {
        worker = std::make_unique<Worker>(mbuf_size_, pools_, clients_, started_at_);
    } catch (...) {
        ready.set_exception(std::current_exception());
        return;
    }
    workers_[index] = worker.get();
    ready.set_value();
    worker->run();
    workers_[index] = nullptr;  // read by the control thread only after the join
}

void Proxy::stop_workers() {
    for (Worker* worker : workers_) {
        if (worker != nullptr) {
            worker->inbox().post({WorkerMessage::Kind::Stop});
        }
    }
    for (std::thread& thread : threads_) {
        thread.join();
    }
    threads_.clear();
    workers_.clear();
}

bool Proxy::admit(std::uint32_t pool) {
    // Only this thread adds, so a check then an add cannot overshoot.
    std::atomic<std::size_t>& in_pool = pools_[pool]->clients->value;
    int pool_limit = pools_[pool]->configured().config().client_connections;
    if (clients_.load(std::memory_order_relaxed) >= max_clients_ ||
        (pool_limit > 0 && in_pool.load(std::memory_order_relaxed) >= static_cast<std::size_t>(pool_limit))) {
        return false;
    }
    clients_.fetch_add(1, std::memory_order_relaxed);
    in_pool.fetch_add(1, std::memory_order_relaxed);
    return true;
}

void Proxy::hand_off(std::uint32_t pool, int fd) {
    std::size_t chosen = next_worker_;
    std::size_t fewest = SIZE_MAX;
    for (std::size_t k = 0; k < workers_.size(); ++k) {
        std::size_t i = (next_worker_ + k) % workers_.size();
        std::size_t clients = workers_[i]->assigned_clients().load(std::memory_order_relaxed);
        if (clients < fewest) {
            fewest = clients;
            chosen = i;
        }
    }
    next_worker_ = (chosen + 1) % workers_.size();
    workers_[chosen]->assigned_clients().fetch_add(1, std::memory_order_relaxed);
    workers_[chosen]->inbox().post({WorkerMessage::Kind::Client, pool, fd});
}

void Proxy::collect_stats(StatsSnapshot& snapshot) {
    if (snapshot.config_generation != generation_) {
        snapshot.config_generation = generation_;
        snapshot.pools.clear();
        for (const auto& shared : pools_) {
            StatsSnapshot::Pool pool;
            pool.name = shared->configured().config().name;
            const ServerPool& configured = shared->configured();
            for (const Server& server : configured.servers()) {
                pool.servers.push_back({server.name, {}});
            }
            for (std::size_t copy = 0; configured.copies() > 1 && copy < configured.copies(); ++copy) {
                pool.server_copy.resize(configured.copy_end(copy), static_cast<std::uint32_t>(copy));
            }
            snapshot.pools.push_back(std::move(pool));
        }
    }
    for (StatsSnapshot::Pool& pool : snapshot.pools) {
        pool.metrics = {};
        pool.copies = {};
        for (auto& server : pool.servers) {
            server.metrics = {};
        }
    }
    // nutcracker counts its listeners among the connections.
    snapshot.total_connections = static_cast<std::int64_t>(acceptors_.size());
    snapshot.curr_connections = static_cast<std::int64_t>(acceptors_.size());
    snapshot.workers.resize(workers_.size());
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        if (workers_[i] == nullptr) {
            continue;  // not started (the control loop runs only once they all are)
        }
        workers_[i]->add_stats_to(snapshot);
        StatsSnapshot::Worker& figures = snapshot.workers[i];
        figures = workers_[i]->figures();
        clockid_t clock;
        timespec used{};
        if (i < threads_.size() && pthread_getcpuclockid(threads_[i].native_handle(), &clock) == 0 &&
            clock_gettime(clock, &used) == 0) {
            figures.cpu_seconds = static_cast<double>(used.tv_sec) + static_cast<double>(used.tv_nsec) / 1e9;
        }
    }
}

Proxy::ReloadSummary Proxy::reload(std::vector<std::shared_ptr<const ServerPool>> pools,
                                  const std::string& config_file) {
    std::vector<const ServerPool*> before, after;
    for (const auto& shared : pools_) {
        before.push_back(&shared->configured());
    }
    for (const auto& pool : pools) {
        after.push_back(pool.get());
    }
    std::vector<PoolMatch> matches = match_pools(before, after);

    ReloadSummary summary;
    summary.pools = pools.size();
    std::vector<bool> pool_kept(pools_.size(), false);
    std::vector<std::shared_ptr<SharedPool>> next;
    for (std::size_t i = 0; i < pools.size(); ++i) {
        const PoolMatch& match = matches[i];
        if (!match.kept()) {
            next.push_back(std::make_shared<SharedPool>(std::move(pools[i])));
            ++summary.pools_added;
            summary.servers_added += after[i]->servers().size();
            continue;
        }
        const SharedPool& old = *pools_[match.old_pool];
        pool_kept[match.old_pool] = true;
        next.push_back(std::make_shared<SharedPool>(std::move(pools[i]), old.clients));
        next.back()->ring.inherit(old.ring, match.old_server);
        std::size_t kept = match.old_server.size() - std::count(match.old_server.begin(), match.old_server.end(), kNoMatch);
        summary.servers_kept += kept;
        summary.servers_added += match.old_server.size() - kept;
        summary.servers_removed += old.configured().servers().size() - kept;
    }
    for (std::size_t j = 0; j < pools_.size(); ++j) {
        if (!pool_kept[j]) {
            ++summary.pools_removed;
            summary.servers_removed += pools_[j]->configured().servers().size();
        }
    }
    // Throws before any worker hears of the reload.
    std::vector<std::unique_ptr<Acceptor>> listeners = listeners_for(next, config_file, summary);

    ReloadPlan plan(next, std::move(matches), workers_.size());
    for (Worker* worker : workers_) {
        worker->inbox().post({WorkerMessage::Kind::Reload, 0, -1, &plan});
    }
    plan.applied.wait();

    pools_ = std::move(next);
    acceptors_ = std::move(listeners);  // closes the addresses no pool listens on any more
    ++generation_;
    count_fd_reserve();
    return summary;
}

std::vector<std::unique_ptr<Acceptor>> Proxy::listeners_for(const std::vector<std::shared_ptr<SharedPool>>& pools,
                                                           const std::string& config_file, ReloadSummary& summary) {
    std::vector<std::size_t> running(pools.size(), SIZE_MAX);
    std::vector<bool> taken(acceptors_.size(), false);
    std::vector<std::unique_ptr<Acceptor>> listeners(pools.size());
    for (std::uint32_t i = 0; i < pools.size(); ++i) {
        const PoolConfig& config = pools[i]->configured().config();
        for (std::size_t k = 0; k < acceptors_.size() && running[i] == SIZE_MAX; ++k) {
            if (!taken[k] && same_endpoint(acceptors_[k]->endpoint(), config.listen.endpoint)) {
                running[i] = k;
                taken[k] = true;
            }
        }
        if (running[i] != SIZE_MAX) {
            continue;
        }
        listeners[i] = std::make_unique<Acceptor>(*this, i);
        try {
            listeners[i]->listen(base_.get(), config.listen, config.backlog);
        } catch (const std::exception& e) {
            throw config_error(config_file, config, "listen", e.what());  // the new sockets close with `listeners`
        }
        ++summary.listeners_opened;
    }
    // Every new address is bound: from here on nothing fails.
    for (std::uint32_t i = 0; i < pools.size(); ++i) {
        const PoolConfig& config = pools[i]->configured().config();
        if (running[i] != SIZE_MAX) {
            listeners[i] = std::move(acceptors_[running[i]]);
            listeners[i]->reuse_for(i, config.listen, config.backlog);
        }
    }
    summary.listeners_closed = static_cast<std::size_t>(std::count(taken.begin(), taken.end(), false));
    return listeners;
}

}  // namespace cachemux
