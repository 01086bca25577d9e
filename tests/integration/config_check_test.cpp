// -t: one verdict, nutcracker's words and exit status.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

std::size_t count(std::string_view text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

std::string pool_yaml(const std::string& extra) {
    return "alpha:\n  listen: 127.0.0.1:" + std::to_string(free_port()) + "\n" + extra +
           "  servers:\n   - 127.0.0.1:" + std::to_string(free_port()) + ":1\n";
}

}  // namespace

// nutcracker 0.5.0 has no plugins: "hash: nosuch" is simply not a hash to it.
// It prints "syntax is invalid" twice; cachemux prints it once, and both exit 1.
HARNESS_CACHEMUX_TEST("-t: a pool naming a missing plugin gets one verdict, and nutcracker's exit status") {
    for (const char* key : {"hash: nosuch", "distribution: nosuch"}) {
        CAPTURE(key);
        std::string yaml = pool_yaml(std::string("  ") + key + "\n");
        std::string conf;
        CommandResult ours = run_proxy_once(ProxyKind::Cachemux, yaml, {"-t"}, 10000ms, &conf);
        INFO(ours.describe());
        CHECK(count(ours.output, "cachemux: configuration file '" + conf + "' syntax is invalid\n") == 1);
        CHECK(count(ours.output, "syntax is") == 1);
        CommandResult theirs = run_proxy_once(ProxyKind::Nutcracker, yaml, {"-t"}, 10000ms);
        INFO(theirs.describe());
        REQUIRE_FALSE(theirs.timed_out);
        CHECK(theirs.output.find("syntax is invalid") != std::string::npos);
        CHECK(ours.exit_code == theirs.exit_code);
        CHECK(ours.exit_code == 1);
    }
}

HARNESS_CACHEMUX_TEST("-t: a YAML error and a valid config each get one verdict") {
    std::string conf;
    CommandResult bad = run_proxy_once(ProxyKind::Cachemux, "alpha:\n  listen: [\n", {"-t"}, 10000ms, &conf);
    INFO(bad.describe());
    CHECK(count(bad.output, "syntax is invalid\n") == 1);
    CHECK(bad.exit_code == 1);
    CommandResult good = run_proxy_once(ProxyKind::Cachemux, pool_yaml(""), {"-t"}, 10000ms, &conf);
    INFO(good.describe());
    CHECK(count(good.output, "cachemux: configuration file '" + conf + "' syntax is ok\n") == 1);
    CHECK(count(good.output, "syntax is") == 1);
    CHECK(good.exit_code == 0);
}
