#include "stats/stats.hpp"

#include <algorithm>
#include <cstdio>

namespace cachemux {

namespace {

void add_metric(std::int64_t& into, std::int64_t from, MetricKind kind) {
    if (kind == MetricKind::Timestamp) {
        into = std::max(into, from);
    } else {
        into += from;
    }
}

// Names come from the config; nutcracker writes them raw, which only
// matters for a name with a quote or a backslash in it.
void json_string(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
}

void json_number(std::string& out, std::string_view name, std::int64_t value) {
    json_string(out, name);
    out += ':';
    out += std::to_string(value);
}

// A Prometheus label value: backslash, quote and newline escaped.
void label_value(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    out += '"';
}

const char* prometheus_type(MetricKind kind) { return kind == MetricKind::Counter ? "counter" : "gauge"; }

// cachemux_<metric>, with _total for counters as the format's convention asks.
std::string family_name(const MetricInfo& info) {
    std::string name = "cachemux_";
    name += info.name;
    if (info.kind == MetricKind::Counter) {
        name += "_total";
    }
    return name;
}

void family_header(std::string& out, const std::string& family, std::string_view help, MetricKind kind) {
    out += "# HELP " + family + " ";
    if (help.starts_with("# ")) {
        out += "number of ";  // nutcracker's "# eof on client connections"
        help.remove_prefix(2);
    }
    out += help;
    out += "\n# TYPE " + family + " " + prometheus_type(kind) + "\n";
}

// Per worker thread: how evenly clients, requests and CPU spread.
void render_worker_families(std::string& out, const std::vector<StatsSnapshot::Worker>& workers) {
    auto family = [&](const char* name, std::string_view help, MetricKind kind, auto value) {
        family_header(out, name, help, kind);
        for (std::size_t i = 0; i < workers.size(); ++i) {
            out += name;
            out += "{worker=\"" + std::to_string(i) + "\"} " + value(workers[i]) + "\n";
        }
    };
    family("cachemux_worker_client_connections", "client connections a worker thread serves", MetricKind::Gauge,
           [](const StatsSnapshot::Worker& w) { return std::to_string(w.client_connections); });
    family("cachemux_worker_requests_total", "requests a worker thread sent to servers", MetricKind::Counter,
           [](const StatsSnapshot::Worker& w) { return std::to_string(w.requests); });
    family("cachemux_worker_cpu_seconds_total", "CPU time (user and system) of a worker thread", MetricKind::Counter,
           [](const StatsSnapshot::Worker& w) {
               char text[32];
               std::snprintf(text, sizeof text, "%.6f", w.cpu_seconds);
               return std::string(text);
           });
}

// Pools with copies: which copy each server is in, and the copies' counters.
void render_copy_families(std::string& out, const std::vector<StatsSnapshot::Pool>& pools) {
    bool any = false;
    for (const StatsSnapshot::Pool& pool : pools) {
        any = any || !pool.server_copy.empty();
    }
    if (!any) {
        return;
    }
    family_header(out, "cachemux_server_copy", "the copy (replicas:) a server belongs to, 0 for servers:",
                  MetricKind::Gauge);
    for (const StatsSnapshot::Pool& pool : pools) {
        for (std::size_t i = 0; i < pool.server_copy.size() && i < pool.servers.size(); ++i) {
            out += "cachemux_server_copy{pool=";
            label_value(out, pool.name);
            out += ",server=";
            label_value(out, pool.servers[i].name);
            out += "} " + std::to_string(pool.server_copy[i]) + "\n";
        }
    }
    auto family = [&](const MetricInfo& info, auto value) {
        std::string name = "cachemux_pool_" + std::string(info.name) + "_total";
        family_header(out, name, info.description, info.kind);
        for (const StatsSnapshot::Pool& pool : pools) {
            if (pool.server_copy.empty()) {
                continue;
            }
            out += name + "{pool=";
            label_value(out, pool.name);
            out += "} " + std::to_string(value(pool.copies)) + "\n";
        }
    };
    std::size_t index = 0;
#define CACHEMUX_PROM_COPY(metric, kind_, help_) \
    family(kCopyMetricInfo[index++], [](const CopyMetrics& m) { return m.metric; });
    CACHEMUX_COPY_METRICS(CACHEMUX_PROM_COPY)
#undef CACHEMUX_PROM_COPY
}

// SIGUSR1's reloads, named as Prometheus names its own.
void render_reload_families(std::string& out, const StatsSnapshot& snapshot) {
    auto single = [&](const char* name, std::string_view help, MetricKind kind, std::int64_t value) {
        family_header(out, name, help, kind);
        out += name;
        out += " " + std::to_string(value) + "\n";
    };
    single("cachemux_config_generation", "configurations applied: 1 at start, one more per reload",
           MetricKind::Gauge, static_cast<std::int64_t>(snapshot.config_generation));
    single("cachemux_config_reloads_total", "reloads applied", MetricKind::Counter, snapshot.reloads.succeeded);
    single("cachemux_config_reload_failures_total", "reloads refused: the running configuration stayed",
           MetricKind::Counter, snapshot.reloads.failed);
    single("cachemux_config_last_reload_success_timestamp_seconds",
           "when the configuration in use was applied (the start, before any reload)", MetricKind::Gauge,
           snapshot.reloads.last_success_at);
}

}  // namespace

void add_to(StatsSnapshot::Pool& into, const PoolStats& from) {
#define CACHEMUX_ADD(metric, kind, help) add_metric(into.metrics.metric, from.pool.metric.get(), MetricKind::kind);
    CACHEMUX_POOL_METRICS(CACHEMUX_ADD)
    for (std::size_t i = 0; i < into.servers.size() && i < from.servers.size(); ++i) {
        ServerMetrics& s = into.servers[i].metrics;
        const LiveServerMetrics& f = from.servers[i];
#define CACHEMUX_ADD_SERVER(metric, kind, help) add_metric(s.metric, f.metric.get(), MetricKind::kind);
        CACHEMUX_SERVER_METRICS(CACHEMUX_ADD_SERVER)
#undef CACHEMUX_ADD_SERVER
    }
#define CACHEMUX_ADD_COPY(metric, kind, help) add_metric(into.copies.metric, from.copies.metric.get(), MetricKind::kind);
    CACHEMUX_COPY_METRICS(CACHEMUX_ADD_COPY)
#undef CACHEMUX_ADD_COPY
#undef CACHEMUX_ADD
}

std::string render_json(const StatsSnapshot& snapshot) {
    // nutcracker's layout: '"k":v' joined by ", " inside an object, and a
    // closed object followed by "," alone.
    std::string out = "{";
    const char* sep = "";
    auto number = [&](std::string_view name, std::int64_t value) {
        out += sep;
        json_number(out, name, value);
        sep = ", ";
    };
    auto text = [&](std::string_view name, std::string_view value) {
        out += sep;
        json_string(out, name);
        out += ':';
        json_string(out, value);
        sep = ", ";
    };
    auto open = [&](std::string_view name) {
        out += sep;
        json_string(out, name);
        out += ": {";
        sep = "";
    };
    auto close = [&] {
        out += '}';
        sep = ",";
    };
    text("service", snapshot.service);
    text("source", snapshot.source);
    text("version", snapshot.version);
    number("uptime", snapshot.taken_at - snapshot.started_at);
    number("timestamp", snapshot.taken_at);
    number("total_connections", snapshot.total_connections);
    number("curr_connections", snapshot.curr_connections);
#define CACHEMUX_JSON(metric, kind, help) number(#metric, metrics.metric);
    for (const StatsSnapshot::Pool& pool : snapshot.pools) {
        open(pool.name);
        {
            const PoolMetrics& metrics = pool.metrics;
            CACHEMUX_POOL_METRICS(CACHEMUX_JSON)
        }
        sep = ", ";
        for (const StatsSnapshot::Server& server : pool.servers) {
            open(server.name);
            const ServerMetrics& metrics = server.metrics;
            CACHEMUX_SERVER_METRICS(CACHEMUX_JSON)
            close();
        }
        close();
    }
#undef CACHEMUX_JSON
    out += "}\n";
    return out;
}

std::string render_prometheus(const StatsSnapshot& snapshot) {
    std::string out;
    auto header_metric = [&](const std::string& family, std::string_view help, MetricKind kind, std::int64_t value) {
        family_header(out, family, help, kind);
        out += family + " " + std::to_string(value) + "\n";
    };
    header_metric("cachemux_uptime_seconds", "seconds since the proxy started", MetricKind::Gauge,
                  snapshot.taken_at - snapshot.started_at);
    header_metric("cachemux_connections_total", "connections made since the start (nutcracker's total_connections)",
                  MetricKind::Counter, snapshot.total_connections);
    header_metric("cachemux_connections", "open connections (nutcracker's curr_connections)", MetricKind::Gauge,
                  snapshot.curr_connections);

    // One family per metric, a sample per pool (or per server of each pool).
    std::string family;
    auto begin_family = [&](const MetricInfo& info) {
        family = family_name(info);
        family_header(out, family, info.description, info.kind);
    };
    auto sample = [&](const std::string& pool, const std::string* server, std::int64_t value) {
        out += family + "{pool=";
        label_value(out, pool);
        if (server != nullptr) {
            out += ",server=";
            label_value(out, *server);
        }
        out += "} " + std::to_string(value) + "\n";
    };
    std::size_t index = 0;
#define CACHEMUX_PROM(metric, kind_, help_)                        \
    begin_family(kPoolMetricInfo[index++]);                         \
    for (const StatsSnapshot::Pool& pool : snapshot.pools) {       \
        sample(pool.name, nullptr, pool.metrics.metric);           \
    }
    CACHEMUX_POOL_METRICS(CACHEMUX_PROM)
#undef CACHEMUX_PROM
    index = 0;
#define CACHEMUX_PROM(metric, kind_, help_)                        \
    begin_family(kServerMetricInfo[index++]);                       \
    for (const StatsSnapshot::Pool& pool : snapshot.pools) {       \
        for (const StatsSnapshot::Server& server : pool.servers) { \
            sample(pool.name, &server.name, server.metrics.metric); \
        }                                                          \
    }
    CACHEMUX_SERVER_METRICS(CACHEMUX_PROM)
#undef CACHEMUX_PROM
    render_copy_families(out, snapshot.pools);
    render_worker_families(out, snapshot.workers);
    render_reload_families(out, snapshot);
    return out;
}

void describe_stats(std::FILE* out) {
    std::fprintf(out, "pool stats:\n");
    for (const MetricInfo& m : kPoolMetricInfo) {
        std::fprintf(out, "  %-20.*s\"%.*s\"\n", static_cast<int>(m.name.size()), m.name.data(),
                     static_cast<int>(m.description.size()), m.description.data());
    }
    std::fprintf(out, "\nserver stats:\n");
    for (const MetricInfo& m : kServerMetricInfo) {
        std::fprintf(out, "  %-20.*s\"%.*s\"\n", static_cast<int>(m.name.size()), m.name.data(),
                     static_cast<int>(m.description.size()), m.description.data());
    }
}

}  // namespace cachemux
