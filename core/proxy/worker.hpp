// One worker thread: one event loop and everything its connections touch,
// owned alone: its client connections, its connections to every server
// (server_connections per worker), its buffers and requests, its timers,
// and its own stats cells. Workers share only read-mostly state: each
// pool's SharedPool (the ring and the client count) and the process's
// client count.
#pragma once

#include <event2/event.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "buffers/mbuf.hpp"
#include "buffers/message_writer.hpp"
#include "proxy/event_loop.hpp"
#include "proxy/flush_queue.hpp"
#include "proxy/request.hpp"
#include "proxy/shared_pool.hpp"
#include "proxy/upstream.hpp"
#include "proxy/worker_inbox.hpp"
#include "stats/stats.hpp"

namespace cachemux {

// Working space for splitting and merging multi-key requests, reused by
// every request of the worker so that the steady state allocates nothing.
struct RoutingScratch {
    std::vector<std::uint32_t> fragment_of_server;  // server index -> fragment, or UINT32_MAX
    std::vector<std::uint32_t> fragment_server;     // fragment -> server index
    std::vector<std::uint32_t> key_indices;         // the keys of one fragment
    std::vector<std::uint32_t> key_server;          // per key: its server (pools with copies)
    std::vector<abi::FragmentReply> replies;        // fragment replies, for a merge
    std::string reply_text;                         // a hit's reply made contiguous, for a backfill
};

class Worker {
public:
    // `process_clients` counts the clients of every worker (the acceptor
    // adds, the closing worker subtracts); `started_at` is the process's
    // start, for local replies.
    Worker(std::size_t mbuf_size, const std::vector<std::shared_ptr<SharedPool>>& pools,
           std::atomic<std::size_t>& process_clients, std::int64_t started_at);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Built, run and destroyed on the worker's own thread (Proxy::run_worker).
    // Starts the pools (preconnect) and runs the loop until a Stop message.
    void run();
    // Any thread: messages for the loop (a client to adopt, the stop).
    WorkerInbox& inbox() { return inbox_; }

    // The worker's own thread only, from here on.
    event_base* base() { return base_.get(); }
    MbufPool& mbufs() { return mbufs_; }
    RequestPool& requests() { return requests_; }
    ScratchSpace& scratch() { return scratch_; }
    RoutingScratch& routing() { return routing_; }
    FlushQueue& flushes() { return flushes_; }
    void client_closed();
    // nutcracker's total_connections and curr_connections, this worker's share.
    void connection_opened() {
        ++total_connections_;
        ++curr_connections_;
    }
    void connection_closed() { --curr_connections_; }
    std::int64_t started_at() const { return started_at_; }

    // Any thread (the stats port): adds this worker's numbers into
    // `snapshot`, whose pools are laid out already.
    void add_stats_to(StatsSnapshot& snapshot) const;
    // Its clients and the requests it sent (cpu_seconds left 0). Any thread.
    StatsSnapshot::Worker figures() const;
    // Clients the acceptor gave this worker that are still open: the
    // acceptor adds, the worker subtracts as one closes.
    std::atomic<std::size_t>& assigned_clients() { return assigned_clients_; }

private:
    // Once a second: spare buffers and requests beyond recent use go back to
    // the system, so memory taken by a burst or a fault does not stay.
    static void on_trim(evutil_socket_t fd, short events, void* arg);
    void deliver(const WorkerMessage& message);
    // Switches to a reload's pools (see ReloadPlan), then counts down its latch.
    void apply(ReloadPlan& plan);
    // Frees what reloads retired once it is done (or overdue).
    void reap(std::int64_t now_ms);

    EventLoop base_;  // first member: freed last, after every event made on it
    std::int64_t started_at_;
    std::atomic<std::size_t>& process_clients_;
    MbufPool mbufs_;
    RequestPool requests_;
    ScratchSpace scratch_;
    RoutingScratch routing_;
    FlushQueue flushes_;
    std::vector<std::unique_ptr<Upstream>> upstreams_;  // the configuration's pools, in its order
    std::vector<std::unique_ptr<Upstream>> retired_;    // pools a reload removed, draining
    WorkerInbox inbox_;
    event* trim_timer_ = nullptr;
    StatCell total_connections_;
    StatCell curr_connections_;
    alignas(64) std::atomic<std::size_t> assigned_clients_{0};
};

}  // namespace cachemux
