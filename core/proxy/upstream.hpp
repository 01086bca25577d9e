// A pool inside one worker: the worker's connections to the pool's
// servers, its clients of the pool, and its stats for it. Routing comes
// from the pool's LiveRing, shared by every worker; the Upstream keeps the
// ring it routes with and takes a new one when the generation moves.
//
// A reload that keeps the pool reseats its Upstream on the new SharedPool:
// clients, the kept servers' connections and every counter stay; the
// connections of servers that left are retired and drain. A reload that
// removes the pool retires the whole Upstream: its clients get what they
// are owed and are closed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "cachemux/protocol_abi.hpp"
#include "proxy/shared_pool.hpp"
#include "routing/server_pool.hpp"
#include "stats/stats.hpp"

namespace cachemux {

class ClientConnection;
class ServerConnection;
class Worker;
struct Request;

// A retired connection's server_stats() index: counted apart, never reported.
inline constexpr std::uint32_t kRetiredServer = UINT32_MAX;

class Upstream {
public:
    // How long what a reload retired may take to finish: requests still on
    // a removed server's connection then get an error reply, and clients of
    // a removed pool are closed.
    static constexpr std::int64_t kDrainTimeoutMs = 30000;

    Upstream(Worker& worker, std::shared_ptr<SharedPool> shared);
    ~Upstream();
    Upstream(const Upstream&) = delete;
    Upstream& operator=(const Upstream&) = delete;

    // On the worker's thread, as it starts: preconnect's connections.
    void start();
    // A client the acceptor handed over (counted in SharedPool::clients).
    void adopt_client(int fd);

    // --- reload, on the worker's thread between two loop turns.
    // The pool carries on as `next`; `old_server` as PoolMatch has it.
    void reseat(std::shared_ptr<SharedPool> next, const std::vector<std::uint32_t>& old_server);
    // The pool left the configuration: its clients drain, and what they
    // still send gets an error reply (see ClientConnection::drain).
    void retire();
    bool retired() const { return retired_at_ms_ != 0; }
    // Deletes retired connections that are done (or overdue, after failing
    // what they hold). True when this is a retired pool with nothing left
    // (or past its drain time): the worker deletes it.
    bool reap(std::int64_t now_ms);
    // Queues `request` on a connection to server `index`.
    void send(std::uint32_t index, Request* request);
    // `request` has its reply (from its server, or an error reply in its
    // place): on to what waits for it (the client, the whole request of a
    // fragment, the unit of an attempt at a copy).
    void request_done(Request* request);
    // `parent`'s fragments are merged into its reply: on to its client.
    void merged(Request* parent);

    // The pool as this worker routes now: its ring without the servers ejected.
    const ServerPool& pool() const { return *pool_; }
    // pool(), first taking a ring another worker published, or letting
    // servers whose retry time has come rejoin.
    const ServerPool& routing_pool();
    // auto_eject_hosts bookkeeping, from the server connections.
    void server_failed(std::uint32_t index);
    void server_answered(std::uint32_t index) {
        if (index != kRetiredServer) {
            shared_->ring.answered(index);
        }
    }
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
    const PoolStats& stats() const { return stats_; }
    LiveServerMetrics& server_stats(std::uint32_t index) {
        return index == kRetiredServer ? retired_stats_ : stats_.servers[index];
    }
    const std::string& name() const { return shared_->configured().config().name; }

private:
    // Takes the published ring if it moved on; sends the probes a change
    // started.
    void refresh(const std::vector<std::uint32_t>& probes);
    // server_ejects and server_ejected_at.
    void count_ejection(std::uint32_t index);
    // Sends flush_on_rejoin's flush to server `index`.
    void probe(std::uint32_t index);
    // server_connections of them for server `index`, as configured now.
    void add_connections(std::uint32_t index, std::size_t count);
    void retire_connection(std::unique_ptr<ServerConnection> connection, std::int64_t now_ms);
    // The servers' facts for local replies, from the pool and versions_.
    void describe_servers();

    Worker& worker_;
    std::shared_ptr<SharedPool> shared_;
    std::shared_ptr<const ServerPool> pool_;  // the ring in use (servers ejected or not)
    std::uint64_t generation_ = 0;            // pool_'s, in shared_.ring
    PoolStats stats_;
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

    // What reloads retired: connections draining, each until its deadline,
    // with the pool they were made for (their Server lives in its config).
    struct Retired {
        std::shared_ptr<SharedPool> made_for;  // first: outlives the connection
        std::unique_ptr<ServerConnection> connection;
        std::int64_t deadline_ms;
    };
    std::vector<Retired> retired_;
    LiveServerMetrics retired_stats_;  // their numbers, no longer any server's
    std::int64_t retired_at_ms_ = 0;   // the pool's own retirement, 0 while configured
};

}  // namespace cachemux
