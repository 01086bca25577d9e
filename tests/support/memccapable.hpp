// libmemcached's memccapable (its ASCII tests only) run against a port, and
// its output parsed into one verdict per test.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "harness.hpp"

namespace harness::memccapable {

// The 27 ASCII tests memccapable runs, by the names it prints.
extern const std::vector<std::string> kAsciiTests;

struct Result {
    CommandResult run;
    std::map<std::string, std::string> verdict;  // test name -> "pass" / "FAIL" / "skip" / "no verdict"
    // The tests of kAsciiTests without a "pass", in kAsciiTests' order.
    std::vector<std::string> failed() const;
    std::size_t passed() const { return kAsciiTests.size() - failed().size(); }
};

// memccapable -a -v -t 3 against 127.0.0.1:port, bounded to 3 minutes.
Result run(int port);

// "a, b, c", or "(none)".
std::string join(const std::vector<std::string>& names);

}  // namespace harness::memccapable
