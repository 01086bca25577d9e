#include "stats.hpp"

#include <algorithm>

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

}  // namespace

void add_to(StatsSnapshot::Pool& into, const PoolStats& from) {
#define CACHEMUX_ADD(metric, kind, help) add_metric(into.metrics.metric, from.pool.metric, MetricKind::kind);
    CACHEMUX_POOL_METRICS(CACHEMUX_ADD)
    for (std::size_t i = 0; i < into.servers.size() && i < from.servers.size(); ++i) {
        ServerMetrics& s = into.servers[i].metrics;
        const ServerMetrics& f = from.servers[i];
#define CACHEMUX_ADD_SERVER(metric, kind, help) add_metric(s.metric, f.metric, MetricKind::kind);
        CACHEMUX_SERVER_METRICS(CACHEMUX_ADD_SERVER)
#undef CACHEMUX_ADD_SERVER
    }
#undef CACHEMUX_ADD
}

std::string render_json(const StatsSnapshot& snapshot) {
    std::string out = "{";
    json_string(out, "service");
    out += ':';
    json_string(out, snapshot.service);
    out += ", ";
    json_string(out, "source");
    out += ':';
    json_string(out, snapshot.source);
    out += ", ";
    json_string(out, "version");
    out += ':';
    json_string(out, snapshot.version);
    out += ", ";
    json_number(out, "uptime", snapshot.taken_at - snapshot.started_at);
    out += ", ";
    json_number(out, "timestamp", snapshot.taken_at);
    out += ", ";
    json_number(out, "total_connections", snapshot.total_connections);
    out += ", ";
    json_number(out, "curr_connections", snapshot.curr_connections);
    // nutcracker's separators: ", " inside an object, "," after a closed one.
    bool after_object = false;
    for (const StatsSnapshot::Pool& pool : snapshot.pools) {
        out += after_object ? "," : ", ";
        json_string(out, pool.name);
        out += ": {";
        const char* sep = "";
#define CACHEMUX_JSON(metric, kind, help)           \
    out += sep;                                     \
    json_number(out, #metric, pool.metrics.metric); \
    sep = ", ";
        CACHEMUX_POOL_METRICS(CACHEMUX_JSON)
#undef CACHEMUX_JSON
        bool server_after_object = false;
        for (const StatsSnapshot::Server& server : pool.servers) {
            out += server_after_object ? "," : ", ";
            json_string(out, server.name);
            out += ": {";
            sep = "";
#define CACHEMUX_JSON(metric, kind, help)             \
    out += sep;                                       \
    json_number(out, #metric, server.metrics.metric); \
    sep = ", ";
            CACHEMUX_SERVER_METRICS(CACHEMUX_JSON)
#undef CACHEMUX_JSON
            out += '}';
            server_after_object = true;
        }
        out += '}';
        after_object = true;
    }
    out += "}\n";
    return out;
}

std::string render_prometheus(const StatsSnapshot& snapshot) {
    std::string out;
    family_header(out, "cachemux_uptime_seconds", "seconds since the proxy started", MetricKind::Gauge);
    out += "cachemux_uptime_seconds " + std::to_string(snapshot.taken_at - snapshot.started_at) + "\n";
    family_header(out, "cachemux_connections_total", "connections made since the start (nutcracker's total_connections)",
                  MetricKind::Counter);
    out += "cachemux_connections_total " + std::to_string(snapshot.total_connections) + "\n";
    family_header(out, "cachemux_connections", "open connections (nutcracker's curr_connections)", MetricKind::Gauge);
    out += "cachemux_connections " + std::to_string(snapshot.curr_connections) + "\n";

    std::size_t index = 0;
#define CACHEMUX_PROM(metric, kind_, help_)                                                        \
    {                                                                                           \
        const MetricInfo& info = kPoolMetricInfo[index++];                                      \
        std::string family = family_name(info);                                                 \
        family_header(out, family, info.description, info.kind);                                \
        for (const StatsSnapshot::Pool& pool : snapshot.pools) {                                \
            out += family + "{pool=";                                                           \
            label_value(out, pool.name);                                                        \
            out += "} " + std::to_string(pool.metrics.metric) + "\n";                             \
        }                                                                                       \
    }
    CACHEMUX_POOL_METRICS(CACHEMUX_PROM)
#undef CACHEMUX_PROM
    index = 0;
#define CACHEMUX_PROM(metric, kind_, help_)                                                        \
    {                                                                                           \
        const MetricInfo& info = kServerMetricInfo[index++];                                    \
        std::string family = family_name(info);                                                 \
        family_header(out, family, info.description, info.kind);                                \
        for (const StatsSnapshot::Pool& pool : snapshot.pools) {                                \
            for (const StatsSnapshot::Server& server : pool.servers) {                          \
                out += family + "{pool=";                                                       \
                label_value(out, pool.name);                                                    \
                out += ",server=";                                                              \
                label_value(out, server.name);                                                  \
                out += "} " + std::to_string(server.metrics.metric) + "\n";                       \
            }                                                                                   \
        }                                                                                       \
    }
    CACHEMUX_SERVER_METRICS(CACHEMUX_PROM)
#undef CACHEMUX_PROM
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
