// The config fuzz target's checks (fuzz/harness/config.hpp) over every file
// of its corpus (fuzz/corpus/config/: the project's and nutcracker's sample
// configurations, hand-written seeds and the inputs of bugs fuzzing found),
// in the normal test build; and one test per bug fuzzing found.
#include <doctest/doctest.h>

#include <string>

#include "../../../fuzz/harness/config.hpp"
#include "../../../fuzz/harness/replay.hpp"

using namespace cachemux;

TEST_CASE("fuzz corpus: every config input passes the fuzz checks") {
    fuzz::ThrowOnViolation guard;
    const std::string dir = std::string(CACHEMUX_SOURCE_DIR) + "/fuzz/corpus/config";
    int parsed = 0;
    for (const auto& [name, text] : fuzz::corpus_files(dir)) {
        CAPTURE(name);
        CHECK_NOTHROW(fuzz::fuzz_config(text));
        try {
            parse_config(text, "x.yml", fuzz::numeric_resolver);
            ++parsed;
        } catch (const ConfigError&) {
        }
    }
    CHECK(parsed >= 5);  // the sample configurations are valid ones
}

TEST_CASE("fuzz checks: the config checks refuse what they must") {
    fuzz::ThrowOnViolation guard;
    CHECK_NOTHROW(fuzz::fuzz_config("a:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:2:1\n"));
    CHECK_NOTHROW(fuzz::fuzz_config("not: [valid"));
    CHECK(fuzz::numeric_resolver("127.0.0.1", 1).empty());
    CHECK(fuzz::numeric_resolver("::1", 1).empty());
    CHECK_FALSE(fuzz::numeric_resolver("localhost", 1).empty());  // never looked up
}

// fuzz/corpus/config/regression-unterminated-quoted-scalar.yml: yaml-cpp
// reads a quoted scalar that is never closed to the end of the file, so the
// pools after it vanished into one server string and the file loaded; libyaml
// (nutcracker 0.5.0: "syntax is invalid") refuses it, and so does cachemux.
TEST_CASE("fuzz regression: an unterminated quoted scalar is a syntax error") {
    const std::string head = "alpha:\n  listen: 127.0.0.1:22121\n  servers:\n   - ";
    for (const std::string& open : {std::string("\"127.0.0.1:11211:1\n"), std::string("'127.0.0.1:11211:1\n"),
                                    std::string("\"127.0.0.1:11211:1\\\"\n"),
                                    std::string("'127.0.0.1:11211:1''\nbeta:\n  listen: 127.0.0.1:1\n")}) {
        CAPTURE(open);
        try {
            parse_config(head + open, "x.yml", fuzz::numeric_resolver);
            FAIL("parsed");
        } catch (const ConfigError& e) {
            CHECK(std::string(e.what()) ==
                  "x.yml:4: YAML syntax error: a quoted scalar is not closed before the end of the file");
        }
    }
    // Closed quotes, escaped quotes and a trailing blank (an empty server
    // name, as in nutcracker) still load.
    Config c = parse_config(head + "\"127.0.0.1:11211:1 \"\n   - '127.0.0.1:11212:1 it''s'\n   - \"127.0.0.1:11213:1 \\\"q\\\"\"\n",
                            "x.yml", fuzz::numeric_resolver);
    REQUIRE(c.pools.size() == 1);
    REQUIRE(c.pools[0].servers.size() == 3);
    CHECK(c.pools[0].servers[0].name == "");
    CHECK(c.pools[0].servers[1].name == "\"q\"");
    CHECK(c.pools[0].servers[2].name == "it's");
}
