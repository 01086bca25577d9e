// The nutcracker YAML configuration, parsed and validated.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace cachemux {

// A config error names the file, the line and the key it is about.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The file could not be opened at all (nutcracker's -t prints its "syntax is
// invalid" line once in that case, twice for every other error).
class ConfigOpenError : public ConfigError {
public:
    using ConfigError::ConfigError;
};

// A socket address as written in `listen:` or a `servers:` line.
struct Endpoint {
    std::string host;       // empty for a unix socket
    int port = 0;           // 0 for a unix socket
    std::string unix_path;  // absolute path, or empty
    bool is_unix() const { return !unix_path.empty(); }
};

struct ListenConfig {
    std::string pname;  // as written, e.g. "127.0.0.1:22121" or "/tmp/a.sock 0666"
    Endpoint endpoint;
    mode_t perm = 0;  // unix socket permissions; 0 = leave as created
};

struct ServerConfig {
    std::string pname;  // "host:port:weight" as written (without the name)
    // Stats and ring name: the node name if given, else "host:port", or just
    // "host" when the port is 11211 (nutcracker's libmemcached quirk), and
    // "/path:" (colon included, as nutcracker has it) for a unix socket.
    std::string name;
    Endpoint endpoint;
    std::uint32_t weight = 1;
    int line = 0;
};

struct PoolConfig {
    std::string name;
    int line = 0;  // line of the pool's name in the file

    ListenConfig listen;
    std::string hash = "fnv1a_64";
    std::string hash_tag;  // empty or exactly two characters
    std::string distribution = "ketama";
    int timeout_ms = -1;  // -1: wait forever
    int backlog = 512;
    // Clients beyond this many are accepted and closed at once, as later
    // twemproxy releases do; nutcracker 0.5.0 parses the key and ignores it.
    int client_connections = 0;  // 0: unlimited
    bool redis = false;
    std::string redis_auth;
    int redis_db = 0;
    bool preconnect = false;
    bool auto_eject_hosts = false;
    bool tcpkeepalive = false;
    int server_connections = 1;
    int server_retry_timeout_ms = 30000;
    int server_failure_limit = 2;
    // Not nutcracker's: a server rejoining the ring after an ejection is
    // first emptied (memcache flush_all), so that it cannot serve values
    // written elsewhere while it was out. Needs auto_eject_hosts; refused on
    // redis pools. In a memcache pool with `replicas` and auto_eject_hosts it
    // defaults to true and cannot be false (a rejoining copy would serve
    // values older than its outage).
    bool flush_on_rejoin = false;
    // Not nutcracker's: the protocol plugin by name. Without the key it is
    // "redis" for `redis: true`, else "memcache"; `protocol: redis` makes a
    // redis pool as `redis: true` does.
    std::string protocol;
    // In nutcracker's order, which is NOT the file order: 0.5.0 sorts a
    // pool's servers by name (shorter names first, then bytewise) while
    // validating, and that order is the server index modula/random use and
    // the order of the stats. ServerConfig::line gives the file position.
    std::vector<ServerConfig> servers;

    // Not nutcracker's (`replicas:`): further full copies of the pool's
    // ring. Each is a server list placed with the pool's hash, distribution
    // and hash_tag, sorted as `servers` is, so each copy's placement is what
    // nutcracker gives for that list. `servers` is copy 0, the primary ring.
    // Server names are unique across every copy. Empty for a plain pool.
    std::vector<std::vector<ServerConfig>> replicas;
    // The policies of a pool with replicas (cachemux keys `write`, `read`,
    // `read_failover`; refused without `replicas`).
    enum class CopyWrite : std::uint8_t {
        All,  // write: all (default): the client hears of an error on any live copy
        One,  // write: one: a write succeeds if any live copy stored it
    };
    enum class CopyRead : std::uint8_t {
        Primary,  // read: primary (default): copy 0 first, then 1, ...
        Spread,   // read: spread: a per-key starting copy, then on in order
    };
    CopyWrite copy_write = CopyWrite::All;
    CopyRead copy_read = CopyRead::Primary;
    bool read_failover_on_miss = true;  // read_failover: miss (default) | error
    // backfill_ttl: a hit found on a later copy is written back (only if
    // absent) to the copies that missed, expiring after this many seconds;
    // 0 turns backfill off. A cap, since the remaining TTL of the hit is not
    // read yet (memcached's meta commands).
    int backfill_ttl_s = 300;
    std::size_t copies() const { return 1 + replicas.size(); }

    // Line of each key present in the file, for errors found after parsing
    // (an unknown hash name, say).
    std::map<std::string, int> key_lines;

    int line_of(const std::string& key) const {
        auto it = key_lines.find(key);
        return it == key_lines.end() ? line : it->second;
    }
};

// One item of the top-level `plugins:` list (not nutcracker's): a shared
// object to load before any pool is built. A path (it has a '/'; relative
// to the config file's directory), or a name found as <plugin dir>/NAME.so.
struct PluginRef {
    std::string spec;
    int line = 0;
};

struct Config {
    std::string file;
    // In file order. A top-level `plugins:` whose value is a list; a
    // `plugins:` holding a mapping is a pool of that name, as in nutcracker.
    std::vector<PluginRef> plugins;
    // Sorted like nutcracker 0.5.0 sorts them (by name: shorter first, then
    // bytewise), which is the order of its stats output. PoolConfig::line
    // gives the file position.
    std::vector<PoolConfig> pools;
};

// Reads and validates `file`. Throws ConfigError "FILE:LINE: ..." naming the key.
Config load_config(const std::string& file);
// Same, for YAML text already in memory (tests); `file` is used in messages.
Config parse_config(const std::string& yaml_text, const std::string& file);

// nutcracker resolves each `listen:` host name while reading the file, so a
// name that does not resolve is a configuration error. The resolver returns
// "" when `host` resolves, else why not. The default one is getaddrinfo()
// as nutcracker calls it; tests may pass their own to stay off the network.
using HostResolver = std::function<std::string(const std::string& host, int port)>;
std::string resolve_with_getaddrinfo(const std::string& host, int port);
Config parse_config(const std::string& yaml_text, const std::string& file, const HostResolver& resolver);

// An error about `key` of `pool` found after parsing (an unknown hash name,
// say), worded like the parser's own:
//   "FILE:LINE: pool 'NAME': key 'KEY': DETAIL"
// with LINE = pool.line_of(key).
ConfigError config_error(const std::string& file, const PoolConfig& pool, const std::string& key,
                         const std::string& detail);
inline ConfigError config_error(const Config& config, const PoolConfig& pool, const std::string& key,
                                const std::string& detail) {
    return config_error(config.file, pool, key, detail);
}

}  // namespace cachemux
