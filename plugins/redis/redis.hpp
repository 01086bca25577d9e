// The redis protocol (RESP) as cachemux proxies it.
#pragma once

#include <cstdint>

#include "cachemux/protocol_abi.hpp"

namespace cachemux::redis {

// Replies the proxy renders itself (RequestInfo::local_reply).
enum LocalReply : std::uint16_t {
    kNoLocalReply = 0,
    kReplyNothing,       // "*0": redis answers nothing
    kReplyCommand,       // a KeyRule::Proxy command (RequestInfo::command), answered by
                         // proxy_commands.cpp; keys hold every argument, the name first
    kReplyNoAuth,        // any command before a good AUTH
    kReplyUnknown,       // not a command the proxy forwards: keys hold the arguments
    kReplyArity,         // wrong number of arguments for the command (RequestInfo::command)
    kReplyNoKeys,        // a command that must be routed by a key carries none (EVAL numkeys 0)
    kReplyNotInteger,    // EVAL numkeys is not a number
    kReplyKeysGreater,   // EVAL numkeys beyond its arguments
    kReplyKeysNegative,  // EVAL numkeys below 0
    kReplySubcommand,    // CONFIG <not GET>: keys[0] is the subcommand
    kReplyConfigGetArity,  // CONFIG GET without a parameter
};

// Per-client session bits (abi::SessionState).
struct Session {
    bool authenticated;
};
static_assert(sizeof(Session) <= abi::kSessionStateSize);

inline Session& session_of(abi::SessionState& state) { return *reinterpret_cast<Session*>(state.bytes); }

abi::ParseResult parse_request(abi::ParserState& state, const char* data, std::size_t size, abi::RequestInfo& info,
                               abi::RequestSink& sink);
abi::ParseResult parse_response(abi::ParserState& state, const char* data, std::size_t size,
                                abi::ResponseInfo& info, abi::ResponseSink& sink);

}  // namespace cachemux::redis
