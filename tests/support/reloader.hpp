// Reloads a running cachemux the way an operator does: a new -c file, then
// SIGUSR1; and knows when the proxy has counted the reload as done.
#pragma once

#include <string>
#include <vector>

#include "harness.hpp"

namespace harness {

class Reloader {
public:
    // CHECKs that the proxy has not reloaded yet (generation 1).
    explicit Reloader(Proxy& proxy);

    // Writes `pools` as the config, sends SIGUSR1 and waits (bounded) for
    // /metrics to count the outcome: "" once counted as done, else what
    // happened (a failure, a jump, the proxy gone, no outcome in time).
    std::string reload(const std::vector<PoolSpec>& pools);

    long long done() const { return ok_; }
    // When the last SIGUSR1 was sent.
    Clock::time_point last_signal() const { return last_signal_; }
    long long max_ms() const { return max_ms_; }
    // How long the n slowest reloads took, SIGUSR1 to counted: "a, b, c" ms.
    std::string slowest(std::size_t n) const;

private:
    Proxy& proxy_;
    long long ok_ = 0;
    long long failed_ = 0;
    long long max_ms_ = 0;
    Clock::time_point last_signal_{};
    std::vector<long long> all_ms_;
};

}  // namespace harness
