// n backend servers of one protocol (memcached or redis-server), named and
// asked directly: which server a key landed on, what each holds.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness.hpp"
#include "protocol_requests.hpp"

namespace harness {

struct BackendServers {
    Protocol protocol;
    std::vector<std::unique_ptr<MemcachedServer>> mc;
    std::vector<std::unique_ptr<RedisServer>> redis;

    BackendServers(Protocol p, std::size_t n);
    std::size_t size() const { return protocol == Protocol::Memcache ? mc.size() : redis.size(); }
    int port(std::size_t i) const { return protocol == Protocol::Memcache ? mc[i]->port() : redis[i]->port(); }

    // Servers [from, to) named <prefix><i+1>.
    std::vector<ServerSpec> specs(std::size_t from, std::size_t to, const std::string& prefix) const;
    void flush() const;
    // Whether server i holds each key.
    std::vector<bool> holds_many(std::size_t i, const std::vector<std::string>& keys) const;
};

// For each of `nkeys` keys, the one server of `servers` that `held(i)`
// (server i's answer per key; empty to leave server i out) says holds it,
// -1 if none or several do.
std::vector<int> sole_holders(std::size_t servers, std::size_t nkeys,
                              const std::function<std::vector<bool>(std::size_t)>& held);

// Index of the backend each key lands on when set through the proxy on
// `proxy_port` (asked directly afterwards), -1 if on none or several.
// Leaves the backends empty.
std::vector<int> owners_via(const BackendServers& b, int proxy_port, const std::vector<std::string>& keys);

}  // namespace harness
