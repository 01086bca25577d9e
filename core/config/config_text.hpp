// The config reader's text helpers, shared by its passes (config.cpp,
// pool_parser.cpp, replicas_config.cpp) so that every error is worded and
// placed the same way: "FILE:LINE: pool 'NAME': key 'KEY': DETAIL".
// Internal to core/config/.
#pragma once

#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "config/config_yaml.hpp"

namespace cachemux::config_detail {

// A value quoted and escaped for a message, so that blanks, quotes and
// control characters in it are visible.
inline std::string show(std::string_view s) {
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

inline std::string where(const std::string& file, int line, const std::string* pool, const std::string* key) {
    std::string msg = file + ":" + std::to_string(line) + ": ";
    if (pool) msg += "pool '" + *pool + "': ";
    if (key) msg += "key '" + *key + "': ";
    return msg;
}

[[noreturn]] inline void fail(const std::string& file, int line, const std::string& detail) {
    throw ConfigError(where(file, line, nullptr, nullptr) + detail);
}
[[noreturn]] inline void fail(const std::string& file, int line, const std::string& pool,
                              const std::string& detail) {
    throw ConfigError(where(file, line, &pool, nullptr) + detail);
}
[[noreturn]] inline void fail(const std::string& file, int line, const std::string& pool,
                              const std::string& key, const std::string& detail) {
    throw ConfigError(where(file, line, &pool, &key) + detail);
}

// nutcracker's string_compare(): shorter strings first, then strncmp().
inline int nc_compare(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return a.size() > b.size() ? 1 : -1;
    return std::strncmp(a.c_str(), b.c_str(), a.size());
}
inline bool nc_less(const std::string& a, const std::string& b) { return nc_compare(a, b) < 0; }

inline const char* kind_name(const YamlNode& n) {
    switch (n.kind) {
    case YamlNode::Kind::Map: return "a mapping";
    case YamlNode::Kind::Seq: return "a list";
    default: return "a scalar";
    }
}

// An empty pool name, key or value is refused (nutcracker refuses them
// too); the message says which of the three it is.
inline void check_not_empty(const std::string& file, const YamlNode& node, const std::string* pool,
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

}  // namespace cachemux::config_detail
