// The redis protocol plugin: fragments for MGET/DEL/MSET & co, merged
// replies, the replies the proxy gives itself, and the greeting every server
// connection starts with (AUTH, SELECT, INFO server).
#include <cstdio>
#include <string>
#include <vector>

#include "cachemux/plugin_abi.hpp"
#include "command_table.hpp"
#include "proxy_commands.hpp"
#include "redis.hpp"
#include "resp_writer.hpp"

namespace cachemux::redis {

namespace {

using resp::array_header;
using resp::bulk;
using resp::bulk_header;

class RedisProtocol final : public abi::Protocol {
public:
    std::string_view name() const noexcept override { return "redis"; }

    abi::ParseResult parse_request(abi::ParserState& state, const char* data, std::size_t size,
                                   abi::RequestInfo& info, abi::RequestSink& sink) const override {
        return redis::parse_request(state, data, size, info, sink);
    }

    abi::ParseResult parse_response(abi::ParserState& state, const char* data, std::size_t size,
                                    abi::ResponseInfo& info, abi::ResponseSink& sink) const override {
        return redis::parse_response(state, data, size, info, sink);
    }

    // "*<n>\r\n$4\r\nmget\r\n$<len>\r\n<key>\r\n..." with keys (and MSET's
    // values) referenced, not copied.
    void write_fragment(const abi::RequestView& request, std::span<const std::uint32_t> key_indices,
                        abi::MessageWriter& out) const override {
        const Command* command = command_by_id(request.info.command);
        bool pairs = command->keys == KeyRule::Pairs;
        array_header(out, 1 + key_indices.size() * (pairs ? 2 : 1));
        bulk_header(out, command->name.size());
        out.literal(command->name);
        out.literal("\r\n");
        for (std::uint32_t k : key_indices) {
            bulk_header(out, request.keys[k].len);
            out.key(k);
            out.literal("\r\n");
            if (pairs) {
                bulk_header(out, k < request.payloads.size() ? request.payloads[k].size : 0);
                out.key_payload(k);
                out.literal("\r\n");
            }
        }
    }

    void merge_replies(const abi::MergeInput& in, abi::MessageWriter& out) const override {
        // As nutcracker: a piece that reached no server fails the whole with
        // that error; a piece a server refused fails it with "Invalid argument".
        for (std::uint32_t f = 0; f < in.fragments.size(); ++f) {
            if (in.fragments[f].info.forward_failed) {
                out.response(f, 0, in.fragments[f].size);
                return;
            }
        }
        for (const auto& f : in.fragments) {
            if (f.info.is_error) {
                out.literal("-ERR Invalid argument\r\n");
                return;
            }
        }
        const Command* command = command_by_id(in.request.info.command);
        switch (command->merge) {
        case Merge::Sum: {
            // Summed modulo 2^64: servers answering near INT64_MAX (a
            // broken or hostile server) must not make the sum overflow a
            // signed integer, which is undefined behaviour (found by
            // fuzz/redis_response). Real DEL counts never come close.
            std::uint64_t total = 0;
            for (const auto& f : in.fragments) {
                total += static_cast<std::uint64_t>(f.info.integer);
            }
            char buf[32];
            int len = std::snprintf(buf, sizeof(buf), ":%lld\r\n", static_cast<long long>(total));
            out.copy({buf, static_cast<std::size_t>(len)});
            return;
        }
        case Merge::Ok:
            out.literal("+OK\r\n");
            return;
        case Merge::Array:
        case Merge::None: {
            // One element per key, in key order, taken in turn from the
            // reply of the fragment that carried the key.
            std::uint32_t cursor_small[64] = {};
            std::vector<std::uint32_t> cursor_large;  // only for pools of more than 64 servers
            std::uint32_t* cursor = cursor_small;
            if (in.fragments.size() > 64) {
                cursor_large.assign(in.fragments.size(), 0);
                cursor = cursor_large.data();
            }
            array_header(out, in.request.keys.size());
            for (std::size_t i = 0; i < in.request.keys.size(); ++i) {
                std::uint32_t f = in.fragment_of_key[i];
                const auto& records = in.fragments[f].records;
                if (cursor[f] < records.size()) {
                    const abi::Record& r = records[cursor[f]++];
                    out.response(f, r.begin, r.end);
                } else {
                    out.literal("$-1\r\n");
                }
            }
            return;
        }
        }
    }

    void render_local(const abi::RequestView& request, const abi::LocalContext& context,
                      abi::MessageWriter& out) const override {
        switch (request.info.local_reply) {
        case kReplyNothing:
            return;
        case kReplyCommand:
            answer_proxy_command(request, context, out);
            return;
        case kReplyNoAuth:
            out.literal("-NOAUTH Authentication required\r\n");
            return;
        case kReplyArity:
            arity_error(out, command_by_id(request.info.command)->name);
            return;
        case kReplyNoKeys: {
            const Command* command = command_by_id(request.info.command);
            out.literal("-ERR '");
            out.literal(command->name);
            out.literal("' without a key cannot be routed by a proxy\r\n");
            return;
        }
        case kReplyNotInteger:
            out.literal("-ERR value is not an integer or out of range\r\n");
            return;
        case kReplyKeysGreater:
            out.literal("-ERR Number of keys can't be greater than number of args\r\n");
            return;
        case kReplyKeysNegative:
            out.literal("-ERR Number of keys can't be negative\r\n");
            return;
        case kReplySubcommand:
            // CONFIG SET, REWRITE, RESETSTAT would change one server of the
            // pool behind the others' backs: unknown to the proxy.
            resp::error(out, "ERR unknown subcommand '" + std::string(request.keys[0].view().substr(0, 128)) +
                                 "'. Try CONFIG HELP.");
            return;
        case kReplyConfigGetArity:
            arity_error(out, "config|get");
            return;
        case kReplyUnknown:
        default:
            out.copy(unknown_command_error(request.keys));
            return;
        }
    }

    // nutcracker's wording: "-ERR <strerror text>".
    void render_error(const abi::RequestInfo&, abi::ForwardError error, std::string_view detail,
                      abi::MessageWriter& out) const override {
        out.literal("-ERR ");
        switch (error) {
        case abi::ForwardError::Timeout:
            out.literal("Connection timed out");
            break;
        case abi::ForwardError::NoServer:
            out.literal("No server available");
            break;
        case abi::ForwardError::ConnectionFailed:
            out.copy(detail);
            break;
        }
        out.literal("\r\n");
    }

    std::uint32_t write_handshake(const abi::PoolSettings& pool, abi::MessageWriter& out) const override {
        std::uint32_t replies = 0;
        if (!pool.auth.empty()) {
            array_header(out, 2);
            bulk(out, "AUTH");
            bulk(out, pool.auth);
            ++replies;
        }
        if (pool.db != 0) {
            array_header(out, 2);
            bulk(out, "SELECT");
            bulk(out, std::to_string(pool.db));
            ++replies;
        }
        // Last, so that it is answered once the connection may ask: the
        // server's version, for INFO and HELLO (lowest_server_version).
        out.literal("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n");
        return replies + 1;
    }

    // INFO server's bulk reply holds "redis_version:<v>\r\n"; anything
    // else (AUTH's +OK, an error) holds no version.
    std::string_view read_handshake_reply(std::uint32_t, std::string_view reply) const override {
        constexpr std::string_view kField = "\nredis_version:";
        if (reply.empty() || reply[0] != '$') return {};
        std::size_t at = reply.find(kField);
        if (at == std::string_view::npos) return {};
        std::string_view rest = reply.substr(at + kField.size());
        std::size_t end = rest.find_first_of("\r\n");
        rest = rest.substr(0, end);
        return rest.size() <= 32 ? rest : std::string_view();
    }

    // FLUSHALL would destroy data a redis pool may hold for good.
    bool write_flush(abi::MessageWriter&) const override { return false; }
    void write_invalidate(abi::KeyRef key, abi::MessageWriter& out) const override {
        out.literal("*2\r\n$3\r\nDEL\r\n");
        resp::bulk(out, key.view());
    }
    // A GET's "$<n>\r\n<data>\r\n" (or a one-key MGET's "*1\r\n" before
    // it) becomes SET <key> <data> EX <ttl> NX, the data by reference.
    bool write_backfill(abi::KeyRef key, std::string_view reply, std::uint32_t fragment, std::uint32_t ttl_s,
                        abi::MessageWriter& out) const override {
        std::size_t at = reply.starts_with("*1\r\n") ? 4 : 0;
        std::size_t eol = reply.find("\r\n", at);
        if (eol == std::string_view::npos || reply.size() <= at || reply[at] != '$') {
            return false;
        }
        std::uint64_t len = 0;
        for (std::size_t i = at + 1; i < eol; ++i) {
            if (reply[i] < '0' || reply[i] > '9') return false;  // $-1: no value
            len = len * 10 + static_cast<std::uint64_t>(reply[i] - '0');
        }
        if (eol == at + 1 || eol + 2 + len + 2 > reply.size()) {
            return false;
        }
        out.literal("*6\r\n$3\r\nSET\r\n");
        resp::bulk(out, key.view());
        out.response(fragment, at, eol + 2 + len + 2);  // "$<n>\r\n<data>\r\n"
        out.literal("$2\r\nEX\r\n");
        char ttl[16];
        int n = std::snprintf(ttl, sizeof ttl, "%u", ttl_s);
        resp::bulk(out, {ttl, static_cast<std::size_t>(n)});
        out.literal("$2\r\nNX\r\n");
        return true;
    }
    // SPOP, GETDEL, EVAL...: what the primary did cannot be repeated, so the
    // other copies lose the key.
    abi::Followup write_followup(const abi::RequestView&, std::string_view, abi::MessageWriter&) const override {
        return abi::Followup::Invalidate;
    }
};

const RedisProtocol kProtocol;
const abi::Protocol* const kProtocols[] = {&kProtocol};

const abi::PluginDescriptor kDescriptor{
    abi::kAbiVersion, "redis protocol (RESP)", {}, {}, kProtocols,
};

}  // namespace

const abi::PluginDescriptor* plugin_descriptor() { return &kDescriptor; }

}  // namespace cachemux::redis

CACHEMUX_PLUGIN(cachemux::redis::plugin_descriptor)
