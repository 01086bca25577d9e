#include "proxy/upstream.hpp"

#include <unistd.h>

#include <chrono>

#include "buffers/message_writer.hpp"
#include "process/log.hpp"
#include "process/steady_clock.hpp"
#include "proxy/client_connection.hpp"
#include "proxy/server_connection.hpp"
#include "proxy/socket.hpp"
#include "proxy/worker.hpp"

namespace cachemux {

Upstream::Upstream(Worker& worker, SharedPool& shared)
    : worker_(worker),
      shared_(shared),
      pool_(shared.ring.current(generation_)),
      stats_(pool_->servers().size()),
      servers_(pool_->servers().size()),
      versions_(pool_->servers().size()) {
    const ServerPool& configured = shared_.configured();
    for (const Server& server : configured.servers()) {
        facts_.push_back({server.name, {}});
    }
    int per_server = std::max(1, configured.config().server_connections);
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        for (int c = 0; c < per_server; ++c) {
            servers_[i].connections.push_back(
                std::make_unique<ServerConnection>(*this, configured.servers()[i], static_cast<std::uint32_t>(i)));
        }
    }
}

Upstream::~Upstream() {
    // Copy: close() removes the client from the set.
    std::vector<ClientConnection*> clients(clients_.begin(), clients_.end());
    for (ClientConnection* c : clients) {
        c->close();
    }
    servers_.clear();
}

void Upstream::start() {
    if (!shared_.configured().config().preconnect) {
        return;
    }
    for (ServerConnections& server : servers_) {
        for (auto& connection : server.connections) {
            connection->preconnect();
        }
    }
}

void Upstream::adopt_client(int fd) {
    const PoolConfig& config = shared_.configured().config();
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
        shared_.clients.fetch_sub(1, std::memory_order_relaxed);
        worker_.client_closed();
    }
}

// Two loads of a line that only changes with the ring: the steady state
// writes nothing shared and takes no lock.
const ServerPool& Upstream::routing_pool() {
    LiveRing& ring = shared_.ring;
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
    if (shared_.ring.generation() != generation_) {
        pool_ = shared_.ring.current(generation_);
    }
    for (std::uint32_t index : probes) {
        probe(index);
    }
}

void Upstream::server_failed(std::uint32_t index) {
    std::vector<std::uint32_t> probes;
    if (shared_.ring.failed(index, now_ms(), probes)) {
        count_ejection(index);
    }
    refresh(probes);
}

void Upstream::probe_done(std::uint32_t index, bool flushed) {
    if (!flushed) {
        count_ejection(index);  // out again for another retry timeout
    }
    std::vector<std::uint32_t> probes;
    if (shared_.ring.probe_done(index, flushed, now_ms(), probes)) {
        CACHEMUX_LOG(kLogNotice, "pool '%s': server '%s' flushed, back on the ring", name().c_str(),
                     shared_.configured().servers()[index].pname.c_str());
    }
    refresh(probes);
}

void Upstream::count_ejection(std::uint32_t index) {
    const ServerPool& configured = shared_.configured();
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
    if (version != versions_[index]) {
        versions_[index].assign(version);
        facts_[index].version = versions_[index];
    }
}

abi::LocalContext Upstream::local_context(abi::ClientSession& client) const {
    const ServerPool& configured = shared_.configured();
    const PoolConfig& config = configured.config();
    return {CACHEMUX_VERSION, worker_.started_at(), config.name, configured.settings(), config.listen.endpoint.port,
            facts_, shared_.clients.load(std::memory_order_relaxed), client};
}

void Upstream::send(std::uint32_t index, Request* request) {
    ServerConnections& s = servers_[index];
    ServerConnection& connection = *s.connections[s.next];
    s.next = (s.next + 1) % s.connections.size();
    connection.send(request);
}

}  // namespace cachemux
