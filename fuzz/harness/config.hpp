// The config loader under fuzzing: parse_config() on any bytes either throws
// ConfigError ("FILE:LINE: ...") or returns a config that holds what the rest
// of the proxy assumes of it. Anything else (another exception, a crash, a
// hang, a sanitizer report) is a bug. Host names are never looked up: the
// resolver accepts numeric addresses only.
#pragma once

#include <arpa/inet.h>

#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "../../core/config/config.hpp"
#include "stream.hpp"

namespace cachemux::fuzz {

inline std::string numeric_resolver(const std::string& host, int) {
    in_addr v4;
    in6_addr v6;
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        return "";
    }
    return "Name or service not known";
}

// nutcracker's order for pools and servers: shorter names first, then bytewise.
inline bool nc_ordered(const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a.compare(b) < 0;
}

// One copy's servers (the pool's `servers`, or a replica's); `names`
// gathers the names of the copies checked so far.
inline void check_servers(const std::vector<ServerConfig>& servers, std::set<std::string>& names) {
    CACHEMUX_FUZZ_CHECK(!servers.empty(), "a copy without servers");
    for (std::size_t j = 0; j < servers.size(); ++j) {
        const ServerConfig& s = servers[j];
        // The name may be empty: "host:port:weight " (quoted, a blank after the
        // weight) has an empty name part, in nutcracker 0.5.0 as here.
        CACHEMUX_FUZZ_CHECK(s.weight >= 1 && s.line >= 1, "a bad server");
        CACHEMUX_FUZZ_CHECK(s.endpoint.is_unix() ? s.endpoint.port == 0
                                                 : s.endpoint.port >= 1 && s.endpoint.port <= 65535,
                            "a bad server endpoint");
        if (j > 0) {
            CACHEMUX_FUZZ_CHECK(nc_ordered(servers[j - 1].name, s.name),
                                "servers not in nutcracker's order, or a duplicate server name");
        }
        CACHEMUX_FUZZ_CHECK(names.insert(s.name).second, "a server name in two copies");
    }
}

// `replicas:` and its policies (not nutcracker's).
inline void check_copies(const PoolConfig& pool) {
    bool policies = pool.key_lines.count("write") || pool.key_lines.count("read") ||
                    pool.key_lines.count("read_failover");
    CACHEMUX_FUZZ_CHECK(!policies || !pool.replicas.empty(), "a copy policy without replicas");
    if (pool.replicas.empty()) return;
    CACHEMUX_FUZZ_CHECK(pool.copies() <= 8, "more than 8 copies");
    CACHEMUX_FUZZ_CHECK(pool.timeout_ms > 0, "replicas without a timeout");
    CACHEMUX_FUZZ_CHECK(pool.flush_on_rejoin == (pool.auto_eject_hosts && !pool.redis),
                        "a replicated memcache pool that ejects but does not flush, or one that flushes "
                        "without ejecting");
}

inline void check_config(const Config& config) {
    CACHEMUX_FUZZ_CHECK(!config.pools.empty(), "a config without pools");
    std::set<std::string> listens;
    std::set<std::string> plugins;
    for (const PluginRef& p : config.plugins) {
        CACHEMUX_FUZZ_CHECK(!p.spec.empty() && p.line >= 1, "an empty plugin item");
        CACHEMUX_FUZZ_CHECK(plugins.insert(p.spec).second, "a plugin listed twice");
    }
    for (std::size_t i = 0; i < config.pools.size(); ++i) {
        const PoolConfig& pool = config.pools[i];
        CACHEMUX_FUZZ_CHECK(!pool.name.empty() && pool.line >= 1, "a pool without a name or line");
        if (i > 0) {
            CACHEMUX_FUZZ_CHECK(nc_ordered(config.pools[i - 1].name, pool.name),
                                "pools not in nutcracker's order, or a duplicate pool");
        }
        const Endpoint& listen = pool.listen.endpoint;
        CACHEMUX_FUZZ_CHECK(listen.is_unix() ? listen.port == 0 && listen.unix_path[0] == '/'
                                             : listen.port >= 1 && listen.port <= 65535,
                            "a bad listen endpoint");
        CACHEMUX_FUZZ_CHECK(pool.listen.perm <= 0777, "listen permissions beyond 0777");
        CACHEMUX_FUZZ_CHECK(listens.insert(pool.listen.pname).second, "two pools listen on one address");
        CACHEMUX_FUZZ_CHECK(pool.hash_tag.empty() || pool.hash_tag.size() == 2, "a hash_tag not of two bytes");
        CACHEMUX_FUZZ_CHECK(pool.timeout_ms >= -1 && pool.backlog >= 0 && pool.client_connections >= 0 &&
                                pool.redis_db >= 0 && pool.server_connections >= 1 &&
                                pool.server_retry_timeout_ms >= 0 && pool.server_failure_limit >= 0,
                            "a number out of range");
        CACHEMUX_FUZZ_CHECK(!pool.protocol.empty() && pool.redis == (pool.protocol == "redis"),
                            "protocol and redis disagree");
        CACHEMUX_FUZZ_CHECK(pool.redis_auth.empty() || pool.redis, "redis_auth on a memcache pool");
        CACHEMUX_FUZZ_CHECK(!pool.flush_on_rejoin || (pool.auto_eject_hosts && !pool.redis),
                            "flush_on_rejoin without auto_eject_hosts or on redis");
        CACHEMUX_FUZZ_CHECK(!pool.servers.empty(), "a pool without servers");
        check_copies(pool);
        std::set<std::string> names;  // across every copy
        check_servers(pool.servers, names);
        for (const auto& copy : pool.replicas) check_servers(copy, names);
    }
}

inline void fuzz_config(std::string_view text) {
    static const std::string kFile = "fuzz.yml";
    Config config;
    try {
        config = parse_config(std::string(text), kFile, numeric_resolver);
    } catch (const ConfigError& e) {
        // "fuzz.yml:LINE: ..." with LINE >= 1.
        std::string_view what = e.what();
        CACHEMUX_FUZZ_CHECK(what.starts_with(kFile + ":") && what.size() > kFile.size() + 1 &&
                                what[kFile.size() + 1] >= '1' && what[kFile.size() + 1] <= '9',
                            "a ConfigError without FILE:LINE: \"" + escaped(what) + "\"");
        return;
    } catch (const std::exception& e) {
        violation(std::string("parse_config threw something other than ConfigError: ") + e.what());
    } catch (...) {
        violation("parse_config threw something other than ConfigError (not a std::exception)");
    }
    check_config(config);
}

}  // namespace cachemux::fuzz
