// The stats JSON flattened: "pool/server/metric" -> value, so that a test
// can compare whole snapshots or look one number up by its path.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace harness {

// In document order (nutcracker's key order is part of what stats_test
// compares); numbers as their digits, strings as they are.
using FlatStats = std::vector<std::pair<std::string, std::string>>;

// Throws HarnessError on anything that is not a JSON object of objects,
// numbers and strings.
FlatStats flatten_stats(std::string_view json);

// The numbers only (strings such as service and version left out), by path.
std::map<std::string, long long> stats_numbers(const FlatStats& flat);

}  // namespace harness
