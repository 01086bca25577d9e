// The per-pool part of the config reader (passes 2 and 3, see config.cpp):
// each key's setter as nutcracker 0.5.0 has it (conf_set_num, conf_set_bool,
// conf_set_listen, conf_add_server, ...), then conf_validate_pool().
#include "config/pool_parser.hpp"

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <utility>

#include "config/config_text.hpp"
#include "config/nc_atoi.hpp"

namespace cachemux::config_detail {
namespace {

constexpr int kKetamaPort = 11211;  // CONF_DEFAULT_KETAMA_PORT
constexpr std::size_t kUnixPathMax = sizeof(sockaddr_un::sun_path);

bool valid_port(int port) { return port >= 1 && port <= 65535; }

// nc_strrchr(): the last `c` in s[0, end), if any.
std::size_t rfind_before(std::string_view s, char c, std::size_t end) {
    for (std::size_t i = end; i > 0; --i) {
        if (s[i - 1] == c) return i - 1;
    }
    return std::string_view::npos;
}

constexpr std::string_view kKnownKeys =
    "listen, hash, hash_tag, distribution, timeout, backlog, client_connections, redis, "
    "tcpkeepalive, redis_auth, redis_db, preconnect, auto_eject_hosts, server_connections, "
    "server_retry_timeout, server_failure_limit, flush_on_rejoin, protocol, servers, "
    // cachemux's keys for copies (replicas_config.cpp).
    "replicas, write, read, read_failover, backfill_ttl";

}  // namespace

PoolParser::PoolParser(const std::string& file, const YamlNode& name, const HostResolver& resolver)
    : file_(file), resolver_(resolver) {
    pool_.name = name.value;
    pool_.line = name.line;
}

// Records the key's line; every setter but conf_add_server refuses a
// second value.
void PoolParser::note_key(const YamlNode& key, const YamlNode& value) {
    const std::string& k = key.value;
    if (k != "servers") {
        auto [it, inserted] = seen_.emplace(k, key.line);
        if (!inserted && known(k)) {
            if (it->second == key.line) {
                fail(file_, value.line, pool_.name, k, "takes one value, not a list of several");
            }
            fail(file_, key.line, pool_.name, k,
                 "duplicate key (already set on line " + std::to_string(it->second) + ")");
        }
    }
    pool_.key_lines.emplace(k, key.line);
}

void PoolParser::handle(const YamlNode& key, const YamlNode& value) {
    note_key(key, value);
    const std::string& k = key.value;
    const std::string& v = value.value;
    if (k == "listen") {
        set_listen(key, value);
    } else if (k == "hash") {
        pool_.hash = v;
    } else if (k == "distribution") {
        pool_.distribution = v;
    } else if (k == "hash_tag") {
        if (v.size() != 2) {
            fail(file_, value.line, pool_.name, k,
                 "invalid hash tag " + show(v) +
                     ": it must be exactly two characters, the start and end of the tag "
                     "(e.g. \"{}\")");
        }
        pool_.hash_tag = v;
    } else if (k == "timeout") {
        pool_.timeout_ms = number(key, value);
    } else if (k == "backlog") {
        pool_.backlog = number(key, value);
    } else if (k == "client_connections") {
        pool_.client_connections = number(key, value);
    } else if (k == "redis") {
        pool_.redis = boolean(key, value);
    } else if (k == "tcpkeepalive") {
        pool_.tcpkeepalive = boolean(key, value);
    } else if (k == "redis_auth") {
        pool_.redis_auth = v;
    } else if (k == "redis_db") {
        pool_.redis_db = number(key, value);
    } else if (k == "preconnect") {
        pool_.preconnect = boolean(key, value);
    } else if (k == "auto_eject_hosts") {
        pool_.auto_eject_hosts = boolean(key, value);
    } else if (k == "server_connections") {
        pool_.server_connections = number(key, value);
    } else if (k == "server_retry_timeout") {
        pool_.server_retry_timeout_ms = number(key, value);
    } else if (k == "server_failure_limit") {
        pool_.server_failure_limit = number(key, value);
    } else if (k == "flush_on_rejoin") {
        pool_.flush_on_rejoin = boolean(key, value);
    } else if (k == "protocol") {
        pool_.protocol = v;
    } else if (k == "servers") {
        add_server(key, value, pool_.servers);
    } else if (!set_copy_policy(key, value)) {
        fail(file_, key.line, pool_.name, k,
             "unknown key (known keys: " + std::string(kKnownKeys) + ")");
    }
}

// conf_validate_pool(), with the cachemux keys' own rules.
PoolConfig PoolParser::finish() {
    const std::string& name = pool_.name;
    if (!listen_set_) {
        fail(file_, pool_.line, name, "missing 'listen' (e.g. 'listen: 127.0.0.1:22121')");
    }
    resolve_protocol();
    if (seen_.count("server_connections") && pool_.server_connections == 0) {
        fail(file_, pool_.line_of("server_connections"), name, "server_connections",
             "must not be 0");
    }
    if (!pool_.redis && !pool_.redis_auth.empty()) {
        fail(file_, pool_.line_of("redis_auth"), name, "redis_auth",
             "is only valid for a redis pool (add 'redis: true')");
    }
    check_copies();
    resolve_flush_on_rejoin();
    if (pool_.flush_on_rejoin && pool_.redis) {
        fail(file_, pool_.line_of("flush_on_rejoin"), name, "flush_on_rejoin",
             "is refused on a redis pool: flushing a rejoining redis server would destroy "
             "its data (the option is for memcached pools)");
    }
    if (pool_.flush_on_rejoin && !pool_.auto_eject_hosts) {
        fail(file_, pool_.line_of("flush_on_rejoin"), name, "flush_on_rejoin",
             "needs 'auto_eject_hosts: true': without ejection a server never leaves the "
             "ring, so it never rejoins");
    }
    if (pool_.servers.empty()) {
        fail(file_, pool_.line_of("servers"), name, "servers", "the pool has no servers");
    }
    sort_servers();
    return std::move(pool_);
}

// Duplicate names; nutcracker sorts the servers to find them, and keeps
// them sorted (see PoolConfig::servers). Each copy is sorted the same way,
// so that its placement is nutcracker's for its list, and a name may not
// repeat across copies either: the stats list every copy's servers under
// the pool, by name.
void PoolParser::sort_servers() {
    auto by_name = [](const ServerConfig& a, const ServerConfig& b) { return nc_less(a.name, b.name); };
    std::stable_sort(pool_.servers.begin(), pool_.servers.end(), by_name);
    for (auto& copy : pool_.replicas) std::stable_sort(copy.begin(), copy.end(), by_name);

    struct Named {
        const ServerConfig* server;
        std::size_t copy;  // 0: `servers`, i: replica i
    };
    std::vector<Named> all;
    for (const ServerConfig& s : pool_.servers) all.push_back({&s, 0});
    for (std::size_t c = 0; c < pool_.replicas.size(); ++c) {
        for (const ServerConfig& s : pool_.replicas[c]) all.push_back({&s, c + 1});
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const Named& a, const Named& b) { return nc_less(a.server->name, b.server->name); });
    auto copy_name = [](std::size_t copy) {
        return copy == 0 ? std::string("in 'servers'") : "in replica " + std::to_string(copy);
    };
    for (std::size_t i = 0; i + 1 < all.size(); ++i) {
        if (nc_compare(all[i].server->name, all[i + 1].server->name) != 0) continue;
        bool swap = all[i].server->line > all[i + 1].server->line;
        const Named& later = swap ? all[i] : all[i + 1];
        const Named& earlier = swap ? all[i + 1] : all[i];
        const ServerConfig& s = *earlier.server;
        if (later.copy == 0 && earlier.copy == 0) {
            fail(file_, later.server->line, pool_.name, "servers",
                 "duplicate server name " + show(s.name) + " (also the name of " + show(s.pname) +
                     " on line " + std::to_string(s.line) +
                     "; give the servers distinct names with 'host:port:weight name')");
        }
        fail(file_, later.server->line, pool_.name, later.copy == 0 ? "servers" : "replicas",
             "duplicate server name " + show(s.name) + " " + copy_name(later.copy) + " (also the name of " +
                 show(s.pname) + " on line " + std::to_string(s.line) + ", " + copy_name(earlier.copy) +
                 "; the stats list every copy's servers under the pool, so names must differ across "
                 "'servers' and every replica: give the servers distinct names with "
                 "'host:port:weight name')");
    }
}

// `redis: true` is `protocol: redis`; a pool that names its protocol is
// a redis pool (redis_auth and the rest apply) exactly when it names redis.
void PoolParser::resolve_protocol() {
    bool redis_key = seen_.count("redis") != 0;
    if (pool_.protocol.empty()) {
        pool_.protocol = pool_.redis ? "redis" : "memcache";
        return;
    }
    bool names_redis = pool_.protocol == "redis";
    if (redis_key && pool_.redis != names_redis) {
        fail(file_, pool_.line_of("protocol"), pool_.name, "protocol",
             "'" + pool_.protocol + "' contradicts 'redis: " + (pool_.redis ? "true" : "false") +
                 "' on line " + std::to_string(pool_.line_of("redis")) + " (keep one of the two)");
    }
    pool_.redis = names_redis;
}

bool PoolParser::known(const std::string& k) {
    std::string_view keys = kKnownKeys;
    std::size_t pos = 0;
    while (pos <= keys.size()) {
        std::size_t end = keys.find(", ", pos);
        if (end == std::string_view::npos) end = keys.size();
        if (keys.substr(pos, end - pos) == k) return true;
        pos = end + 2;
    }
    return false;
}

int PoolParser::number(const YamlNode& key, const YamlNode& value) {
    int n = nc_atoi(value.value);
    if (n < 0) {
        fail(file_, value.line, pool_.name, key.value,
             "invalid number " + show(value.value) +
                 " (expected a non-negative decimal integer below 2147483648)");
    }
    return n;
}

bool PoolParser::boolean(const YamlNode& key, const YamlNode& value) {
    if (value.value == "true") return true;
    if (value.value == "false") return false;
    fail(file_, value.line, pool_.name, key.value,
         "invalid value " + show(value.value) + " (expected true or false)");
}

// conf_set_listen(): "host:port", or "/path [mode]" for a unix socket.
void PoolParser::set_listen(const YamlNode& key, const YamlNode& value) {
    const std::string& v = value.value;
    const std::string& k = key.value;
    if (listen_set_) {
        fail(file_, value.line, pool_.name, k,
             "duplicate listen address " + show(v) + " (a pool listens on one address)");
    }
    ListenConfig& listen = pool_.listen;
    listen = ListenConfig{};
    listen.pname = v;
    std::string name;
    if (v[0] == '/') {
        std::size_t space = v.rfind(' ');
        if (space == std::string::npos) {
            name = v;
        } else {
            name = v.substr(0, space);
            std::string perm = v.substr(space + 1);
            errno = 0;
            // strtol() as nutcracker calls it: "0666x" is 0666, "abc" is 0.
            auto mode = static_cast<mode_t>(std::strtol(perm.c_str(), nullptr, 8));
            if (errno != 0 || mode > 0777) {
                fail(file_, value.line, pool_.name, k,
                     "invalid permissions " + show(perm) + " in " + show(v) +
                         " (expected \"/path/to/socket MODE\" with an octal MODE up to 0777)");
            }
            listen.perm = mode;
        }
        if (name.size() >= kUnixPathMax) {
            fail(file_, value.line, pool_.name, k,
                 "unix socket path " + show(name) + " is too long (at most " +
                     std::to_string(kUnixPathMax - 1) + " bytes)");
        }
        listen.endpoint.unix_path = name;
    } else {
        std::size_t colon = v.rfind(':');
        if (colon == std::string::npos) {
            fail(file_, value.line, pool_.name, k,
                 "invalid listen address " + show(v) +
                     " (expected \"host:port\" or \"/path/to/socket [mode]\")");
        }
        int port = nc_atoi(std::string_view(v).substr(colon + 1));
        if (port < 0 || !valid_port(port)) {
            fail(file_, value.line, pool_.name, k,
                 "invalid port in listen address " + show(v) + " (expected 1..65535)");
        }
        name = v.substr(0, colon);
        resolve(key, value, name, port);
        listen.endpoint.host = name;
        listen.endpoint.port = port;
    }
    listen_set_ = true;
}

// nc_resolve_inet(): nutcracker resolves the listen address while
// reading the file, so an unknown host name is a configuration error.
void PoolParser::resolve(const YamlNode& key, const YamlNode& value, const std::string& host, int port) {
    std::string why = resolver_ ? resolver_(host, port) : resolve_with_getaddrinfo(host, port);
    if (!why.empty()) {
        fail(file_, value.line, pool_.name, key.value,
             "cannot resolve listen address " + show(value.value) + ": host " + show(host) + ": " + why);
    }
}

// conf_add_server(): "host:port:weight [name]" or "/path:weight [name]",
// split from the end exactly as nutcracker splits it.
// `into` is the pool's `servers` or one replica's list: both take the same
// lines, with the same errors.
void PoolParser::add_server(const YamlNode& key, const YamlNode& value, std::vector<ServerConfig>& into) {
    const std::string& v = value.value;
    auto bad = [&](const std::string& why) {
        fail(file_, value.line, pool_.name, key.value, "invalid server " + show(v) + ": " + why);
    };
    const std::string format =
        "expected \"host:port:weight [name]\" or \"/path/to/socket:weight [name]\"";

    const bool is_unix = v[0] == '/';
    const std::size_t needed = is_unix ? 2 : 3;
    const char delims[] = {' ', ':', ':', '\0'};
    std::size_t end = v.size();  // the part not consumed yet is v[0, end)
    std::optional<std::string_view> name, weight, port;
    std::size_t k = 0;
    for (; k < sizeof delims; ++k) {
        std::size_t q = rfind_before(v, delims[k], end);
        if (q == std::string::npos) {
            if (k == 0) continue;  // the name is optional
            break;
        }
        std::string_view part = std::string_view(v).substr(q + 1, end - q - 1);
        if (k == 0) name = part;
        if (k == 1) weight = part;
        if (k == 2) port = part;
        end = q;
    }
    if (k != needed) {
        if (is_unix && k > needed) bad("a unix socket path must not contain ':' (" + format + ")");
        if (k > needed) bad("unexpected NUL character");
        bad(format);
    }

    ServerConfig server;
    server.line = value.line;
    std::size_t name_len = name ? name->size() : 0;
    server.pname = name_len > 0 ? v.substr(0, v.size() - (name_len + 1)) : v;
    std::string addr = v.substr(0, end);

    int w = nc_atoi(*weight);
    if (w < 0) bad("weight " + show(*weight) + " is not a number");
    if (w == 0) bad("the weight must not be 0");
    server.weight = static_cast<std::uint32_t>(w);

    std::size_t port_len = 0;
    if (is_unix) {
        server.endpoint.unix_path = addr;
    } else {
        int p = nc_atoi(*port);
        if (p < 0 || !valid_port(p)) bad("invalid port " + show(*port) + " (expected 1..65535)");
        server.endpoint.host = addr;
        server.endpoint.port = p;
        port_len = port->size();
    }

    if (name) {
        server.name = std::string(*name);
    } else if (server.endpoint.port == kKetamaPort) {
        // libmemcached compatibility: port 11211 is left out of the name.
        server.name = addr;
    } else {
        // "host:port" as written; for a unix socket this is "/path:",
        // colon included, as nutcracker names it.
        server.name = v.substr(0, addr.size() + 1 + port_len);
    }
    into.push_back(std::move(server));
}

}  // namespace cachemux::config_detail
