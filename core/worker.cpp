#include "worker.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <stdexcept>

#include "client_connection.hpp"
#include "server_connection.hpp"
#include "socket.hpp"
#include "steady_clock.hpp"

namespace cachemux {

Upstream::Upstream(Worker& worker, std::shared_ptr<const ServerPool> pool)
    : worker_(worker),
      configured_(pool),
      pool_(std::move(pool)),
      live_(pool_->servers().size(), pool_->config()),
      servers_(pool_->servers().size()) {
    int per_server = std::max(1, pool_->config().server_connections);
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        for (int c = 0; c < per_server; ++c) {
            servers_[i].connections.push_back(
                std::make_unique<ServerConnection>(*this, configured_->servers()[i], static_cast<std::uint32_t>(i)));
        }
    }
}

const ServerPool& Upstream::routing_pool() {
    if (live_.any_ejected() && live_.rejoin_due(now_ms())) {
        rebuild_ring();
    }
    return *pool_;
}

void Upstream::server_failed(std::uint32_t index) {
    if (live_.failed(index, now_ms())) {
        rebuild_ring();
    }
}

// A new ring beside the old one, swapped in whole; requests already queued
// keep the server they were routed to.
void Upstream::rebuild_ring() { pool_ = configured_->with_live(live_.live(now_ms())); }

Upstream::~Upstream() {
    if (accept_event_ != nullptr) {
        event_free(accept_event_);
    }
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
    }
    // Copy: close() removes the client from the set.
    std::vector<ClientConnection*> clients(clients_.begin(), clients_.end());
    for (ClientConnection* c : clients) {
        c->close();
    }
    servers_.clear();
}

void Upstream::start_listening() {
    const PoolConfig& config = pool_->config();
    listen_fd_ = listen_on(config.listen.endpoint, config.backlog, config.listen.perm);
    accept_event_ = event_new(worker_.base(), listen_fd_, EV_READ | EV_PERSIST, &Upstream::on_accept, this);
    event_add(accept_event_, nullptr);
    if (config.preconnect) {
        for (ServerConnections& server : servers_) {
            for (auto& connection : server.connections) {
                connection->preconnect();
            }
        }
    }
}

void Upstream::on_accept(evutil_socket_t fd, short, void* arg) {
    auto* self = static_cast<Upstream*>(arg);
    for (int accepted = 0; accepted < 64; ++accepted) {
        int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
            return;  // EAGAIN, or an error the next readiness event retries
        }
        const PoolConfig& config = self->pool_->config();
        if (config.client_connections > 0 &&
            self->clients_.size() >= static_cast<std::size_t>(config.client_connections)) {
            ::close(client);  // over the pool's client limit, refused as nutcracker does
            continue;
        }
        if (!config.listen.endpoint.is_unix()) {
            set_tcp_nodelay(client);
        }
        self->clients_.insert(new ClientConnection(*self, client));
    }
}

void Upstream::send(std::uint32_t index, Request* request) {
    ServerConnections& s = servers_[index];
    ServerConnection& connection = *s.connections[s.next];
    s.next = (s.next + 1) % s.connections.size();
    connection.send(request);
}

Worker::Worker(std::size_t mbuf_size, std::vector<std::shared_ptr<const ServerPool>> pools)
    : started_at_(std::time(nullptr)), mbufs_(mbuf_size), scratch_(mbufs_), flushes_(base_.get()) {
    if (base_.get() == nullptr) {
        throw std::runtime_error("cannot create the event loop");
    }
    for (auto& pool : pools) {
        upstreams_.push_back(std::make_unique<Upstream>(*this, std::move(pool)));
    }
}

Worker::~Worker() {
    upstreams_.clear();
    // Run the deferred deletions of closed connections before the loop goes.
    event_base_loop(base_.get(), EVLOOP_NONBLOCK);
}

void Worker::listen() {
    for (auto& upstream : upstreams_) {
        upstream->start_listening();
    }
}

void Worker::run() { event_base_dispatch(base_.get()); }

void Worker::stop() { event_base_loopbreak(base_.get()); }

}  // namespace cachemux
