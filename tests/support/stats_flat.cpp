#include "stats_flat.hpp"

#include <cctype>
#include <charconv>

#include "harness.hpp"

namespace harness {

namespace {

class FlatParser {
public:
    explicit FlatParser(std::string_view text) : s_(text) {}

    FlatStats parse() {
        FlatStats out;
        object("", out);
        skip_ws();
        if (pos_ != s_.size()) fail("trailing bytes");
        return out;
    }

private:
    [[noreturn]] void fail(const std::string& why) const {
        throw HarnessError("stats JSON: " + why + " at byte " + std::to_string(pos_) + ": " + escape(s_, 300));
    }
    void skip_ws() {
        while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    }
    void expect(char c) {
        skip_ws();
        if (pos_ >= s_.size() || s_[pos_] != c) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    std::string string() {
        expect('"');
        std::string out;
        while (pos_ < s_.size() && s_[pos_] != '"') {
            if (s_[pos_] == '\\') ++pos_;
            if (pos_ < s_.size()) out += s_[pos_++];
        }
        expect('"');
        return out;
    }
    std::string number() {
        std::size_t start = pos_;
        while (pos_ < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '-')) ++pos_;
        if (start == pos_) fail("expected a value");
        return std::string(s_.substr(start, pos_ - start));
    }
    void object(const std::string& prefix, FlatStats& out) {
        expect('{');
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '}') {
            ++pos_;
            return;
        }
        for (;;) {
            std::string key = prefix + string();
            expect(':');
            skip_ws();
            if (pos_ >= s_.size()) fail("truncated");
            if (s_[pos_] == '{') object(key + "/", out);
            else if (s_[pos_] == '"') out.emplace_back(key, string());
            else out.emplace_back(key, number());
            skip_ws();
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            expect('}');
            return;
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace

FlatStats flatten_stats(std::string_view json) { return FlatParser(json).parse(); }

std::map<std::string, long long> stats_numbers(const FlatStats& flat) {
    std::map<std::string, long long> out;
    for (const auto& [path, value] : flat) {
        long long n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec == std::errc() && end == value.data() + value.size()) out[path] = n;
    }
    return out;
}

}  // namespace harness
