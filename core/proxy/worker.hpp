// One event loop and everything its connections touch: buffers, requests,
// and per pool a listener plus the server connections. Today there is one
// worker; later one per core, each with its own Upstreams over shared,
// immutable ServerPools.
#pragma once

#include <event2/event.h>

#include <memory>
#include <string_view>
#include <string>
#include <unordered_set>
#include <vector>

#include "buffers/mbuf.hpp"
#include "buffers/message_writer.hpp"
#include "proxy/flush_queue.hpp"
#include "proxy/request.hpp"
#include "routing/live_set.hpp"
#include "routing/server_pool.hpp"
#include "stats/stats.hpp"

namespace cachemux {

class ClientConnection;
class ServerConnection;
class Worker;

// A pool inside one worker.
class Upstream {
public:
    Upstream(Worker& worker, std::shared_ptr<const ServerPool> pool);
    ~Upstream();

    void start_listening();
    // Queues `request` on a connection to server `index`.
    void send(std::uint32_t index, Request* request);

    // The pool as it routes now: its ring without the servers ejected.
    const ServerPool& pool() const { return *pool_; }
    // pool(), first letting servers whose retry time has come rejoin the ring.
    const ServerPool& routing_pool();
    // auto_eject_hosts bookkeeping, from the server connections.
    void server_failed(std::uint32_t index);
    void server_answered(std::uint32_t index) { live_.answered(index); }
    // flush_on_rejoin: the flush sent to rejoining server `index` ended.
    void probe_done(std::uint32_t index, bool flushed);
    Worker& worker() { return worker_; }
    void forget_client(ClientConnection* client);
    // A server's handshake said which version it runs (redis: INFO server).
    void server_version(std::uint32_t index, std::string_view version);
    // What a reply the proxy gives itself may say of the proxy, the pool and
    // `client`.
    abi::LocalContext local_context(abi::ClientSession& client) const;
    // This worker's numbers for the pool; bumped by its connections.
    PoolStats& stats() { return stats_; }
    ServerMetrics& server_stats(std::uint32_t index) { return stats_.servers[index]; }
    const std::string& name() const { return configured_->config().name; }

private:
    static void on_accept(evutil_socket_t fd, short events, void* arg);
    static void on_accept_resume(evutil_socket_t fd, short events, void* arg);
    // Out of file descriptors: stop accepting for a moment rather than spin
    // on a listener that stays readable.
    void pause_accepting();

    void rebuild_ring();
    // server_ejects and server_ejected_at.
    void count_ejection(std::uint32_t index);
    // Sends flush_on_rejoin's flush to server `index`.
    void probe(std::uint32_t index);

    Worker& worker_;

    std::shared_ptr<const ServerPool> configured_;  // every server on the ring; connections refer to its servers
    std::shared_ptr<const ServerPool> pool_;        // the ring in use (servers ejected or not)
    LiveSet live_;
    PoolStats stats_;
    int listen_fd_ = -1;
    event* accept_event_ = nullptr;
    event* accept_resume_ = nullptr;  // ends pause_accepting()
    // Per server: its connections, used in turn.
    struct ServerConnections {
        std::vector<std::unique_ptr<ServerConnection>> connections;
        std::size_t next = 0;
    };
    std::vector<ServerConnections> servers_;
    std::unordered_set<ClientConnection*> clients_;
    // Per server: its name and the version it reported (views into the
    // servers and into versions_), for local replies.
    std::vector<std::string> versions_;
    std::vector<abi::ServerFacts> facts_;
    std::size_t refused_ = 0;  // clients over a limit since the last log line about them
    std::int64_t refusal_logged_ms_ = 0;
};

// Working space for splitting and merging multi-key requests, reused by
// every request of the worker so that the steady state allocates nothing.
struct RoutingScratch {
    std::vector<std::uint32_t> fragment_of_server;  // server index -> fragment, or UINT32_MAX
    std::vector<std::uint32_t> fragment_server;     // fragment -> server index
    std::vector<std::uint32_t> key_indices;         // the keys of one fragment
    std::vector<abi::FragmentReply> replies;        // fragment replies, for a merge
};

class Worker {
public:
    Worker(std::size_t mbuf_size, std::vector<std::shared_ptr<const ServerPool>> pools);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Binds every pool's listener; throws std::runtime_error naming the address.
    void listen();
    // Runs until stop() (or a signal handler calling it).
    void run();
    void stop();

    event_base* base() { return base_.get(); }
    MbufPool& mbufs() { return mbufs_; }
    RequestPool& requests() { return requests_; }
    ScratchSpace& scratch() { return scratch_; }
    RoutingScratch& routing() { return routing_; }
    FlushQueue& flushes() { return flushes_; }
    // Client connections of every pool, against the process's fd limit.
    bool client_limit_reached() const { return clients_ >= max_clients_; }
    std::size_t max_clients() const { return max_clients_; }
    void client_opened() { ++clients_; }
    void client_closed() { --clients_; }
    // The connection counts and every pool's numbers into `snapshot` (the
    // pools laid out on first use).
    void collect_stats(StatsSnapshot& snapshot) const;
    // nutcracker's total_connections and curr_connections.
    void connection_opened() {
        ++total_connections_;
        ++curr_connections_;
    }
    void connection_closed() { --curr_connections_; }
    std::int64_t started_at() const { return started_at_; }

private:
    // Once a second: spare buffers and requests beyond recent use go back to
    // the system, so memory taken by a burst or a fault does not stay.
    static void on_trim(evutil_socket_t fd, short events, void* arg);

    // First member, so the loop is freed last, after every event made on it.
    struct EventBase {
        event_base* base = event_base_new();
        ~EventBase() { event_base_free(base); }
        event_base* get() const { return base; }
    } base_;
    std::int64_t started_at_;
    MbufPool mbufs_;
    RequestPool requests_;
    ScratchSpace scratch_;
    RoutingScratch routing_;
    FlushQueue flushes_;
    std::vector<std::unique_ptr<Upstream>> upstreams_;
    std::size_t clients_ = 0;
    std::size_t max_clients_ = 0;
    event* trim_timer_ = nullptr;
    std::int64_t total_connections_ = 0;
    std::int64_t curr_connections_ = 0;
};

}  // namespace cachemux
