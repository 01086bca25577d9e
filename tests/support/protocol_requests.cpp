#include "protocol_requests.hpp"

#include "harness.hpp"

namespace harness {

std::string set_request(Protocol p, const std::string& key, const std::string& value) {
    return p == Protocol::Memcache ? mc::set(key, value) : resp::cmd("SET", key, value);
}

std::string get_request(Protocol p, const std::string& key) {
    return p == Protocol::Memcache ? "get " + key + "\r\n" : resp::cmd("GET", key);
}

std::size_t reply_length(Protocol p, std::string_view buf) {
    return p == Protocol::Memcache ? mc::reply_length(buf) : resp::reply_length(buf);
}

bool is_stored(Protocol p, const std::string& reply) {
    return reply == (p == Protocol::Memcache ? "STORED\r\n" : "+OK\r\n");
}

bool is_error(Protocol p, const std::string& reply) {
    if (p == Protocol::Redis) return !reply.empty() && reply[0] == '-';
    return reply.starts_with("SERVER_ERROR") || reply.starts_with("CLIENT_ERROR") || reply == "ERROR\r\n";
}

}  // namespace harness
