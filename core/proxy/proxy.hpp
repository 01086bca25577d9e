// The proxy as the process runs it: the control loop on the calling thread
// (each pool's Acceptor, and whatever the caller adds: the stats port,
// signals), and --workers worker threads, each one event loop with its own
// connections.
//
// Nothing the request path touches is shared but read-only state: the rings
// (LiveRing, written on a change) and the config. Clients reach a worker
// through its inbox, once per connection; the stats port reads the
// workers' cells; limits are counted here, for the whole process.
//
// reload() swaps in a new configuration's pools while everything runs: see
// ReloadPlan for how the workers switch, and docs/design.md for what
// carries over.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "proxy/acceptor.hpp"
#include "proxy/event_loop.hpp"
#include "proxy/shared_pool.hpp"
#include "proxy/worker.hpp"
#include "routing/server_pool.hpp"
#include "stats/stats.hpp"

namespace cachemux {

class Proxy {
public:
    Proxy(std::size_t workers, std::size_t mbuf_size, std::vector<std::shared_ptr<const ServerPool>> pools);
    ~Proxy();
    Proxy(const Proxy&) = delete;
    Proxy& operator=(const Proxy&) = delete;

    // Binds every pool's listener; throws std::runtime_error naming the address.
    void listen();

    // What a reload changed, for its log line.
    struct ReloadSummary {
        std::size_t pools = 0, servers_kept = 0, servers_added = 0, servers_removed = 0;
        std::size_t pools_added = 0, pools_removed = 0, listeners_opened = 0, listeners_closed = 0;
    };
    // On the control loop, while the workers run: switches every worker to
    // `pools`, built from `config_file`. Listeners on new addresses are
    // bound first; if one cannot be, ConfigError names the pool's `listen`
    // and nothing changed.
    ReloadSummary reload(std::vector<std::shared_ptr<const ServerPool>> pools, const std::string& config_file);
    // 1 for the configuration the proxy started with, one more per reload.
    std::uint64_t generation() const { return generation_; }
    // Starts the workers, runs the control loop until stop(), then stops
    // the workers and waits for them.
    void run();
    // On the control loop (a signal's event): run() returns.
    void stop();

    event_base* base() { return base_.get(); }
    std::int64_t started_at() const { return started_at_; }
    // The connection counts and every pool's numbers summed over the
    // workers, plus each worker's figures (for /metrics). On the control
    // thread (the stats port's), while the workers run.
    void collect_stats(StatsSnapshot& snapshot);

    // For the acceptors, on the control thread.
    SharedPool& pool(std::uint32_t index) { return *pools_[index]; }
    // A client of `pool` may be served: under the process's fd limit and
    // the pool's client_connections. Counts it if so.
    bool admit(std::uint32_t pool);
    // Gives accepted client `fd` of `pool` to the worker with the fewest
    // clients (in turn among equals).
    void hand_off(std::uint32_t pool, int fd);
    std::size_t max_clients() const { return max_clients_; }

private:
    // Each worker is built, run and destroyed on its own thread, so that
    // everything it owns comes from that thread's heap and shares no cache
    // line with another worker's. Throws what a worker's construction threw.
    void start_workers();
    void run_worker(std::size_t index, std::promise<void>& ready);
    void stop_workers();
    // nutcracker's client limit from RLIMIT_NOFILE, for the pools now.
    void count_fd_reserve();
    // Listeners for `pools`: the running ones whose address stays, new ones
    // bound for the rest (the control loop is busy meanwhile: none accepts).
    std::vector<std::unique_ptr<Acceptor>> listeners_for(const std::vector<std::shared_ptr<SharedPool>>& pools,
                                                         const std::string& config_file, ReloadSummary& summary);

    EventLoop base_;  // first member: freed last, after every event made on it
    std::int64_t started_at_;
    std::vector<std::shared_ptr<SharedPool>> pools_;  // shared with the workers' Upstreams
    std::uint64_t generation_ = 1;
    std::atomic<std::size_t> clients_{0};  // every pool's, every worker's
    std::size_t max_clients_ = 0;
    std::size_t worker_count_;
    std::size_t mbuf_size_;
    std::vector<Worker*> workers_;  // owned by their threads; set before start_workers() returns
    std::vector<std::thread> threads_;
    std::vector<std::unique_ptr<Acceptor>> acceptors_;
    std::size_t next_worker_ = 0;  // where the search for the least busy worker starts
};

}  // namespace cachemux
