// The memcache protocol under the streaming checks of stream.hpp, plus what
// only memcache promises: a merged multi-get reply (merge_replies) is one
// well-formed response carrying every value record of the server's reply.
#pragma once

#include "../../plugins/memcache/memcache.hpp"
#include "stream.hpp"

namespace cachemux::fuzz::memcache_profile {

// The local replies a memcached could send for a forwarded request, which the
// response parser therefore knows ("VERSION ...", "STAT ..." it need not).
inline bool reply_is_response(std::uint16_t local_reply) {
    return local_reply != memcache::kReplyVersion && local_reply != memcache::kReplyStats &&
           local_reply != memcache::kReplyNothing;
}

inline void fuzz_requests(const abi::Protocol& protocol, const std::uint8_t* data, std::size_t size) {
    Input in = split_input(data, size);
    abi::PoolSettings pool{};
    fuzz::fuzz_requests(protocol, in, pool, reply_is_response);
}

// The response answers a "get" of the keys of its records, all on one
// server: the merged reply must be one response with every record in it.
inline void check_merge(const abi::Protocol& protocol, const ResponseMessage& r) {
    std::vector<abi::KeyRef> keys;
    for (const abi::Record& rec : r.raw_records) keys.push_back(rec.key);
    abi::RequestInfo info;
    info.command = memcache::kGet;
    info.route = abi::Route::Forward;
    abi::RequestView view{info, keys, {}};
    std::vector<std::uint32_t> fragment_of_key(keys.size(), 0);
    abi::FragmentReply reply{r.info, r.bytes.size(), r.raw_records};
    abi::MergeInput input{view, fragment_of_key, std::span<const abi::FragmentReply>(&reply, 1)};
    std::string_view replies[] = {r.bytes};
    StringWriter w(replies);
    protocol.merge_replies(input, w);
    ResponseMessage merged = one_response(protocol, w.out, "a merged get reply");
    CACHEMUX_FUZZ_CHECK(merged.info.is_error == r.info.is_error, "merging changes whether the reply is an error");
    if (!r.info.is_error) {
        CACHEMUX_FUZZ_CHECK(merged.records.size() == r.records.size(),
                            "a merged get reply lost or gained values: \"" + escaped(w.out) + "\"");
    }
}

// A value record is its "VALUE <key> <flags> <bytes> [<cas>]\r\n" line, then
// exactly <bytes> bytes, then "\r\n": the framing a parser makes of it must
// be what the line declares, whatever the size of the number written.
inline void check_records(const ResponseMessage& r) {
    for (const RecordCopy& rec : r.records) {
        std::string_view bytes = std::string_view(r.bytes).substr(rec.begin, rec.end - rec.begin);
        std::size_t nl = bytes.find('\n');
        CACHEMUX_FUZZ_CHECK(bytes.starts_with("VALUE ") && nl != std::string_view::npos && nl > 0,
                            "a record that is not a VALUE line: \"" + escaped(bytes) + "\"");
        std::string_view line = bytes.substr(0, nl - 1);  // without "\r\n"
        std::vector<std::string_view> fields;
        for (std::size_t pos = 0; pos < line.size();) {
            std::size_t end = line.find(' ', pos);
            if (end == std::string_view::npos) end = line.size();
            if (end > pos) fields.push_back(line.substr(pos, end - pos));
            pos = end + 1;
        }
        CACHEMUX_FUZZ_CHECK(fields.size() >= 4, "a VALUE line without a length: \"" + escaped(line) + "\"");
        CACHEMUX_FUZZ_CHECK(fields[1] == rec.key, "a record's key is not its VALUE line's");
        std::uint64_t data = bytes.size() - (nl + 1) - 2;  // without the line and the final "\r\n"
        CACHEMUX_FUZZ_CHECK(canonical_number(fields[3]) == std::to_string(data),
                            "a value record of " + std::to_string(data) + " data bytes under the line \"" +
                                escaped(line) + "\"");
    }
}

inline void fuzz_responses(const abi::Protocol& protocol, const std::uint8_t* data, std::size_t size) {
    Input in = split_input(data, size);
    fuzz::fuzz_responses(protocol, in, [&](const ResponseMessage& r) {
        check_records(r);
        check_merge(protocol, r);
    });
}

}  // namespace cachemux::fuzz::memcache_profile
