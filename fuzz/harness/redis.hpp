// The redis protocol under the streaming checks of stream.hpp, plus what
// only redis promises: every reply the proxy renders is RESP, and the merged
// replies of split commands (MGET's array, DEL's sum, MSET's +OK) are one
// well-formed response.
#pragma once

#include "../../plugins/redis/command_table.hpp"
#include "../../plugins/redis/redis.hpp"
#include "stream.hpp"

namespace cachemux::fuzz::redis_profile {

inline bool reply_is_response(std::uint16_t local_reply) { return local_reply != redis::kReplyNothing; }

// Flag bit 0 (bit 4 of the input's first byte): the pool has redis_auth
// "secret", so requests need "AUTH secret" first.
inline void fuzz_requests(const abi::Protocol& protocol, const std::uint8_t* data, std::size_t size) {
    Input in = split_input(data, size);
    abi::PoolSettings pool{};
    if (in.flags & 1) pool.auth = "secret";
    fuzz::fuzz_requests(protocol, in, pool, reply_is_response);
}

// Merges `fragments` replies (each `r`) for `keys` keys of `command`,
// key i going to fragment i % fragments; the result must be one response.
inline ResponseMessage merge(const abi::Protocol& protocol, const ResponseMessage& r, std::uint16_t command,
                             std::size_t nkeys, std::size_t nfragments) {
    static const char kKey[] = "k";
    std::vector<abi::KeyRef> keys(nkeys, abi::KeyRef{kKey, 1});
    abi::RequestInfo info;
    info.command = command;
    info.route = abi::Route::Forward;
    abi::RequestView view{info, keys, {}};
    std::vector<std::uint32_t> fragment_of_key;
    for (std::size_t i = 0; i < nkeys; ++i) fragment_of_key.push_back(static_cast<std::uint32_t>(i % nfragments));
    std::vector<abi::FragmentReply> replies(nfragments, abi::FragmentReply{r.info, r.bytes.size(), r.raw_records});
    std::vector<std::string_view> bytes(nfragments, r.bytes);
    abi::MergeInput input{view, fragment_of_key, replies};
    StringWriter w(bytes);
    protocol.merge_replies(input, w);
    return one_response(protocol, w.out, "a merged reply");
}

inline void check_merges(const abi::Protocol& protocol, const ResponseMessage& r) {
    // MGET: one element per key, from the reply's top-level array elements.
    std::size_t n = std::max<std::size_t>(1, r.records.size());
    ResponseMessage mget = merge(protocol, r, redis::cmd::mget, n, 1);
    if (!r.info.is_error) {
        CACHEMUX_FUZZ_CHECK(!mget.info.is_error && mget.records.size() == n,
                            "a merged MGET reply has another number of elements");
    }
    // DEL over two servers that both answered `r`: the integers summed.
    ResponseMessage del = merge(protocol, r, redis::cmd::del, 2, 2);
    CACHEMUX_FUZZ_CHECK(del.info.is_error == r.info.is_error, "a merged DEL reply changes errorness");
    // MSET: +OK once all said OK.
    ResponseMessage mset = merge(protocol, r, redis::cmd::mset, 2, 1);
    CACHEMUX_FUZZ_CHECK(mset.info.is_error == r.info.is_error, "a merged MSET reply changes errorness");
}

// A top-level array "*<n>\r\n" that parsed whole has n elements, each a
// record, whatever the size of the number written.
inline void check_array(const ResponseMessage& r) {
    if (r.bytes.empty() || r.bytes[0] != '*') return;
    std::string_view n(r.bytes);
    n = n.substr(1, n.find('\r') - 1);
    if (n.starts_with('-')) {
        CACHEMUX_FUZZ_CHECK(r.records.empty(), "a null array with elements");
        return;
    }
    CACHEMUX_FUZZ_CHECK(canonical_number(n) == std::to_string(r.records.size()),
                        "an array of " + std::to_string(r.records.size()) + " elements under \"*" +
                            escaped(n) + "\"");
}

inline void fuzz_responses(const abi::Protocol& protocol, const std::uint8_t* data, std::size_t size) {
    Input in = split_input(data, size);
    fuzz::fuzz_responses(protocol, in, [&](const ResponseMessage& r) {
        check_array(r);
        check_merges(protocol, r);
    });
}

}  // namespace cachemux::fuzz::redis_profile
