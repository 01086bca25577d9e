// A bounded poll: for values that reach their final state a moment after the
// action that causes them (counters published at intervals, connections
// closed once idle, a listener closed by a reload).
#pragma once

#include <thread>

#include "harness.hpp"

namespace harness {

// Calls `get()` until it returns `want` or `wait` has passed; the last value.
template <typename Get>
auto settle(Get get, decltype(get()) want, Millis wait = Millis(3000) * kSlackFactor) {
    auto now = get();
    for (auto deadline = Clock::now() + wait; now != want && Clock::now() < deadline;) {
        std::this_thread::sleep_for(Millis(20));
        now = get();
    }
    return now;
}

}  // namespace harness
