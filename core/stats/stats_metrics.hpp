// The stats nutcracker 0.5.0 reports, in its order and with its
// descriptions (`-D` prints them; the stats port reports them per pool and
// per server). One list, so the counters, `-D`, the JSON and the Prometheus
// text cannot disagree.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

namespace cachemux {

// How a value aggregates: counters only grow, gauges are current levels,
// a timestamp is a moment (usec since the epoch).
enum class MetricKind : std::uint8_t { Counter, Gauge, Timestamp };

// X(name, kind, description)
#define CACHEMUX_POOL_METRICS(X)                                                          \
    X(client_eof, Counter, "# eof on client connections")                                 \
    X(client_err, Counter, "# errors on client connections")                              \
    X(client_connections, Gauge, "# active client connections")                           \
    X(server_ejects, Counter, "# times backend server was ejected")                       \
    X(forward_error, Counter, "# times we encountered a forwarding error")                \
    /* never counted, as in nutcracker 0.5.0 (it reads 0 there too) */                    \
    X(fragments, Counter, "# fragments created from a multi-vector request")

#define CACHEMUX_SERVER_METRICS(X)                                                        \
    X(server_eof, Counter, "# eof on server connections")                                 \
    X(server_err, Counter, "# errors on server connections")                              \
    X(server_timedout, Counter, "# timeouts on server connections")                       \
    X(server_connections, Gauge, "# active server connections")                           \
    X(server_ejected_at, Timestamp, "timestamp when server was ejected in usec since epoch") \
    X(requests, Counter, "# requests")                                                    \
    X(request_bytes, Counter, "total request bytes")                                      \
    X(responses, Counter, "# responses")                                                  \
    X(response_bytes, Counter, "total response bytes")                                    \
    X(in_queue, Gauge, "# requests in incoming queue")                                    \
    X(in_queue_bytes, Gauge, "current request bytes in incoming queue")                   \
    X(out_queue, Gauge, "# requests in outgoing queue")                                   \
    X(out_queue_bytes, Gauge, "current request bytes in outgoing queue")

// A pool with copies (replicas:): what keeping them in step did. In
// /metrics only, and only for such pools, so nutcracker's JSON is unchanged.
#define CACHEMUX_COPY_METRICS(X)                                                          \
    X(copy_failovers, Counter, "reads answered by a copy after the first asked (a miss or an error before)") \
    X(copy_invalidations, Counter, "keys deleted on a copy whose reply disagreed or that may have missed a write") \
    X(copy_backfills, Counter, "hits written back (only if absent) to the copies that missed them") \
    X(copy_propagations, Counter, "writes the primary alone ran, sent on to the other copies (a stored cas as a set)")

// A number one thread writes (its worker) and another reads (the stats
// port's thread). Relaxed atomic, updated by a load and a store rather than
// a read-modify-write: on x86 that is a plain add, with no locked
// instruction, and a reader still never sees a torn value. Only correct with
// one writer, which is why every worker has its own cells.
class StatCell {
public:
    std::int64_t get() const noexcept { return value_.load(std::memory_order_relaxed); }
    void operator=(std::int64_t v) noexcept { value_.store(v, std::memory_order_relaxed); }
    void operator+=(std::int64_t d) noexcept { value_.store(get() + d, std::memory_order_relaxed); }
    void operator-=(std::int64_t d) noexcept { *this += -d; }
    void operator++() noexcept { *this += 1; }
    void operator--() noexcept { *this += -1; }

private:
    std::atomic<std::int64_t> value_{0};
};

// A pool's numbers summed for a reader: plain integers. Gauges are signed,
// as sums of +1 and -1 steps are.
struct PoolMetrics {
#define CACHEMUX_FIELD(metric, kind, help) std::int64_t metric = 0;
    CACHEMUX_POOL_METRICS(CACHEMUX_FIELD)
};

struct ServerMetrics {
    CACHEMUX_SERVER_METRICS(CACHEMUX_FIELD)
};

struct CopyMetrics {
    CACHEMUX_COPY_METRICS(CACHEMUX_FIELD)
#undef CACHEMUX_FIELD
};

// The same numbers as one worker counts them, bumped on its own thread, so
// counting takes no lock and no allocation. Each starts a cache line of its
// own, so that no two workers' counters share one.
struct alignas(64) LivePoolMetrics {
#define CACHEMUX_CELL(metric, kind, help) StatCell metric;
    CACHEMUX_POOL_METRICS(CACHEMUX_CELL)
};

struct alignas(64) LiveServerMetrics {
    CACHEMUX_SERVER_METRICS(CACHEMUX_CELL)
};

struct alignas(64) LiveCopyMetrics {
    CACHEMUX_COPY_METRICS(CACHEMUX_CELL)
#undef CACHEMUX_CELL
};

// A reload keeps a server: its new cells start from its old ones (on the
// worker's thread, while no reader looks).
inline void carry_over(LiveServerMetrics& to, const LiveServerMetrics& from) {
#define CACHEMUX_COPY(metric, kind, help) to.metric = from.metric.get();
    CACHEMUX_SERVER_METRICS(CACHEMUX_COPY)
#undef CACHEMUX_COPY
}

struct MetricInfo {
    std::string_view name;
    MetricKind kind;
    std::string_view description;
};

#define CACHEMUX_INFO(metric, kind, help) MetricInfo{#metric, MetricKind::kind, help},
inline constexpr MetricInfo kPoolMetricInfo[] = {CACHEMUX_POOL_METRICS(CACHEMUX_INFO)};
inline constexpr MetricInfo kServerMetricInfo[] = {CACHEMUX_SERVER_METRICS(CACHEMUX_INFO)};
inline constexpr MetricInfo kCopyMetricInfo[] = {CACHEMUX_COPY_METRICS(CACHEMUX_INFO)};
#undef CACHEMUX_INFO

}  // namespace cachemux
