#include "stats_reader.hpp"

#include <doctest/doctest.h>

namespace harness {

using namespace std::chrono_literals;

std::string read_to_close(Connection& c, Millis bound) {
    std::string all;
    for (auto deadline = Clock::now() + bound; !c.closed() && Clock::now() < deadline;) all += c.read_for(200ms);
    return all;
}

std::string stats_json(int stats_port) {
    Connection c(stats_port);
    return read_to_close(c);
}

std::string metrics(int stats_port) {
    Connection c(stats_port);
    c.send_all("GET /metrics HTTP/1.0\r\n\r\n");
    return read_to_close(c);
}

std::optional<double> metric(const std::string& text, const std::string& series) {
    // " " first: an exact series (or an unlabelled family) wins over the
    // first labelled sample of a family.
    for (const char* sep : {" ", "{"}) {
        std::size_t at = text.find("\n" + series + sep);
        if (at == std::string::npos) continue;
        std::size_t eol = text.find('\n', at + 1);
        std::string line = text.substr(at + 1, eol == std::string::npos ? std::string::npos : eol - at - 1);
        std::size_t space = line.rfind(' ');
        if (space == std::string::npos) continue;
        try {
            return std::stod(line.substr(space + 1));
        } catch (...) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

double metric_value(const std::string& text, const std::string& series) {
    auto v = metric(text, series);
    REQUIRE_MESSAGE(v.has_value(), "no " << series << " in " << escape(text, 2000));
    return *v;
}

std::optional<long long> json_number(const std::string& json, const std::vector<std::string>& scope,
                                     const std::string& key) {
    std::size_t at = 0;
    for (const std::string& name : scope) {
        at = json.find("\"" + name + "\": {", at);
        if (at == std::string::npos) return std::nullopt;
    }
    at = json.find("\"" + key + "\":", at);
    if (at == std::string::npos) return std::nullopt;
    return std::stoll(json.substr(at + key.size() + 3));
}

long long require_json_number(const std::string& json, const std::vector<std::string>& scope,
                              const std::string& key) {
    auto v = json_number(json, scope, key);
    std::string where;
    for (const auto& name : scope) where += "/" + name;
    REQUIRE_MESSAGE(v.has_value(), "no " << key << " in " << where << " of " << escape(json));
    return *v;
}

}  // namespace harness
