// What the stats port reports: every pool's counters summed over the
// workers, taken every `-i` ms (as nutcracker aggregates), and the text
// forms of it (nutcracker's JSON, Prometheus' exposition format, `-D`).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "stats/stats_metrics.hpp"

namespace cachemux {

// One pool's live numbers in one worker, bumped on the worker's thread.
struct PoolStats {
    explicit PoolStats(std::size_t servers) : servers(servers) {}
    LivePoolMetrics pool;
    std::vector<LiveServerMetrics> servers;  // in the pool's server order
    LiveCopyMetrics copies;                  // a pool with copies only
};

struct StatsSnapshot {
    struct Server {
        std::string name;  // as nutcracker keys it: the server's name
        ServerMetrics metrics;
    };
    struct Pool {
        std::string name;
        PoolMetrics metrics;
        std::vector<Server> servers;
        // A pool with copies (replicas:): each server's copy, and the
        // copies' counters; /metrics only. Empty for a plain pool.
        std::vector<std::uint32_t> server_copy;
        CopyMetrics copies;
    };

    std::string service = "nutcracker";  // kept: scripts match on it
    std::string source;                  // the host name
    std::string version;                 // cachemux's
    std::int64_t started_at = 0;         // seconds since the epoch
    std::int64_t taken_at = 0;           // seconds since the epoch
    std::int64_t total_connections = 0;
    std::int64_t curr_connections = 0;
    std::vector<Pool> pools;  // in nutcracker's pool order

    // Each worker thread's own figures: in /metrics only, so that readers
    // of nutcracker's JSON see no new pool-like objects.
    struct Worker {
        std::int64_t client_connections = 0;
        std::int64_t requests = 0;  // sent to servers, over every pool
        double cpu_seconds = 0;     // the thread's user + system time
    };
    std::vector<Worker> workers;

    // The configuration: its generation (the pools above are laid out for
    // it) and its reloads, in /metrics only.
    std::uint64_t config_generation = 0;
    struct Reloads {
        std::int64_t succeeded = 0;
        std::int64_t failed = 0;
        std::int64_t last_success_at = 0;  // seconds since the epoch: the start, until a reload succeeds
    } reloads;
};

// Adds one worker's numbers for a pool into the snapshot's: counters and
// gauges add up, a timestamp takes the latest.
void add_to(StatsSnapshot::Pool& into, const PoolStats& from);

// nutcracker 0.5.0's stats JSON, byte for byte in its layout.
std::string render_json(const StatsSnapshot& snapshot);
// The Prometheus text format (0.0.4): one family per metric, labelled by
// pool (and server), with # HELP and # TYPE lines.
std::string render_prometheus(const StatsSnapshot& snapshot);
// `-D`: nutcracker's description of every metric.
void describe_stats(std::FILE* out);

}  // namespace cachemux
