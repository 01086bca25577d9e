// The memcached ASCII protocol as cachemux proxies it.
#pragma once

#include <cstdint>
#include <string_view>

#include "cachemux/protocol_abi.hpp"

namespace cachemux::memcache {

inline constexpr std::size_t kMaxKeyLength = 250;

enum Command : std::uint16_t {
    kUnknown = 0,
    kGet,
    kGets,
    kSet,
    kAdd,
    kReplace,
    kAppend,
    kPrepend,
    kCas,
    kIncr,
    kDecr,
    kTouch,
    kDelete,
    kFlushAll,
    kVerbosity,
    kVersion,
    kStats,
    kQuit,
};

// Replies the proxy renders itself (RequestInfo::local_reply).
enum LocalReply : std::uint16_t {
    kNoLocalReply = 0,
    kReplyVersion,
    kReplyStats,
    kReplyNothing,           // quit
    kReplyError,             // "ERROR": unknown command, wrong number of arguments
    kReplyBadFormat,         // "CLIENT_ERROR bad command line format"
    kReplyBadDataChunk,      // "CLIENT_ERROR bad data chunk"
    kReplyBadDelta,          // "CLIENT_ERROR invalid numeric delta argument"
    kReplyBadExptime,        // "CLIENT_ERROR invalid exptime argument"
    kReplyDeleteUsage,       // "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]"
};

abi::ParseResult parse_request(abi::ParserState& state, const char* data, std::size_t size, abi::RequestInfo& info,
                               abi::RequestSink& sink);
abi::ParseResult parse_response(abi::ParserState& state, const char* data, std::size_t size,
                                abi::ResponseInfo& info, abi::ResponseSink& sink);

}  // namespace cachemux::memcache
