#include "proxy/acceptor.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "process/log.hpp"
#include "process/steady_clock.hpp"
#include "proxy/proxy.hpp"
#include "proxy/socket.hpp"

namespace cachemux {

Acceptor::Acceptor(Proxy& proxy, std::uint32_t pool) : proxy_(proxy), pool_(pool) {}

Acceptor::~Acceptor() {
    if (accept_event_ != nullptr) {
        event_free(accept_event_);
    }
    if (accept_resume_ != nullptr) {
        event_free(accept_resume_);
    }
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
    }
}

void Acceptor::listen(event_base* base, const ListenConfig& listen, int backlog) {
    base_ = base;
    listen_fd_ = listen_on(listen.endpoint, backlog, listen.perm);
    endpoint_ = listen.endpoint;
    backlog_ = backlog;
    perm_ = listen.perm;
    accept_event_ = event_new(base_, listen_fd_, EV_READ | EV_PERSIST, &Acceptor::on_accept, this);
    event_add(accept_event_, nullptr);
}

void Acceptor::reuse_for(std::uint32_t pool, const ListenConfig& listen, int backlog) {
    pool_ = pool;
    // listen() again on a listening socket only sets its backlog (Linux).
    if (backlog != backlog_ && ::listen(listen_fd_, backlog) == 0) {
        backlog_ = backlog;
    }
    if (endpoint_.is_unix() && listen.perm != perm_ && listen.perm != 0 &&
        chmod(endpoint_.unix_path.c_str(), listen.perm) == 0) {
        perm_ = listen.perm;
    }
}

void Acceptor::on_accept(evutil_socket_t fd, short, void* arg) {
    auto* self = static_cast<Acceptor*>(arg);
    for (int accepted = 0; accepted < 64; ++accepted) {
        int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                CACHEMUX_LOG(kLogError, "pool '%s': accept failed: %s; pausing accepts for 100 ms",
                             self->proxy_.pool(self->pool_).configured().config().name.c_str(), std::strerror(errno));
                self->pause_accepting();
            }
            return;  // EAGAIN, or an error the next readiness event retries
        }
        if (!self->proxy_.admit(self->pool_)) {
            self->refuse(client);
            continue;
        }
        self->proxy_.hand_off(self->pool_, client);
    }
}

void Acceptor::refuse(int fd) {
    ++refused_;
    if (std::int64_t now = now_ms(); now - refusal_logged_ms_ >= 1000) {
        // At most once a second: a flood of clients must not flood the log too.
        const PoolConfig& config = proxy_.pool(pool_).configured().config();
        CACHEMUX_LOG(kLogWarn, "pool '%s': %zu clients refused, over the limit (%zu in the process, %d in the pool)",
                     config.name.c_str(), refused_, proxy_.max_clients(), config.client_connections);
        refusal_logged_ms_ = now;
        refused_ = 0;
    }
    ::close(fd);
}

void Acceptor::pause_accepting() {
    if (accept_resume_ == nullptr) {
        accept_resume_ = evtimer_new(base_, &Acceptor::on_accept_resume, this);
    }
    event_del(accept_event_);
    timeval tv{0, 100 * 1000};
    evtimer_add(accept_resume_, &tv);
}

void Acceptor::on_accept_resume(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<Acceptor*>(arg);
    event_add(self->accept_event_, nullptr);
}

}  // namespace cachemux
