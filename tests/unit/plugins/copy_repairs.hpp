// What a protocol writes to repair a copy of a replicated pool, as text:
// the helpers of the memcache and redis copy_repairs tests.
#pragma once

#include <doctest/doctest.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "../../fuzz/harness/stream.hpp"
#include "cachemux/protocol_abi.hpp"

namespace cachemux::test {

inline abi::KeyRef key_of(std::string_view k) { return {k.data(), static_cast<std::uint32_t>(k.size())}; }

// write_backfill of `reply` (fragment 1 of a unit: the second attempt) and
// what it wrote; "" when it declined.
inline std::string backfill(const abi::Protocol& p, std::string_view key, std::string_view reply,
                            std::uint32_t ttl) {
    std::string_view replies[] = {"", reply};
    fuzz::StringWriter out{std::span<const std::string_view>(replies)};
    bool wrote = p.write_backfill(key_of(key), reply, 1, ttl, out);
    CHECK(wrote == !out.out.empty());
    return out.out;
}

inline std::string invalidate(const abi::Protocol& p, std::string_view key) {
    fuzz::StringWriter out;
    p.write_invalidate(key_of(key), out);
    return out.out;
}

// `request`, parsed whole by `p`, then its write_followup after the primary
// answered `primary_reply`: what the other copies would be sent.
struct FollowupResult {
    abi::Followup kind;
    std::string written;
};
inline FollowupResult run_followup(const abi::Protocol& p, const std::string& request, std::string_view primary_reply) {
    struct Sink final : abi::RequestSink {
        std::vector<abi::KeyRef> keys;
        abi::SessionState state{};
        abi::PoolSettings settings{};
        void key(const char* data, std::size_t len) override {
            keys.push_back({data, static_cast<std::uint32_t>(len)});
        }
        void key_payload(std::uint64_t, std::uint64_t) override {}
        std::uint64_t offset() const override { return 0; }
        abi::SessionState& session() override { return state; }
        const abi::PoolSettings& pool() const override { return settings; }
    } sink;
    abi::ParserState state{};
    abi::RequestInfo info;
    abi::ParseResult parsed = p.parse_request(state, request.data(), request.size(), info, sink);
    REQUIRE(parsed.status == abi::ParseStatus::Done);
    REQUIRE(parsed.consumed == request.size());
    abi::RequestView view{info, sink.keys, {}, request.size()};
    fuzz::StringWriter out(&view, request);
    abi::Followup kind = p.write_followup(view, primary_reply, out);
    CHECK((kind == abi::Followup::Written) == !out.out.empty());
    return {kind, out.out};
}
inline std::string followup(const abi::Protocol& p, const std::string& request, std::string_view reply) {
    return run_followup(p, request, reply).written;
}
inline abi::Followup followup_kind(const abi::Protocol& p, const std::string& request, std::string_view reply) {
    return run_followup(p, request, reply).kind;
}

}  // namespace cachemux::test
