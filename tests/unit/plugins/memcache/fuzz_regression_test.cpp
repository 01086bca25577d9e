// The memcache fuzz targets' checks (fuzz/harness/memcache.hpp) over every
// file of their corpora (fuzz/corpus/memcache_{request,response}/: captured
// traffic, hand-written seeds and the inputs of bugs fuzzing found), in the
// normal test build; and one test per bug fuzzing found, saying what it was.
#include <doctest/doctest.h>

#include <string>

#include "../../../../fuzz/harness/memcache.hpp"
#include "../../../../fuzz/harness/replay.hpp"
#include "../bundled_protocol.hpp"

using namespace cachemux;

namespace {

const abi::Protocol& memcache_protocol() { return test::bundled_protocol("memcache"); }

const std::string kCorpus = std::string(CACHEMUX_SOURCE_DIR) + "/fuzz/corpus/";

}  // namespace

TEST_CASE("fuzz corpus: every memcache request input passes the fuzz checks") {
    fuzz::ThrowOnViolation guard;
    for (const auto& [name, bytes] : fuzz::corpus_files(kCorpus + "memcache_request")) {
        CAPTURE(name);
        CHECK_NOTHROW(fuzz::memcache_profile::fuzz_requests(memcache_protocol(), fuzz::bytes_of(bytes), bytes.size()));
    }
}

TEST_CASE("fuzz corpus: every memcache response input passes the fuzz checks") {
    fuzz::ThrowOnViolation guard;
    for (const auto& [name, bytes] : fuzz::corpus_files(kCorpus + "memcache_response")) {
        CAPTURE(name);
        CHECK_NOTHROW(
            fuzz::memcache_profile::fuzz_responses(memcache_protocol(), fuzz::bytes_of(bytes), bytes.size()));
    }
}

TEST_CASE("fuzz checks catch what they are meant to catch") {
    // A harness that passes everything proves nothing: two lying wrappers
    // around the real parser must each break an invariant.
    fuzz::ThrowOnViolation guard;
    enum class Lie { KeyInUnconsumedBytes, DependsOnChunking };
    struct Lying final : abi::Protocol {
        const abi::Protocol& real;
        Lie lie;
        Lying(const abi::Protocol& p, Lie l) : real(p), lie(l) {}
        std::string_view name() const noexcept override { return "lying"; }
        abi::ParseResult parse_request(abi::ParserState& st, const char* d, std::size_t n, abi::RequestInfo& info,
                                       abi::RequestSink& sink) const override {
            abi::ParseResult r = real.parse_request(st, d, n, info, sink);
            if (lie == Lie::KeyInUnconsumedBytes && r.status == abi::ParseStatus::Again && r.consumed < n) {
                sink.key(d + r.consumed, n - r.consumed);  // bytes the core may move
            }
            if (lie == Lie::DependsOnChunking && r.status == abi::ParseStatus::Done && n < 8) {
                info.noreply = true;  // only when the chunk happens to be short
            }
            return r;
        }
        abi::ParseResult parse_response(abi::ParserState& st, const char* d, std::size_t n, abi::ResponseInfo& info,
                                        abi::ResponseSink& sink) const override {
            return real.parse_response(st, d, n, info, sink);
        }
        void write_fragment(const abi::RequestView& r, std::span<const std::uint32_t> k,
                            abi::MessageWriter& out) const override {
            real.write_fragment(r, k, out);
        }
        void merge_replies(const abi::MergeInput& in, abi::MessageWriter& out) const override {
            real.merge_replies(in, out);
        }
        void render_local(const abi::RequestView& r, const abi::LocalContext& c,
                          abi::MessageWriter& out) const override {
            real.render_local(r, c, out);
        }
        void render_error(const abi::RequestInfo& r, abi::ForwardError e, std::string_view d,
                          abi::MessageWriter& out) const override {
            real.render_error(r, e, d, out);
        }
        std::uint32_t write_handshake(const abi::PoolSettings& p, abi::MessageWriter& out) const override {
            return real.write_handshake(p, out);
        }
        std::string_view read_handshake_reply(std::uint32_t i, std::string_view reply) const override {
            return real.read_handshake_reply(i, reply);
        }
        bool write_flush(abi::MessageWriter& out) const override { return real.write_flush(out); }
        void write_invalidate(abi::KeyRef key, abi::MessageWriter& out) const override {
            real.write_invalidate(key, out);
        }
        bool write_backfill(abi::KeyRef key, std::string_view reply, std::uint32_t fragment, std::uint32_t ttl_s,
                            abi::MessageWriter& out) const override {
            return real.write_backfill(key, reply, fragment, ttl_s, out);
        }
        abi::Followup write_followup(const abi::RequestView& request, std::string_view primary_reply,
                                     abi::MessageWriter& out) const override {
            return real.write_followup(request, primary_reply, out);
        }
    };
    const abi::Protocol& real = memcache_protocol();
    const std::string cut = std::string("\0", 1) + "get a\r\nget b";  // one chunk, ends inside a token
    const std::string chunked = std::string("\x01\x02", 2) + "get a\r\nget b\r\n";  // chunks of 3 bytes
    for (const std::string& input : {cut, chunked}) {
        CHECK_NOTHROW(fuzz::memcache_profile::fuzz_requests(real, fuzz::bytes_of(input), input.size()));
    }
    Lying key_lie(real, Lie::KeyInUnconsumedBytes);
    CHECK_THROWS_AS(fuzz::memcache_profile::fuzz_requests(key_lie, fuzz::bytes_of(cut), cut.size()),
                    fuzz::BrokenInvariant);
    Lying chunk_lie(real, Lie::DependsOnChunking);
    CHECK_THROWS_AS(fuzz::memcache_profile::fuzz_requests(chunk_lie, fuzz::bytes_of(chunked), chunked.size()),
                    fuzz::BrokenInvariant);
}

// fuzz/corpus/memcache_response/regression-value-length-beyond-64-bits: the
// length of a VALUE line was summed without an overflow check, so
// "184467440737095516162" wrapped to 2 and framed a 2-byte value; the reply
// was then read out of step. A length beyond 64 bits is malformed.
TEST_CASE("fuzz regression: a VALUE length beyond 64 bits is a protocol error") {
    fuzz::ThrowOnViolation guard;
    const abi::Protocol& p = memcache_protocol();
    auto read = [&](const std::string& bytes) {
        auto whole = fuzz::drive<fuzz::ResponseSide>(p, bytes, {}, fuzz::ResponseHook{});
        auto bytewise = fuzz::drive<fuzz::ResponseSide>(p, bytes, {1}, fuzz::ResponseHook{});
        fuzz::check_same(whole, bytewise);
        return whole;
    };
    auto bad = read("VALUE u 0 18446744073709551618\r\n10\r\nEND\r\n");
    CHECK(bad.messages.empty());
    CHECK(bad.end == fuzz::End::Error);
    CHECK(read("VALUE u 0 184467440737095516162 8\r\n10\r\nEND\r\n").end == fuzz::End::Error);
    // The largest length that fits is read as a length (the value never ends here).
    CHECK(read("VALUE u 0 18446744073709551615\r\n10\r\n").end == fuzz::End::Incomplete);
    auto ok = read("VALUE u 0 00000000000000000000002\r\n10\r\nEND\r\n");
    REQUIRE(ok.messages.size() == 1);
    REQUIRE(ok.messages[0].records.size() == 1);
    CHECK(ok.messages[0].records[0].key == "u");
}
