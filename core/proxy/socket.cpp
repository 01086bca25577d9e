#include "proxy/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace cachemux {

SocketAddress resolve(const Endpoint& endpoint) {
    SocketAddress out;
    if (endpoint.is_unix()) {
        sockaddr_un un{};
        un.sun_family = AF_UNIX;
        if (endpoint.unix_path.size() >= sizeof(un.sun_path)) {
            throw std::runtime_error("unix socket path too long: " + endpoint.unix_path);
        }
        std::memcpy(un.sun_path, endpoint.unix_path.c_str(), endpoint.unix_path.size() + 1);
        std::memcpy(&out.storage, &un, sizeof(un));
        out.len = sizeof(un);
        return out;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    std::string port = std::to_string(endpoint.port);
    int rc = getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &result);
    if (rc != 0 || result == nullptr) {
        throw std::runtime_error("failed to resolve '" + endpoint.host + ":" + port + "': " + gai_strerror(rc));
    }
    std::memcpy(&out.storage, result->ai_addr, result->ai_addrlen);
    out.len = result->ai_addrlen;
    freeaddrinfo(result);
    return out;
}

void set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

void set_tcp_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void set_tcp_keepalive(int fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
}

int listen_on(const Endpoint& endpoint, int backlog, mode_t perm) {
    SocketAddress address = resolve(endpoint);
    std::string name = endpoint.is_unix() ? endpoint.unix_path : endpoint.host + ":" + std::to_string(endpoint.port);
    int fd = socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket for '" + name + "' failed: " + std::strerror(errno));
    }
    if (endpoint.is_unix()) {
        unlink(endpoint.unix_path.c_str());  // a stale socket file from an earlier run
    } else {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    if (bind(fd, address.get(), address.len) < 0 || listen(fd, backlog) < 0) {
        int err = errno;
        close(fd);
        throw std::runtime_error("failed to listen on '" + name + "': " + std::strerror(err));
    }
    if (endpoint.is_unix() && perm != 0 && chmod(endpoint.unix_path.c_str(), perm) < 0) {
        int err = errno;
        close(fd);
        throw std::runtime_error("failed to chmod '" + name + "': " + std::strerror(err));
    }
    set_nonblocking(fd);
    return fd;
}

int connect_nonblocking(const SocketAddress& address) {
    int fd = socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return -1;
    }
    if (address.family() != AF_UNIX) {
        set_tcp_nodelay(fd);
    }
    if (connect(fd, address.get(), address.len) < 0 && errno != EINPROGRESS) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

namespace {

std::string format_address(const sockaddr_storage& a, socklen_t len) {
    char host[INET6_ADDRSTRLEN] = {};
    switch (a.ss_family) {
    case AF_INET: {
        const auto& in = reinterpret_cast<const sockaddr_in&>(a);
        inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
        return std::string(host) + ":" + std::to_string(ntohs(in.sin_port));
    }
    case AF_INET6: {
        const auto& in6 = reinterpret_cast<const sockaddr_in6&>(a);
        inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
        return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6.sin6_port));
    }
    case AF_UNIX: {
        const auto& un = reinterpret_cast<const sockaddr_un&>(a);
        std::size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
        return std::string(un.sun_path, strnlen(un.sun_path, n)) + ":0";
    }
    default:
        return {};
    }
}

}  // namespace

std::string peer_address_of(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    return getpeername(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0 ? format_address(a, len) : std::string();
}

std::string local_address_of(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    return getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0 ? format_address(a, len) : std::string();
}

}  // namespace cachemux
