#include "backend_stats.hpp"

#include <doctest/doctest.h>

#include "harness.hpp"

namespace harness {

using namespace std::chrono_literals;

long long memcached_stat(int port, const std::string& name) {
    Connection c(port);
    std::string stats = c.request("stats\r\n", "END\r\n");
    auto at = stats.find("STAT " + name + " ");
    REQUIRE_MESSAGE(at != std::string::npos, "memcached stats without " << name << ": " << escape(stats));
    return std::stoll(stats.substr(at + name.size() + 6));
}

long long redis_info(int port, const std::string& field) {
    Connection c(port);
    std::string info = resp::call(c, resp::cmd("INFO"), 5000ms);
    auto at = info.find("\r\n" + field + ":");
    REQUIRE_MESSAGE(at != std::string::npos, "redis INFO without " << field << ": " << escape(info));
    return std::stoll(info.substr(at + field.size() + 3));
}

}  // namespace harness
