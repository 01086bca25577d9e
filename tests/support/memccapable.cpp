#include "memccapable.hpp"

#include <cstring>
#include <regex>

namespace harness::memccapable {

using namespace std::chrono_literals;

const std::vector<std::string> kAsciiTests = {
    "version", "quit",          "verbosity",      "set",        "set noreply", "get",
    "gets",    "mget",          "flush",          "flush noreply", "add",       "add noreply",
    "replace", "replace noreply", "cas",          "cas noreply", "delete",     "delete noreply",
    "incr",    "incr noreply",  "decr",           "decr noreply", "append",    "append noreply",
    "prepend", "prepend noreply", "stat"};

std::vector<std::string> Result::failed() const {
    std::vector<std::string> v;
    for (const auto& name : kAsciiTests) {
        auto it = verdict.find(name);
        if (it == verdict.end() || it->second != "pass") v.push_back(name);
    }
    return v;
}

// Output looks like "ascii set noreply        [pass]", except that a failing
// test may print what it read, and -v assertion lines, before its "[FAIL]".
// Each test's verdict is the first [pass]/[FAIL]/[skip] after its name.
Result run(int port) {
    Result r;
    r.run = run_command({"memccapable", "-a", "-v", "-t", "3", "-h", "127.0.0.1", "-p", std::to_string(port)},
                        180000ms);
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

std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& x : names) s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? "(none)" : s;
}

}  // namespace harness::memccapable
