#include "listener_probe.hpp"

#include <thread>

namespace harness {

using namespace std::chrono_literals;

std::string serves(Protocol p, int port, const std::string& key) {
    try {
        Connection c(port, 1000ms);
        const std::string v = "probe-" + key;
        c.send_all(set_request(p, key, v) + get_request(p, key));
        auto framer = [&](std::string_view s) { return reply_length(p, s); };
        std::string r1 = c.read_until(framer, 5000ms);
        std::string r2 = c.read_until(framer, 5000ms);
        std::string want = p == Protocol::Memcache ? mc::value(key, v) + "END\r\n"
                                                   : "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
        if (!is_stored(p, r1) || r2 != want) return "set/get answered " + escape(r1) + " / " + escape(r2);
        return "";
    } catch (const std::exception& e) {
        return e.what();
    }
}

long long wait_refused(int port, Millis bound) {
    const auto start = Clock::now();
    while (port_open(port)) {
        if (Clock::now() - start > bound) return -1;
        std::this_thread::sleep_for(5ms);
    }
    return std::chrono::duration_cast<Millis>(Clock::now() - start).count();
}

}  // namespace harness
