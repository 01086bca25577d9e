// Milliseconds on the monotonic clock: timeouts and retry times.
#pragma once

#include <chrono>
#include <cstdint>

namespace cachemux {

inline std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace cachemux
