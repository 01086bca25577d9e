// The redis fuzz targets' checks (fuzz/harness/redis.hpp) over every file of
// their corpora (fuzz/corpus/redis_{request,response}/: captured traffic,
// hand-written seeds and the inputs of bugs fuzzing found), in the normal
// test build; and one test per bug fuzzing found, saying what it was.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../../../../fuzz/harness/redis.hpp"
#include "../../../../fuzz/harness/replay.hpp"
#include "../bundled_protocol.hpp"

using namespace cachemux;

namespace {

const abi::Protocol& redis_protocol() { return test::bundled_protocol("redis"); }

const std::string kCorpus = std::string(CACHEMUX_SOURCE_DIR) + "/fuzz/corpus/";

// `bytes` parsed as replies, in one chunk and byte by byte.
fuzz::Stream<fuzz::ResponseMessage> replies(const std::string& bytes) {
    const abi::Protocol& p = redis_protocol();
    auto whole = fuzz::drive<fuzz::ResponseSide>(p, bytes, {}, fuzz::ResponseHook{});
    auto bytewise = fuzz::drive<fuzz::ResponseSide>(p, bytes, {1}, fuzz::ResponseHook{});
    fuzz::check_same(whole, bytewise);
    return whole;
}

}  // namespace

TEST_CASE("fuzz corpus: every redis request input passes the fuzz checks") {
    fuzz::ThrowOnViolation guard;
    for (const auto& [name, bytes] : fuzz::corpus_files(kCorpus + "redis_request")) {
        CAPTURE(name);
        CHECK_NOTHROW(fuzz::redis_profile::fuzz_requests(redis_protocol(), fuzz::bytes_of(bytes), bytes.size()));
    }
}

TEST_CASE("fuzz corpus: every redis response input passes the fuzz checks") {
    fuzz::ThrowOnViolation guard;
    for (const auto& [name, bytes] : fuzz::corpus_files(kCorpus + "redis_response")) {
        CAPTURE(name);
        CHECK_NOTHROW(fuzz::redis_profile::fuzz_responses(redis_protocol(), fuzz::bytes_of(bytes), bytes.size()));
    }
}

// fuzz/corpus/redis_response/regression-integer-beyond-int64: the reply
// parser summed up to 19 digits in a signed 64-bit integer, undefined
// behaviour (UBSan: signed integer overflow) for ":9223732036854775807".
TEST_CASE("fuzz regression: a reply number beyond 64 signed bits is a protocol error") {
    fuzz::ThrowOnViolation guard;
    auto max = replies(":9223372036854775807\r\n");
    REQUIRE(max.messages.size() == 1);
    CHECK(max.messages[0].info.is_integer);
    CHECK(max.messages[0].info.integer == INT64_MAX);
    auto min = replies(":-9223372036854775808\r\n");
    REQUIRE(min.messages.size() == 1);
    CHECK(min.messages[0].info.integer == INT64_MIN);
    for (const char* bad : {":9223372036854775808\r\n", ":9223732036854775807\r\n", ":-9223372036854775809\r\n",
                            ":9999999999999999999\r\n", "$9999999999999999999\r\n", "*9999999999999999999\r\n",
                            "*1\r\n:99999999999999999999\r\n"}) {
        CAPTURE(bad);
        auto s = replies(bad);
        CHECK(s.messages.empty());
        CHECK(s.end == fuzz::End::Error);
    }
}

// fuzz/corpus/redis_response/regression-array-count-beyond-32-bits: the
// element count of an array was truncated to 32 bits, so "*4294967297"
// read as an array of 1 element and the next bytes as the next reply.
TEST_CASE("fuzz regression: an array count beyond 32 bits is a protocol error, not truncated") {
    fuzz::ThrowOnViolation guard;
    for (const char* bad : {"*4294967297\r\n:1\r\n", "*004294967297\r\n:1\r\n", "*4294967296\r\n"}) {
        CAPTURE(bad);
        auto s = replies(bad);
        CHECK(s.messages.empty());
        CHECK(s.end == fuzz::End::Error);
    }
    auto ok = replies("*4294967295\r\n:1\r\n");  // the largest count kept: waits for more elements
    CHECK(ok.messages.empty());
    CHECK(ok.end == fuzz::End::Incomplete);
}

// Found by fuzz/redis_response's merge check on the seed spec-integers: DEL
// split over two servers that both answer ":9223372036854775807" summed the
// replies in a signed integer, undefined behaviour. The sum wraps instead.
TEST_CASE("fuzz regression: DEL replies near INT64_MAX are summed without overflow") {
    fuzz::ThrowOnViolation guard;
    auto r = replies(":9223372036854775807\r\n");
    REQUIRE(r.messages.size() == 1);
    fuzz::ResponseMessage reply = r.messages[0];
    reply.raw_records.clear();
    fuzz::ResponseMessage merged = fuzz::redis_profile::merge(redis_protocol(), reply, redis::cmd::del, 2, 2);
    CHECK(merged.bytes == ":-2\r\n");  // modulo 2^64
    CHECK(merged.info.is_integer);
}
