#include "proxy/upstream.hpp"

#include <unistd.h>

#include <chrono>

#include "buffers/message_writer.hpp"
#include "process/log.hpp"
#include "process/steady_clock.hpp"
#include "proxy/client_connection.hpp"
#include "proxy/copy_route.hpp"
#include "proxy/server_connection.hpp"
#include "proxy/socket.hpp"
#include "proxy/worker.hpp"

namespace cachemux {

Upstream::Upstream(Worker& worker, std::shared_ptr<SharedPool> shared)
    : worker_(worker),
      shared_(std::move(shared)),
      pool_(shared_->ring.current(generation_)),
      stats_(pool_->servers().size()),
      servers_(pool_->servers().size()),
      versions_(pool_->servers().size()) {
    describe_servers();
    std::size_t per_server = static_cast<std::size_t>(std::max(1, shared_->configured().config().server_connections));
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        add_connections(static_cast<std::uint32_t>(i), per_server);
    }
}

void Upstream::add_connections(std::uint32_t index, std::size_t count) {
    std::vector<std::unique_ptr<ServerConnection>>& connections = servers_[index].connections;
    while (connections.size() < count) {
        connections.push_back(std::make_unique<ServerConnection>(*this, shared_->configured().servers()[index], index));
    }
}

void Upstream::describe_servers() {
    facts_.clear();
    for (std::size_t i = 0; i < shared_->configured().servers().size(); ++i) {
        facts_.push_back({shared_->configured().servers()[i].name, versions_[i]});
    }
}

Upstream::~Upstream() {
    // Copy: close() removes the client from the set.
    std::vector<ClientConnection*> clients(clients_.begin(), clients_.end());
    for (ClientConnection* c : clients) {
        c->close();
    }
    servers_.clear();
    retired_.clear();
}

void Upstream::start() {
    if (!shared_->configured().config().preconnect) {
        return;
    }
    for (ServerConnections& server : servers_) {
        for (auto& connection : server.connections) {
            connection->preconnect();
        }
    }
}

void Upstream::adopt_client(int fd) {
    const PoolConfig& config = shared_->configured().config();
    if (!config.listen.endpoint.is_unix()) {
        set_tcp_nodelay(fd);
        if (config.tcpkeepalive) {
            set_tcp_keepalive(fd);
        }
    }
    clients_.insert(new ClientConnection(*this, fd));
    worker_.connection_opened();
    ++stats_.pool.client_connections;
}

void Upstream::forget_client(ClientConnection* client) {
    if (clients_.erase(client) != 0) {
        shared_->clients->value.fetch_sub(1, std::memory_order_relaxed);
        worker_.client_closed();
    }
}

// Two loads of a line that only changes with the ring: the steady state
// writes nothing shared and takes no lock.
const ServerPool& Upstream::routing_pool() {
    LiveRing& ring = shared_->ring;
    if (ring.any_ejected()) {
        if (std::int64_t now = now_ms(); ring.rejoin_due(now)) {
            std::vector<std::uint32_t> probes;
            ring.rejoin(now, probes);
            refresh(probes);
        }
    }
    if (ring.generation() != generation_) {
        refresh({});
    }
    return *pool_;
}

void Upstream::refresh(const std::vector<std::uint32_t>& probes) {
    if (shared_->ring.generation() != generation_) {
        pool_ = shared_->ring.current(generation_);
    }
    for (std::uint32_t index : probes) {
        probe(index);
    }
}

void Upstream::server_failed(std::uint32_t index) {
    if (index == kRetiredServer) {
        return;  // a server no longer configured: nothing to eject
    }
    std::vector<std::uint32_t> probes;
    if (shared_->ring.failed(index, now_ms(), probes)) {
        count_ejection(index);
    }
    refresh(probes);
}

void Upstream::probe_done(std::uint32_t index, bool flushed) {
    if (index == kRetiredServer) {
        return;
    }
    if (!flushed) {
        count_ejection(index);  // out again for another retry timeout
    }
    std::vector<std::uint32_t> probes;
    if (shared_->ring.probe_done(index, flushed, now_ms(), probes)) {
        CACHEMUX_LOG(kLogNotice, "pool '%s': server '%s' flushed, back on the ring", name().c_str(),
                     shared_->configured().servers()[index].pname.c_str());
    }
    refresh(probes);
}

void Upstream::count_ejection(std::uint32_t index) {
    const ServerPool& configured = shared_->configured();
    CACHEMUX_LOG(kLogWarn, "pool '%s': server '%s' ejected; retried in %d ms", name().c_str(),
                 configured.servers()[index].pname.c_str(), configured.config().server_retry_timeout_ms);
    ++stats_.pool.server_ejects;
    stats_.servers[index].server_ejected_at = std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count();
}

// The flush goes out on the server's first connection in this worker; the
// server is off every worker's ring until it answers, so nothing of a
// client's can overtake it.
void Upstream::probe(std::uint32_t index) {
    RequestPool& requests = worker_.requests();
    Request* flush = requests.get();
    flush->origin = Request::Origin::Probe;
    MessageBytesWriter writer(flush->bytes, worker_.scratch(), flush);
    if (!pool_->protocol().write_flush(writer)) {
        // Refused at config time for redis; a third-party protocol without
        // a flush rejoins as without the option.
        requests.release_if_unowned(flush);
        probe_done(index, true);
        return;
    }
    servers_[index].connections.front()->send(flush);
}

void Upstream::server_version(std::uint32_t index, std::string_view version) {
    if (index != kRetiredServer && version != versions_[index]) {
        versions_[index].assign(version);
        facts_[index].version = versions_[index];
    }
}

abi::LocalContext Upstream::local_context(abi::ClientSession& client) const {
    const ServerPool& configured = shared_->configured();
    const PoolConfig& config = configured.config();
    return {CACHEMUX_VERSION, worker_.started_at(), config.name, configured.settings(), config.listen.endpoint.port,
            facts_, shared_->clients->value.load(std::memory_order_relaxed), client};
}

void Upstream::send(std::uint32_t index, Request* request) {
    ServerConnections& s = servers_[index];
    ServerConnection& connection = *s.connections[s.next];
    s.next = (s.next + 1) % s.connections.size();
    connection.send(request);
}

void Upstream::retire_connection(std::unique_ptr<ServerConnection> connection, std::int64_t now_ms) {
    connection->retire();
    retired_.push_back({shared_, std::move(connection), now_ms + kDrainTimeoutMs});
}

// In this order: connections leave while the indices and stats they were
// counted under are still in place; then the stats and the ring change;
// then the kept connections take their new places.
void Upstream::reseat(std::shared_ptr<SharedPool> next, const std::vector<std::uint32_t>& old_server) {
    const ServerPool& configured = next->configured();
    std::size_t count = configured.servers().size();
    std::size_t per_server = static_cast<std::size_t>(std::max(1, configured.config().server_connections));
    std::int64_t now = now_ms();

    std::vector<std::uint32_t> new_index(servers_.size(), kNoMatch);
    for (std::size_t i = 0; i < count; ++i) {
        if (old_server[i] != kNoMatch) {
            new_index[old_server[i]] = static_cast<std::uint32_t>(i);
        }
    }
    for (std::size_t j = 0; j < servers_.size(); ++j) {
        std::vector<std::unique_ptr<ServerConnection>>& connections = servers_[j].connections;
        std::size_t keep = new_index[j] == kNoMatch ? 0 : per_server;
        while (connections.size() > keep) {
            retire_connection(std::move(connections.back()), now);
            connections.pop_back();
        }
    }

    std::vector<LiveServerMetrics> server_stats(count);
    std::vector<ServerConnections> servers(count);
    std::vector<std::string> versions(count);
    for (std::size_t i = 0; i < count; ++i) {
        if (std::uint32_t old = old_server[i]; old != kNoMatch) {
            carry_over(server_stats[i], stats_.servers[old]);
            servers[i].connections = std::move(servers_[old].connections);
            versions[i] = std::move(versions_[old]);
        }
    }
    stats_.servers = std::move(server_stats);
    shared_ = std::move(next);
    pool_ = shared_->ring.current(generation_);
    servers_ = std::move(servers);
    versions_ = std::move(versions);
    describe_servers();
    for (std::size_t i = 0; i < count; ++i) {
        for (auto& connection : servers_[i].connections) {
            connection->rebind(configured.servers()[i], static_cast<std::uint32_t>(i));
        }
        add_connections(static_cast<std::uint32_t>(i), per_server);
    }
    start();  // preconnect: the new servers' connections (kept ones are open)
}

void Upstream::retire() {
    std::int64_t now = now_ms();
    retired_at_ms_ = now;
    for (ServerConnections& server : servers_) {
        for (auto& connection : server.connections) {
            retire_connection(std::move(connection), now);
        }
    }
    servers_.clear();
    // Copy: a client with nothing owed closes at once, leaving the set.
    std::vector<ClientConnection*> clients(clients_.begin(), clients_.end());
    for (ClientConnection* client : clients) {
        client->drain();
    }
}

bool Upstream::reap(std::int64_t now_ms) {
    std::erase_if(retired_, [now_ms](Retired& retired) {
        if (!retired.connection->idle() && now_ms >= retired.deadline_ms) {
            retired.connection->expire();
        }
        return retired.connection->idle();
    });
    if (retired_at_ms_ == 0) {
        return false;
    }
    return (clients_.empty() && retired_.empty()) || now_ms >= retired_at_ms_ + kDrainTimeoutMs;
}

// A request (or a fragment, or an attempt at a copy) has its reply:
// hand it on to whatever waits for it.
void Upstream::request_done(Request* request) {
    RequestPool& requests = worker_.requests();
    Request* parent = request->parent;
    if (parent != nullptr && parent->copy_unit) {
        copy_route::attempt_done(*this, request);
        return;
    }
    if (parent == nullptr) {
        if (request->client == nullptr) {
            requests.release_if_unowned(request);  // its client is gone
        } else {
            if (request->reply_info.forward_failed) {
                ++stats().pool.forward_error;  // one per error reply a client gets
            }
            request->client->reply_ready();
        }
        return;
    }
    if (--parent->fragments_pending > 0) {
        return;
    }
    if (parent->copy_batch) {
        copy_route::batch_done(*this, parent);  // a pool with copies: another round, or its own merge
        return;
    }
    // Every fragment answered: merge them into the whole request's reply.
    std::vector<abi::FragmentReply>& replies = worker_.routing().replies;
    replies.clear();
    for (Request* f : parent->fragments) {
        replies.push_back({f->reply_info, f->reply.size(), f->records});
    }
    abi::RequestView view = parent->view();
    abi::MergeInput input{view, parent->fragment_of_key, replies};
    MessageBytesWriter writer(parent->reply, worker_.scratch(), parent);
    pool().protocol().merge_replies(input, writer);
    if (parent->client != nullptr) {
        for (Request* f : parent->fragments) {
            if (f->reply_info.forward_failed) {
                ++stats().pool.forward_error;  // once for the whole request
                break;
            }
        }
    }
    merged(parent);
}

void Upstream::merged(Request* parent) {
    parent->done = true;
    if (parent->client == nullptr) {
        worker_.requests().release_if_unowned(parent);
    } else {
        parent->client->reply_ready();
    }
}

}  // namespace cachemux
