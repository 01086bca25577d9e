// The nutcracker YAML configuration, parsed and validated.
#pragma once

#include <sys/types.h>

#include <cstdint>
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
    // "host" when the port is 11211 (nutcracker's libmemcached quirk).
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
    std::vector<ServerConfig> servers;

    // Line of each key present in the file, for errors found after parsing
    // (an unknown hash name, say).
    std::map<std::string, int> key_lines;

    int line_of(const std::string& key) const {
        auto it = key_lines.find(key);
        return it == key_lines.end() ? line : it->second;
    }
};

struct Config {
    std::string file;
    std::vector<PoolConfig> pools;
};

// Reads and validates `file`. Throws ConfigError "FILE:LINE: ..." naming the key.
Config load_config(const std::string& file);
// Same, for YAML text already in memory (tests); `file` is used in messages.
Config parse_config(const std::string& yaml_text, const std::string& file);

}  // namespace cachemux
