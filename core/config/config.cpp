// nutcracker's YAML configuration, read with yaml-cpp and validated the way
// nutcracker 0.5.0 validates it (src/nc_conf.c): the same files are accepted
// and rejected, but every error names the file, the line and the key.
//
// nutcracker checks a file in three passes and so does this reader:
//   1. the shape of the YAML (conf_validate_document/_tokens/_structure):
//      one document, a mapping of pool names to mappings whose values are
//      scalars or, for exactly one key per pool, a list of scalars;
//   2. every "key: value" (and every list item) through its key's setter
//      (conf_set_num, conf_set_bool, conf_set_listen, conf_add_server, ...);
//   3. each pool as a whole, then the pools together (conf_validate_pool,
//      conf_post_validate).
// Hash and distribution names are not checked here: plugins provide them and
// the core checks them later (see PoolConfig::line_of and config_error()).
#include "config/config.hpp"
#include "config/nc_atoi.hpp"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <utility>

#include "config/config_yaml.hpp"

namespace cachemux {
namespace {

using config_detail::YamlNode;
using Kind = YamlNode::Kind;

constexpr int kKetamaPort = 11211;  // CONF_DEFAULT_KETAMA_PORT
constexpr std::size_t kUnixPathMax = sizeof(sockaddr_un::sun_path);

std::string show(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                out += buf;
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    return out + "\"";
}

std::string where(const std::string& file, int line, const std::string* pool, const std::string* key) {
    std::string msg = file + ":" + std::to_string(line) + ": ";
    if (pool) msg += "pool '" + *pool + "': ";
    if (key) msg += "key '" + *key + "': ";
    return msg;
}

[[noreturn]] void fail(const std::string& file, int line, const std::string& detail) {
    throw ConfigError(where(file, line, nullptr, nullptr) + detail);
}
[[noreturn]] void fail(const std::string& file, int line, const std::string& pool,
                       const std::string& detail) {
    throw ConfigError(where(file, line, &pool, nullptr) + detail);
}
[[noreturn]] void fail(const std::string& file, int line, const std::string& pool,
                       const std::string& key, const std::string& detail) {
    throw ConfigError(where(file, line, &pool, &key) + detail);
}


bool valid_port(int port) { return port >= 1 && port <= 65535; }

// nutcracker's string_compare(): shorter strings first, then strncmp().
int nc_compare(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return a.size() > b.size() ? 1 : -1;
    return std::strncmp(a.c_str(), b.c_str(), a.size());
}
bool nc_less(const std::string& a, const std::string& b) { return nc_compare(a, b) < 0; }

// nc_strrchr(): the last `c` in s[0, end), if any.
std::size_t rfind_before(std::string_view s, char c, std::size_t end) {
    for (std::size_t i = end; i > 0; --i) {
        if (s[i - 1] == c) return i - 1;
    }
    return std::string_view::npos;
}

const char* kind_name(const YamlNode& n) {
    switch (n.kind) {
    case Kind::Map: return "a mapping";
    case Kind::Seq: return "a list";
    default: return "a scalar";
    }
}

constexpr std::string_view kKnownKeys =
    "listen, hash, hash_tag, distribution, timeout, backlog, client_connections, redis, "
    "tcpkeepalive, redis_auth, redis_db, preconnect, auto_eject_hosts, server_connections, "
    "server_retry_timeout, server_failure_limit, flush_on_rejoin, protocol, servers";

// ---------------------------------------------------------------------------
// Pass 1: the shape nutcracker's conf_validate_structure() allows.

// The top-level `plugins:` list. A pool cannot be a list, so a list there is
// never a nutcracker pool and a `plugins:` mapping still is one.
bool is_plugin_list(const YamlNode& name, const YamlNode& value) {
    return name.kind == Kind::Scalar && name.value == "plugins" && value.kind == Kind::Seq;
}

void check_structure(const YamlNode& root, const std::string& file) {
    if (root.kind != Kind::Map) {
        fail(file, root.line,
             std::string("the top level must be a mapping of pool names to pool settings, not ") +
                 kind_name(root));
    }
    for (std::size_t i = 0; i + 1 < root.items.size(); i += 2) {
        const YamlNode& name = root.items[i];
        const YamlNode& pool = root.items[i + 1];
        if (name.kind != Kind::Scalar) {
            fail(file, name.line, std::string("a pool name must be a scalar, not ") + kind_name(name));
        }
        if (is_plugin_list(name, pool)) {
            continue;  // read by read_plugin_list()
        }
        if (pool.kind != Kind::Map) {
            if (pool.kind == Kind::Scalar && pool.value.empty()) {
                fail(file, name.line, name.value,
                     "has no settings: a pool must be a mapping with at least 'listen' and "
                     "'servers'");
            }
            fail(file, pool.line, name.value,
                 std::string("must be a mapping of settings (indented 'key: value' lines), not ") +
                     kind_name(pool));
        }
        const YamlNode* list_key = nullptr;
        for (std::size_t j = 0; j + 1 < pool.items.size(); j += 2) {
            const YamlNode& key = pool.items[j];
            const YamlNode& value = pool.items[j + 1];
            if (key.kind != Kind::Scalar) {
                fail(file, key.line, name.value,
                     std::string("a key must be a scalar, not ") + kind_name(key));
            }
            if (value.kind == Kind::Map) {
                fail(file, value.line, name.value, key.value,
                     "nested mappings are not allowed; a value must be a scalar or a list");
            }
            if (value.kind == Kind::Seq) {
                if (list_key) {
                    fail(file, key.line, name.value, key.value,
                         "a pool may have only one list (there is already one at key '" +
                             list_key->value + "', line " + std::to_string(list_key->line) + ")");
                }
                list_key = &key;
                for (const YamlNode& item : value.items) {
                    if (item.kind != Kind::Scalar) {
                        fail(file, item.line, name.value, key.value,
                             std::string("list items must be scalars, not ") + kind_name(item));
                    }
                }
            }
        }
        if (!list_key) {
            fail(file, name.line, name.value,
                 "has no 'servers' list (a '- host:port:weight' item per line)");
        }
    }
}

// ---------------------------------------------------------------------------
// Pass 2: every key through its setter.

class PoolParser {
public:
    PoolParser(const std::string& file, const YamlNode& name, const HostResolver& resolver)
        : file_(file), resolver_(resolver) {
        pool_.name = name.value;
        pool_.line = name.line;
    }

    void handle(const YamlNode& key, const YamlNode& value) {
        const std::string& k = key.value;
        if (k != "servers") {
            // Every setter but conf_add_server refuses a second value.
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
            add_server(key, value);
        } else {
            fail(file_, key.line, pool_.name, k,
                 "unknown key (known keys: " + std::string(kKnownKeys) + ")");
        }
    }

    // conf_validate_pool().
    PoolConfig finish() {
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
        // Duplicate names; nutcracker sorts the servers to find them, and
        // keeps them sorted (see PoolConfig::servers).
        std::stable_sort(pool_.servers.begin(), pool_.servers.end(),
                         [](const ServerConfig& a, const ServerConfig& b) { return nc_less(a.name, b.name); });
        for (std::size_t i = 0; i + 1 < pool_.servers.size(); ++i) {
            const ServerConfig& a = pool_.servers[i];
            const ServerConfig& b = pool_.servers[i + 1];
            if (nc_compare(a.name, b.name) == 0) {
                const ServerConfig& later = a.line > b.line ? a : b;
                const ServerConfig& earlier = a.line > b.line ? b : a;
                fail(file_, later.line, name, "servers",
                     "duplicate server name " + show(a.name) + " (also the name of " +
                         show(earlier.pname) + " on line " + std::to_string(earlier.line) +
                         "; give the servers distinct names with 'host:port:weight name')");
            }
        }
        return std::move(pool_);
    }

private:
    // `redis: true` is `protocol: redis`; a pool that names its protocol is
    // a redis pool (redis_auth and the rest apply) exactly when it names redis.
    void resolve_protocol() {
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

    static bool known(const std::string& k) {
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

    int number(const YamlNode& key, const YamlNode& value) {
        int n = nc_atoi(value.value);
        if (n < 0) {
            fail(file_, value.line, pool_.name, key.value,
                 "invalid number " + show(value.value) +
                     " (expected a non-negative decimal integer below 2147483648)");
        }
        return n;
    }

    bool boolean(const YamlNode& key, const YamlNode& value) {
        if (value.value == "true") return true;
        if (value.value == "false") return false;
        fail(file_, value.line, pool_.name, key.value,
             "invalid value " + show(value.value) + " (expected true or false)");
    }

    // conf_set_listen(): "host:port", or "/path [mode]" for a unix socket.
    void set_listen(const YamlNode& key, const YamlNode& value) {
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
    void resolve(const YamlNode& key, const YamlNode& value, const std::string& host, int port) {
        std::string why = resolver_ ? resolver_(host, port) : resolve_with_getaddrinfo(host, port);
        if (!why.empty()) {
            fail(file_, value.line, pool_.name, key.value,
                 "cannot resolve listen address " + show(value.value) + ": host " + show(host) + ": " + why);
        }
    }

    // conf_add_server(): "host:port:weight [name]" or "/path:weight [name]",
    // split from the end exactly as nutcracker splits it.
    void add_server(const YamlNode& key, const YamlNode& value) {
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
        pool_.servers.push_back(std::move(server));
    }

    const std::string& file_;
    const HostResolver& resolver_;
    PoolConfig pool_;
    bool listen_set_ = false;
    std::map<std::string, int> seen_;  // key -> line of its first value
};

void check_not_empty(const std::string& file, const YamlNode& node, const std::string* pool,
                     const std::string* key) {
    if (!node.value.empty()) return;
    std::string msg = where(file, node.line, pool, key);
    if (!pool) {
        msg += "empty pool name";
    } else if (!key) {
        msg += "empty key";
    } else {
        msg += "empty value";
    }
    throw ConfigError(msg);
}

// conf_post_validate(): what involves several pools.
void check_pools(const std::string& file, std::vector<PoolConfig>& pools) {
    // nutcracker checks the listen addresses first; the names are checked
    // first here only so that a pool written twice is reported as such.
    std::stable_sort(pools.begin(), pools.end(),
                     [](const PoolConfig& a, const PoolConfig& b) { return nc_less(a.name, b.name); });
    for (std::size_t i = 0; i + 1 < pools.size(); ++i) {
        if (nc_compare(pools[i].name, pools[i + 1].name) == 0) {
            int first = std::min(pools[i].line, pools[i + 1].line);
            int second = std::max(pools[i].line, pools[i + 1].line);
            fail(file, second, pools[i].name,
                 "duplicate pool name (first defined on line " + std::to_string(first) + ")");
        }
    }

    std::vector<const PoolConfig*> by_listen;
    for (const auto& p : pools) by_listen.push_back(&p);
    std::stable_sort(by_listen.begin(), by_listen.end(), [](const PoolConfig* a, const PoolConfig* b) {
        return nc_less(a->listen.pname, b->listen.pname);
    });
    for (std::size_t i = 0; i + 1 < by_listen.size(); ++i) {
        const PoolConfig* a = by_listen[i];
        const PoolConfig* b = by_listen[i + 1];
        if (nc_compare(a->listen.pname, b->listen.pname) == 0) {
            if (a->line > b->line) std::swap(a, b);
            fail(file, b->line_of("listen"), b->name, "listen",
                 "listen address " + show(b->listen.pname) + " is already used by pool '" + a->name +
                     "' (line " + std::to_string(a->line_of("listen")) + ")");
        }
    }
}

}  // namespace

std::string resolve_with_getaddrinfo(const std::string& host, int port) {
    // nc_resolve_inet(): the C string (so up to a NUL), any family, TCP.
    addrinfo hints{};
    hints.ai_flags = AI_NUMERICSERV;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* result = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &result);
    if (rc != 0) return ::gai_strerror(rc);
    ::freeaddrinfo(result);
    return "";
}

Config parse_config(const std::string& yaml_text, const std::string& file) {
    return parse_config(yaml_text, file, resolve_with_getaddrinfo);
}

// `plugins:` items: each a non-empty scalar, none twice.
void read_plugin_list(const std::string& file, const YamlNode& name, const YamlNode& list,
                      std::vector<PluginRef>& out) {
    if (!out.empty()) {
        fail(file, name.line, "duplicate 'plugins' list (the first is on line " +
                                  std::to_string(out.front().line) + ")");
    }
    for (const YamlNode& item : list.items) {
        if (item.kind != Kind::Scalar || item.value.empty()) {
            fail(file, item.line,
                 std::string("'plugins' items must be plugin names or paths, not ") +
                     (item.kind == Kind::Scalar ? "an empty value" : kind_name(item)));
        }
        for (const PluginRef& seen : out) {
            if (seen.spec == item.value) {
                fail(file, item.line, "plugin " + show(item.value) + " is listed twice (also on line " +
                                          std::to_string(seen.line) + ")");
            }
        }
        out.push_back({item.value, item.line});
    }
}

Config parse_config(const std::string& yaml_text, const std::string& file, const HostResolver& resolver) {
    YamlNode root;
    try {
        root = config_detail::read_yaml(yaml_text);
    } catch (const config_detail::YamlProblem& p) {
        fail(file, p.line, p.message);
    }

    check_structure(root, file);

    Config config;
    config.file = file;
    for (std::size_t i = 0; i + 1 < root.items.size(); i += 2) {
        const YamlNode& name = root.items[i];
        const YamlNode& body = root.items[i + 1];
        if (is_plugin_list(name, body)) {
            read_plugin_list(file, name, body, config.plugins);
            continue;
        }
        check_not_empty(file, name, nullptr, nullptr);
        PoolParser parser(file, name, resolver);
        for (std::size_t j = 0; j + 1 < body.items.size(); j += 2) {
            const YamlNode& key = body.items[j];
            const YamlNode& value = body.items[j + 1];
            check_not_empty(file, key, &name.value, nullptr);
            if (value.kind == Kind::Seq) {
                for (const YamlNode& item : value.items) {
                    check_not_empty(file, item, &name.value, &key.value);
                    parser.handle(key, item);
                }
            } else {
                check_not_empty(file, value, &name.value, &key.value);
                parser.handle(key, value);
            }
        }
        config.pools.push_back(parser.finish());
    }
    if (config.pools.empty()) {
        fail(file, 1, "the configuration defines no pools");
    }
    check_pools(file, config.pools);
    return config;
}

Config load_config(const std::string& file) {
    std::FILE* fp = std::fopen(file.c_str(), "rb");
    if (!fp) {
        int err = errno;
        throw ConfigOpenError(file + ": cannot open configuration file: " + std::strerror(err));
    }
    std::string text;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, fp)) > 0) text.append(buf, n);
    bool failed = std::ferror(fp) != 0;
    int err = errno;
    std::fclose(fp);
    if (failed) {
        throw ConfigError(file + ": cannot read configuration file: " + std::strerror(err));
    }
    return parse_config(text, file);
}

ConfigError config_error(const std::string& file, const PoolConfig& pool, const std::string& key,
                         const std::string& detail) {
    return ConfigError(where(file, pool.line_of(key), &pool.name, &key) + detail);
}

}  // namespace cachemux
