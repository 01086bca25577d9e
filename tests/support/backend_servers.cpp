#include "backend_servers.hpp"

#include <doctest/doctest.h>

namespace harness {

using namespace std::chrono_literals;

BackendServers::BackendServers(Protocol p, std::size_t n) : protocol(p) {
    for (std::size_t i = 0; i < n; ++i) {
        if (p == Protocol::Memcache) mc.push_back(std::make_unique<MemcachedServer>());
        else redis.push_back(std::make_unique<RedisServer>());
    }
}

std::vector<ServerSpec> BackendServers::specs(std::size_t from, std::size_t to, const std::string& prefix) const {
    std::vector<ServerSpec> v;
    for (std::size_t i = from; i < to; ++i) {
        ServerSpec s;
        s.port = port(i);
        s.name = prefix + std::to_string(i + 1);
        v.push_back(s);
    }
    return v;
}

void BackendServers::flush() const {
    for (std::size_t i = 0; i < size(); ++i) {
        if (protocol == Protocol::Memcache) mc::flush_all(port(i));
        else resp::flush_server(port(i));
    }
}

std::vector<bool> BackendServers::holds_many(std::size_t i, const std::vector<std::string>& keys) const {
    if (protocol == Protocol::Memcache) return mc::holds_many(port(i), keys);
    Connection c(port(i));
    std::string batch;
    for (const auto& k : keys) batch += resp::cmd("EXISTS", k);
    c.send_all(batch);
    std::vector<bool> held;
    for (std::size_t j = 0; j < keys.size(); ++j) held.push_back(resp::read_reply(c, 5000ms) == ":1\r\n");
    return held;
}

std::vector<int> sole_holders(std::size_t servers, std::size_t nkeys,
                              const std::function<std::vector<bool>(std::size_t)>& held) {
    std::vector<int> owner(nkeys, -1);
    std::vector<int> count(nkeys, 0);
    for (std::size_t i = 0; i < servers; ++i) {
        std::vector<bool> here = held(i);
        for (std::size_t j = 0; j < here.size() && j < nkeys; ++j)
            if (here[j]) {
                owner[j] = static_cast<int>(i);
                ++count[j];
            }
    }
    for (std::size_t j = 0; j < nkeys; ++j)
        if (count[j] != 1) owner[j] = -1;
    return owner;
}

std::vector<int> owners_via(const BackendServers& b, int proxy_port, const std::vector<std::string>& keys) {
    b.flush();
    Connection c(proxy_port);
    std::string batch;
    for (const auto& k : keys) batch += set_request(b.protocol, k, "owner");
    c.send_all(batch);
    for (const auto& k : keys) {
        std::string r = c.read_until([&](std::string_view s) { return reply_length(b.protocol, s); }, 5000ms);
        REQUIRE_MESSAGE(is_stored(b.protocol, r), "set " << k << " through 127.0.0.1:" << proxy_port << " answered "
                                                         << escape(r));
    }
    std::vector<int> owner = sole_holders(b.size(), keys.size(), [&](std::size_t i) { return b.holds_many(i, keys); });
    b.flush();
    return owner;
}

}  // namespace harness
