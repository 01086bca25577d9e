// The stats port (-s, -a): nutcracker's JSON to whoever connects and just
// reads, and Prometheus' text to `GET /metrics` over HTTP, from the same
// port so that either kind of scraper can use it as it is.
//
// Counting happens in the workers, lock-free, in cells each worker alone
// writes; the numbers are summed over the workers when a reader connects, on
// the control loop. (nutcracker's stats thread sums every `-i` ms to move
// numbers between its two threads; reading the cells directly leaves
// nothing to move, so `-i` is accepted and has no effect, and every read is
// current.)
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_set>

#include "stats/stats.hpp"

namespace cachemux {

class StatsServer {
public:
    // `collect` fills in the connection counts and every pool's numbers.
    using Collect = std::function<void(StatsSnapshot&)>;
    StatsServer(event_base* base, std::string address, int port, Collect collect);
    ~StatsServer();
    StatsServer(const StatsServer&) = delete;
    StatsServer& operator=(const StatsServer&) = delete;

    // The top-level fields: host name, version, start time (epoch seconds).
    void set_identity(std::string source, std::string version, std::int64_t started_at);
    // Binds the port; throws std::runtime_error naming the address.
    void listen();

private:
    class Session;

    static void on_accept(evutil_socket_t fd, short events, void* arg);
    // The numbers as they are now, for an answer.
    const StatsSnapshot& current();

    event_base* base_;
    std::string address_;
    int port_;
    Collect collect_;
    StatsSnapshot snapshot_;
    int listen_fd_ = -1;
    event* accept_event_ = nullptr;
    std::unordered_set<Session*> sessions_;  // answered and closed at destruction
};

}  // namespace cachemux
