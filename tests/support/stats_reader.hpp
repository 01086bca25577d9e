// Reading the proxy's stats port: the JSON a plain reader gets, the
// Prometheus text of GET /metrics, and one number out of either.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

namespace harness {

// Everything until the peer closes, bounded (the stats port closes after
// its answer).
std::string read_to_close(Connection& c, Millis bound = Millis(5000));

// The stats JSON: what a plain reader of the stats port gets.
std::string stats_json(int stats_port);
inline std::string stats_json(const Proxy& proxy) { return stats_json(proxy.stats_port()); }

// The Prometheus text of GET /metrics (with the HTTP headers).
std::string metrics(int stats_port);
inline std::string metrics(const Proxy& proxy) { return metrics(proxy.stats_port()); }

// The value of a /metrics sample: `series` is a family ("name": its first
// sample, labelled or not) or one series ("name{worker=\"0\"}"); nullopt if
// there is none.
std::optional<double> metric(const std::string& text, const std::string& series);
// Like metric(), REQUIREs that the sample is there.
double metric_value(const std::string& text, const std::string& series);

// The number after `"key":` inside the object named `scope` (a pool, or a
// server within it: nutcracker's JSON nests "pool": {..."server": {...}});
// nullopt if an object of the scope or the key is missing.
std::optional<long long> json_number(const std::string& json, const std::vector<std::string>& scope,
                                     const std::string& key);
// Like json_number(), REQUIREs that it is there.
long long require_json_number(const std::string& json, const std::vector<std::string>& scope,
                              const std::string& key);

}  // namespace harness
