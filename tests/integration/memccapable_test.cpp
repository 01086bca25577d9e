// libmemcached's memccapable (ASCII tests only) through the proxy.
//
// cachemux must pass all 27 ASCII tests.  nutcracker 0.5.0 passes only a few
// (it closes the connection on flush_all, verbosity, ... and answers noreply
// tests' follow-ups out of step); its result is recorded, not asserted.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kAsciiTests = {
    "version", "quit",          "verbosity",      "set",        "set noreply", "get",
    "gets",    "mget",          "flush",          "flush noreply", "add",       "add noreply",
    "replace", "replace noreply", "cas",          "cas noreply", "delete",     "delete noreply",
    "incr",    "incr noreply",  "decr",           "decr noreply", "append",    "append noreply",
    "prepend", "prepend noreply", "stat"};

struct CapableResult {
    CommandResult run;
    std::map<std::string, std::string> verdict;  // test name -> "pass" / "FAIL" / "skip" / ...
    std::vector<std::string> failed() const {
        std::vector<std::string> v;
        for (auto& name : kAsciiTests) {
            auto it = verdict.find(name);
            if (it == verdict.end() || it->second != "pass") v.push_back(name);
        }
        return v;
    }
};

// Output looks like "ascii set noreply        [pass]", except that a failing
// test may print what it read, and -v assertion lines, before its "[FAIL]".
// Each test's verdict is the first [pass]/[FAIL]/[skip] after its name.
CapableResult run_memccapable(int port) {
    CapableResult r;
    r.run = run_command({"memccapable", "-a", "-v", "-t", "3", "-h", "127.0.0.1", "-p", std::to_string(port)}, 180000ms);
    const std::string& out = r.run.output;
    // (-v output lacks a newline before the next test's name.)
    std::regex start(R"(ascii ([a-z]+( noreply)?)[ \t]+)");
    std::vector<std::pair<std::string, std::size_t>> starts;  // name, offset after the name
    for (std::sregex_iterator it(out.begin(), out.end(), start), end; it != end; ++it)
        starts.emplace_back((*it)[1].str(), static_cast<std::size_t>(it->position() + it->length()));
    for (std::size_t i = 0; i < starts.size(); ++i) {
        std::size_t from = starts[i].second;
        std::size_t to = i + 1 < starts.size() ? starts[i + 1].second : out.size();
        std::string section = out.substr(from, to - from);
        std::string verdict = "no verdict";
        std::size_t best = std::string::npos;
        for (const char* v : {"[pass]", "[FAIL]", "[skip]"}) {
            auto pos = section.find(v);
            if (pos != std::string::npos && pos < best) {
                best = pos;
                verdict = std::string(v + 1, std::strlen(v) - 2);
            }
        }
        r.verdict[starts[i].first] = verdict;
    }
    return r;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? "(none)" : s;
}

}  // namespace

TEST_CASE("memccapable: the harness parses a plain memcached's results" * doctest::test_suite("nutcracker")) {
    MemcachedServer server;
    auto r = run_memccapable(server.port());
    INFO(r.run.describe());
    CHECK(r.run.ok());
    CHECK(r.verdict.size() == kAsciiTests.size());
    CHECK_MESSAGE(r.failed().empty(), "failed: " << join(r.failed()));
}

TEST_CASE("memccapable: nutcracker 0.5.0, recorded only" * doctest::test_suite("nutcracker")) {
    ProxiedMemcached px(ProxyKind::Nutcracker, 3);
    auto r = run_memccapable(px.port());
    CHECK_MESSAGE(!r.run.timed_out, r.run.describe());
    CHECK_MESSAGE(r.verdict.size() == kAsciiTests.size(), r.run.describe());
    MESSAGE("nutcracker 0.5.0 passes " << kAsciiTests.size() - r.failed().size() << " of " << kAsciiTests.size()
                                       << " memccapable ASCII tests; failing: " << join(r.failed()));
}

HARNESS_CACHEMUX_TEST("memccapable: all ASCII tests pass through cachemux") {
    ProxiedMemcached px(ProxyKind::Cachemux, 3);
    auto r = run_memccapable(px.port());
    INFO(r.run.describe());
    CHECK_FALSE(r.run.timed_out);
    CHECK(r.verdict.size() == kAsciiTests.size());
    CHECK_MESSAGE(r.failed().empty(), "memccapable tests failing through cachemux: " << join(r.failed()));
    CHECK(r.run.exit_code == 0);
    CHECK(r.run.output.find("All tests passed") != std::string::npos);
}
