#include "proxy/worker.hpp"

#include <malloc.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "process/log.hpp"
#include "process/steady_clock.hpp"
#include "proxy/client_connection.hpp"
#include "proxy/server_connection.hpp"
#include "proxy/socket.hpp"

namespace cachemux {

Upstream::Upstream(Worker& worker, std::shared_ptr<const ServerPool> pool)
    : worker_(worker),
      configured_(pool),
      pool_(std::move(pool)),
      live_(pool_->servers().size(), pool_->config()),
      stats_(pool_->servers().size()),
      servers_(pool_->servers().size()),
      versions_(pool_->servers().size()) {
    for (const Server& server : configured_->servers()) {
        facts_.push_back({server.name, {}});
    }
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
        count_ejection(index);
        rebuild_ring();
    }
}

void Upstream::probe_done(std::uint32_t index, bool flushed) {
    if (!flushed) {
        count_ejection(index);  // out again for another retry timeout
    }
    if (live_.probe_done(index, flushed, now_ms())) {
        CACHEMUX_LOG(kLogNotice, "pool '%s': server '%s' flushed, back on the ring", name().c_str(),
                     configured_->servers()[index].pname.c_str());
        rebuild_ring();
    }
}

void Upstream::count_ejection(std::uint32_t index) {
    CACHEMUX_LOG(kLogWarn, "pool '%s': server '%s' ejected; retried in %d ms", name().c_str(),
                 configured_->servers()[index].pname.c_str(), configured_->config().server_retry_timeout_ms);
    ++stats_.pool.server_ejects;
    stats_.servers[index].server_ejected_at = std::chrono::duration_cast<std::chrono::microseconds>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count();
}

// A new ring beside the old one, swapped in whole; requests already queued
// keep the server they were routed to.
void Upstream::rebuild_ring() {
    std::vector<std::uint32_t> to_probe;
    pool_ = configured_->with_live(live_.live(now_ms(), to_probe));
    for (std::uint32_t index : to_probe) {
        probe(index);
    }
}

// The flush goes out on the server's first connection; the server is off
// the ring until it answers, so nothing of a client's can overtake it on
// another connection.
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
    const PoolConfig& config = configured_->config();
    return {CACHEMUX_VERSION, worker_.started_at(), config.name, configured_->settings(), config.listen.endpoint.port,
            facts_, clients_.size(), client};
}

void Upstream::forget_client(ClientConnection* client) {
    if (clients_.erase(client) != 0) {
        worker_.client_closed();
    }
}

Upstream::~Upstream() {
    if (accept_event_ != nullptr) {
        event_free(accept_event_);
    }
    if (accept_resume_ != nullptr) {
        event_free(accept_resume_);
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
    worker_.connection_opened();  // nutcracker counts its listeners among the connections
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
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                CACHEMUX_LOG(kLogError, "pool '%s': accept failed: %s; pausing accepts for 100 ms",
                             self->name().c_str(), std::strerror(errno));
                self->pause_accepting();
            }
            return;  // EAGAIN, or an error the next readiness event retries
        }
        // Over a limit: accepted and closed at once, as twemproxy does.
        const PoolConfig& config = self->pool_->config();
        if (self->worker_.client_limit_reached() ||
            (config.client_connections > 0 &&
             self->clients_.size() >= static_cast<std::size_t>(config.client_connections))) {
            ++self->refused_;
            if (std::int64_t now = now_ms(); now - self->refusal_logged_ms_ >= 1000) {
                // At most once a second: a flood of clients must not flood the log too.
                CACHEMUX_LOG(kLogWarn, "pool '%s': %zu clients refused, over the limit (%zu in the process, %d in the pool)",
                             self->name().c_str(), self->refused_, self->worker_.max_clients(),
                             config.client_connections);
                self->refusal_logged_ms_ = now;
                self->refused_ = 0;
            }
            ::close(client);
            continue;
        }
        if (!config.listen.endpoint.is_unix()) {
            set_tcp_nodelay(client);
            if (config.tcpkeepalive) {
                set_tcp_keepalive(client);
            }
        }
        self->clients_.insert(new ClientConnection(*self, client));
        self->worker_.client_opened();
        self->worker_.connection_opened();
        ++self->stats_.pool.client_connections;
    }
}

void Upstream::pause_accepting() {
    if (accept_resume_ == nullptr) {
        accept_resume_ = evtimer_new(worker_.base(), &Upstream::on_accept_resume, this);
    }
    event_del(accept_event_);
    timeval tv{0, 100 * 1000};
    evtimer_add(accept_resume_, &tv);
}

void Upstream::on_accept_resume(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<Upstream*>(arg);
    event_add(self->accept_event_, nullptr);
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
    // nutcracker's limit: the fds left once every server connection and a
    // reserve of 32 are counted, less one per pool (nutcracker 0.5.0 counts
    // its listeners among the clients; observed black-box).
    constexpr std::size_t kReservedFds = 32;
    std::size_t server_connections = 0;
    for (auto& pool : pools) {
        server_connections +=
            pool->servers().size() * static_cast<std::size_t>(std::max(1, pool->config().server_connections));
        upstreams_.push_back(std::make_unique<Upstream>(*this, std::move(pool)));
    }
    std::size_t reserved = server_connections + kReservedFds + upstreams_.size();
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY && files.rlim_cur > reserved) {
        max_clients_ = files.rlim_cur - reserved;
    } else {
        max_clients_ = files.rlim_cur == RLIM_INFINITY ? SIZE_MAX : 0;
    }
    trim_timer_ = event_new(base_.get(), -1, EV_PERSIST, &Worker::on_trim, this);
    timeval every_second{1, 0};
    event_add(trim_timer_, &every_second);
}

void Worker::on_trim(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<Worker*>(arg);
    std::size_t freed = self->mbufs_.trim() + self->requests_.trim();
    if (freed > 0) {
        // free() keeps the pages of chunks below the heap's top; hand them back.
        malloc_trim(0);
    }
}

Worker::~Worker() {
    event_free(trim_timer_);
    upstreams_.clear();
    // Run the deferred deletions of closed connections before the loop goes.
    event_base_loop(base_.get(), EVLOOP_NONBLOCK);
}

void Worker::collect_stats(StatsSnapshot& snapshot) const {
    snapshot.total_connections = total_connections_;
    snapshot.curr_connections = curr_connections_;
    if (snapshot.pools.size() != upstreams_.size()) {
        snapshot.pools.clear();
        for (const auto& upstream : upstreams_) {
            StatsSnapshot::Pool pool;
            pool.name = upstream->name();
            for (const Server& server : upstream->pool().servers()) {
                pool.servers.push_back({server.name, {}});
            }
            snapshot.pools.push_back(std::move(pool));
        }
    }
    for (std::size_t i = 0; i < upstreams_.size(); ++i) {
        StatsSnapshot::Pool& pool = snapshot.pools[i];
        pool.metrics = {};
        for (auto& server : pool.servers) {
            server.metrics = {};
        }
        add_to(pool, upstreams_[i]->stats());
    }
}

void Worker::listen() {
    for (auto& upstream : upstreams_) {
        upstream->start_listening();
    }
}

void Worker::run() { event_base_dispatch(base_.get()); }

void Worker::stop() { event_base_loopbreak(base_.get()); }

}  // namespace cachemux
