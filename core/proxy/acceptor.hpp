// A pool's listening socket, on the control thread: accepts clients,
// enforces the limits (the process's file descriptors, the pool's
// client_connections) across every worker, and hands each client to a
// worker. One socket per pool, bound once: a second cachemux on the same
// address fails to start, and unix-socket listeners work as TCP ones do.
// A reload keeps the socket of every address still listened on (it may
// serve another pool then), so no connection attempt is refused meanwhile.
#pragma once

#include <event2/event.h>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "config/config.hpp"

namespace cachemux {

class Proxy;

class Acceptor {
public:
    Acceptor(Proxy& proxy, std::uint32_t pool);
    ~Acceptor();
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;

    // Binds the pool's listener; throws std::runtime_error naming the address.
    void listen(event_base* base, const ListenConfig& listen, int backlog);

    // --- reload: the socket serves pool `pool` of the new configuration,
    // with its backlog and unix-socket permissions.
    const Endpoint& endpoint() const { return endpoint_; }
    void reuse_for(std::uint32_t pool, const ListenConfig& listen, int backlog);

private:
    static void on_accept(evutil_socket_t fd, short events, void* arg);
    static void on_accept_resume(evutil_socket_t fd, short events, void* arg);
    // Out of file descriptors: stop accepting for a moment rather than spin
    // on a listener that stays readable.
    void pause_accepting();
    // A client over a limit: closed at once, as twemproxy does, and logged
    // at most once a second.
    void refuse(int fd);

    Proxy& proxy_;
    std::uint32_t pool_;
    event_base* base_ = nullptr;
    int listen_fd_ = -1;
    event* accept_event_ = nullptr;
    event* accept_resume_ = nullptr;  // ends pause_accepting()
    Endpoint endpoint_;
    int backlog_ = 0;
    mode_t perm_ = 0;
    std::size_t refused_ = 0;  // clients over a limit since the last log line about them
    std::int64_t refusal_logged_ms_ = 0;
};

}  // namespace cachemux
