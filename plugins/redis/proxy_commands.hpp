// The commands a redis pool's proxy answers itself (KeyRule::Proxy): what
// clients send as they connect (HELLO, AUTH, CLIENT SETNAME, SELECT, INFO,
// ECHO, PING) and housekeeping (QUIT, RESET, CLUSTER, ROLE), with redis 7's reply
// shapes and error wording, since clients parse both.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cachemux/protocol_abi.hpp"

namespace cachemux::redis {

// The request's arguments as the parser reported them: every one, the
// command's name first.
class Arguments {
public:
    explicit Arguments(const abi::RequestView& request) : keys_(request.keys) {}
    std::size_t size() const { return keys_.size(); }
    std::string_view operator[](std::size_t i) const { return keys_[i].view(); }
    // Argument `i` equals `lower` (lower case), ignoring case.
    bool is(std::size_t i, std::string_view lower) const;

private:
    std::span<const abi::KeyRef> keys_;
};

// Answers a KeyRule::Proxy command (request.info.command).
void answer_proxy_command(const abi::RequestView& request, const abi::LocalContext& context,
                          abi::MessageWriter& out);

// CLIENT and its subcommands (client_command.cpp).
void answer_client(const abi::RequestView& request, const abi::LocalContext& context, abi::MessageWriter& out);
// INFO [section ...] (info_reply.cpp).
void answer_info(const abi::RequestView& request, const abi::LocalContext& context, abi::MessageWriter& out);

// What INFO and HELLO report as redis_version: the lowest version among the
// servers that have told theirs (each connection's handshake asks), so a
// client never assumes a feature one of them lacks. Until one has answered:
// kFallbackVersion, the oldest redis whose commands the command table needs
// (GETDEL, LMOVE, ... came in 6.2).
inline constexpr std::string_view kFallbackVersion = "6.2.0";
std::string_view lowest_server_version(std::span<const abi::ServerFacts> servers);

// redis's check on client names and CLIENT SETINFO values: printable ASCII
// without spaces.
bool valid_client_attribute(std::string_view text);
// "-ERR unknown command '<name>', with args beginning with: '<arg>' ...".
std::string unknown_command_error(std::span<const abi::KeyRef> args);
// "-ERR wrong number of arguments for '<name>' command".
void arity_error(abi::MessageWriter& out, std::string_view name);

}  // namespace cachemux::redis
