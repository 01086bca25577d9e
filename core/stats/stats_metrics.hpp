// The stats nutcracker 0.5.0 reports, in its order and with its
// descriptions (`-D` prints them; the stats port reports them per pool and
// per server). One list, so the counters, `-D`, the JSON and the Prometheus
// text cannot disagree.
#pragma once

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

// One pool's numbers in one worker: plain integers, bumped on the worker's
// own thread, so counting takes no lock and no allocation. Gauges are
// signed: a worker may close a connection another opened (after a reload).
struct PoolMetrics {
#define CACHEMUX_FIELD(metric, kind, help) std::int64_t metric = 0;
    CACHEMUX_POOL_METRICS(CACHEMUX_FIELD)
};

struct ServerMetrics {
    CACHEMUX_SERVER_METRICS(CACHEMUX_FIELD)
#undef CACHEMUX_FIELD
};

struct MetricInfo {
    std::string_view name;
    MetricKind kind;
    std::string_view description;
};

#define CACHEMUX_INFO(metric, kind, help) MetricInfo{#metric, MetricKind::kind, help},
inline constexpr MetricInfo kPoolMetricInfo[] = {CACHEMUX_POOL_METRICS(CACHEMUX_INFO)};
inline constexpr MetricInfo kServerMetricInfo[] = {CACHEMUX_SERVER_METRICS(CACHEMUX_INFO)};
#undef CACHEMUX_INFO

}  // namespace cachemux
