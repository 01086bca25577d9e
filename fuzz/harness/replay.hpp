// For the regression tests (tests/unit/.../*fuzz_regression_test.cpp): the
// fuzz checks run as ordinary code, in the normal (g++) test build, over
// every file of a target's corpus, with broken invariants thrown instead of
// aborting the test binary.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "stream.hpp"

namespace cachemux::fuzz {

struct BrokenInvariant : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// While alive, a broken invariant throws BrokenInvariant.
class ThrowOnViolation {
public:
    ThrowOnViolation() : saved_(violation_handler()) {
        violation_handler() = [](const std::string& what) { throw BrokenInvariant(what); };
    }
    ~ThrowOnViolation() { violation_handler() = saved_; }
    ThrowOnViolation(const ThrowOnViolation&) = delete;
    ThrowOnViolation& operator=(const ThrowOnViolation&) = delete;

private:
    ViolationHandler saved_;
};

// (file name, bytes) of every file in `dir`, sorted by name.
inline std::vector<std::pair<std::string, std::string>> corpus_files(const std::string& dir) {
    std::vector<std::pair<std::string, std::string>> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        if (!entry.is_regular_file()) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        files.emplace_back(entry.path().filename().string(), std::move(bytes));
    }
    std::sort(files.begin(), files.end());
    return files;
}

inline const std::uint8_t* bytes_of(const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

}  // namespace cachemux::fuzz
