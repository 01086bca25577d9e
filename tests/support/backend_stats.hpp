// A backend's own numbers, asked directly: what the server saw of the proxy
// (connections open, commands served).
#pragma once

#include <string>

namespace harness {

// A number from memcached's "stats" ("curr_connections", "cmd_set", ...).
// memcached counts its listener and the connection asking too, so only
// differences mean anything.
long long memcached_stat(int port, const std::string& name);

// A number from redis-server's INFO ("connected_clients", ...).
long long redis_info(int port, const std::string& field);

}  // namespace harness
