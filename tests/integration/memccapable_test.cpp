// libmemcached's memccapable (ASCII tests only) through the proxy.
//
// cachemux must pass all 27 ASCII tests.  nutcracker 0.5.0 passes only a few
// (it closes the connection on flush_all, verbosity, ... and answers noreply
// tests' follow-ups out of step); its result is recorded, not asserted.
#include <doctest/doctest.h>

#include <string>

#include "harness.hpp"
#include "memccapable.hpp"

using namespace harness;
using namespace std::chrono_literals;

using memccapable::join;
using memccapable::kAsciiTests;

TEST_CASE("memccapable: the harness parses a plain memcached's results" * doctest::test_suite("nutcracker")) {
    MemcachedServer server;
    auto r = memccapable::run(server.port());
    INFO(r.run.describe());
    CHECK(r.run.ok());
    CHECK(r.verdict.size() == kAsciiTests.size());
    CHECK_MESSAGE(r.failed().empty(), "failed: " << join(r.failed()));
}

TEST_CASE("memccapable: nutcracker 0.5.0, recorded only" * doctest::test_suite("nutcracker")) {
    ProxiedMemcached px(ProxyKind::Nutcracker, 3);
    auto r = memccapable::run(px.port());
    CHECK_MESSAGE(!r.run.timed_out, r.run.describe());
    CHECK_MESSAGE(r.verdict.size() == kAsciiTests.size(), r.run.describe());
    MESSAGE("nutcracker 0.5.0 passes " << kAsciiTests.size() - r.failed().size() << " of " << kAsciiTests.size()
                                       << " memccapable ASCII tests; failing: " << join(r.failed()));
}

HARNESS_CACHEMUX_TEST("memccapable: all ASCII tests pass through cachemux") {
    ProxiedMemcached px(ProxyKind::Cachemux, 3);
    auto r = memccapable::run(px.port());
    INFO(r.run.describe());
    CHECK_FALSE(r.run.timed_out);
    CHECK(r.verdict.size() == kAsciiTests.size());
    CHECK_MESSAGE(r.failed().empty(), "memccapable tests failing through cachemux: " << join(r.failed()));
    CHECK(r.run.exit_code == 0);
    CHECK(r.run.output.find("All tests passed") != std::string::npos);
}
