// Thin, error-checked wrappers over the socket calls the core makes.
#pragma once

#include <sys/socket.h>

#include <string>

#include "config/config.hpp"

namespace cachemux {

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t len = 0;
    int family() const { return storage.ss_family; }
    const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// Resolves a host:port or unix path. Throws std::runtime_error naming it.
SocketAddress resolve(const Endpoint& endpoint);
void set_nonblocking(int fd);
void set_tcp_nodelay(int fd);
void set_tcp_keepalive(int fd);
// A listening, non-blocking socket; a unix socket gets `perm` when non-zero.
// Throws std::runtime_error naming the address.
int listen_on(const Endpoint& endpoint, int backlog, mode_t perm);
// Starts a non-blocking connect; returns the fd or -1 with errno set.
int connect_nonblocking(const SocketAddress& address);
// The two ends of a connected socket as redis's CLIENT INFO writes them:
// "ip:port", "[ipv6]:port", or "path:0" for a unix socket; "" on error.
std::string peer_address_of(int fd);
std::string local_address_of(int fd);

}  // namespace cachemux
