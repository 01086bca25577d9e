// The memcache protocol plugin: routing facts, fragments, merged replies and
// the replies the proxy gives by itself.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string>

#include "cachemux/plugin_abi.hpp"
#include "memcache.hpp"

namespace cachemux::memcache {

namespace {

class MemcacheProtocol final : public abi::Protocol {
public:
    std::string_view name() const noexcept override { return "memcache"; }

    abi::ParseResult parse_request(abi::ParserState& state, const char* data, std::size_t size,
                                   abi::RequestInfo& info, abi::RequestSink& sink) const override {
        return memcache::parse_request(state, data, size, info, sink);
    }

    abi::ParseResult parse_response(abi::ParserState& state, const char* data, std::size_t size,
                                    abi::ResponseInfo& info, abi::ResponseSink& sink) const override {
        return memcache::parse_response(state, data, size, info, sink);
    }

    // "get k1 k2 \r\n" with the keys referenced, not copied. The blank
    // after each key is nutcracker's: the same bytes on the wire keep the
    // servers' request_bytes stats equal to nutcracker's.
    void write_fragment(const abi::RequestView& request, std::span<const std::uint32_t> key_indices,
                        abi::MessageWriter& out) const override {
        out.literal(request.info.command == kGets ? "gets " : "get ");
        for (std::uint32_t k : key_indices) {
            out.key(k);
            out.literal(" ");
        }
        out.literal("\r\n");
    }

    void merge_replies(const abi::MergeInput& in, abi::MessageWriter& out) const override {
        // A failed fragment fails the whole request, with the first error.
        for (std::uint32_t f = 0; f < in.fragments.size(); ++f) {
            if (in.fragments[f].info.is_error) {
                out.response(f, 0, in.fragments[f].size);
                return;
            }
        }
        if (in.request.info.route == abi::Route::Broadcast) {
            out.response(0, 0, in.fragments[0].size);  // every server said the same ("OK")
            return;
        }
        // Values in the order the client asked for the keys; misses are absent.
        std::uint32_t cursor_small[64] = {};
        std::vector<std::uint32_t> cursor_large;
        std::uint32_t* cursor = cursor_small;
        if (in.fragments.size() > 64) {
            cursor_large.assign(in.fragments.size(), 0);
            cursor = cursor_large.data();
        }
        const auto& keys = in.request.keys;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            std::uint32_t f = in.fragment_of_key[i];
            const auto& records = in.fragments[f].records;
            if (cursor[f] < records.size() && records[cursor[f]].key.view() == keys[i].view()) {
                const abi::Record& r = records[cursor[f]++];
                out.response(f, r.begin, r.end);
            }
        }
        out.literal("END\r\n");
    }

    void render_local(const abi::RequestView& request, const abi::LocalContext& context,
                      abi::MessageWriter& out) const override {
        switch (request.info.local_reply) {
        case kReplyVersion:
            out.literal("VERSION ");
            out.copy(context.version);
            out.literal("\r\n");
            return;
        case kReplyStats: {
            std::int64_t now = std::time(nullptr);
            std::string stats = "STAT pid " + std::to_string(getpid()) + "\r\n" +
                                "STAT uptime " + std::to_string(now - context.started_at) + "\r\n" +
                                "STAT time " + std::to_string(now) + "\r\n" + "STAT version " +
                                std::string(context.version) + "\r\n" + "STAT pointer_size " +
                                std::to_string(sizeof(void*) * 8) + "\r\nEND\r\n";
            out.copy(stats);
            return;
        }
        case kReplyNothing:
            return;
        case kReplyBadFormat:
            out.literal("CLIENT_ERROR bad command line format\r\n");
            return;
        case kReplyBadDataChunk:
            out.literal("CLIENT_ERROR bad data chunk\r\n");
            return;
        case kReplyBadDelta:
            out.literal("CLIENT_ERROR invalid numeric delta argument\r\n");
            return;
        case kReplyBadExptime:
            out.literal("CLIENT_ERROR invalid exptime argument\r\n");
            return;
        case kReplyDeleteUsage:
            out.literal("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
            return;
        case kReplyError:
        default:
            out.literal("ERROR\r\n");
            return;
        }
    }

    std::uint32_t write_handshake(const abi::PoolSettings&, abi::MessageWriter&) const override { return 0; }
    std::string_view read_handshake_reply(std::uint32_t, std::string_view) const override { return {}; }

    bool write_flush(abi::MessageWriter& out) const override {
        out.literal("flush_all\r\n");
        return true;
    }
    void write_invalidate(abi::KeyRef key, abi::MessageWriter& out) const override {
        out.literal("delete ");
        out.copy(key.view());
        out.literal("\r\n");
    }
    // "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\nEND\r\n" becomes
    // "add <key> <flags> <ttl> <bytes>\r\n<data>\r\n", the data by reference.
    bool write_backfill(abi::KeyRef key, std::string_view reply, std::uint32_t fragment, std::uint32_t ttl_s,
                        abi::MessageWriter& out) const override {
        std::size_t eol = reply.find("\r\n");
        if (!reply.starts_with("VALUE ") || eol == std::string_view::npos) {
            return false;
        }
        std::string_view line = reply.substr(6, eol - 6);
        std::string_view tokens[4];
        std::size_t n = 0;
        while (!line.empty() && n < 4) {
            std::size_t space = line.find(' ');
            tokens[n++] = line.substr(0, space);
            line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
        }
        if (n < 3 || tokens[0] != key.view()) {
            return false;
        }
        std::uint64_t bytes = 0;
        for (char c : tokens[2]) {
            if (c < '0' || c > '9') return false;
            bytes = bytes * 10 + static_cast<std::uint64_t>(c - '0');
        }
        const std::uint64_t data = eol + 2;
        if (data + bytes + 2 > reply.size()) {
            return false;
        }
        out.literal("add ");
        out.copy(key.view());
        out.literal(" ");
        out.copy(tokens[1]);
        char ttl[16];
        int len = std::snprintf(ttl, sizeof ttl, " %u ", ttl_s);
        out.copy({ttl, static_cast<std::size_t>(len)});
        out.copy(tokens[2]);
        out.literal("\r\n");
        out.response(fragment, data, data + bytes + 2);  // the data and its CRLF
        return true;
    }
    // A stored cas reaches the other copies as a set of the same item
    // ("cas k F E B U[ noreply]\r\n<data>\r\n" -> "set k F E B\r\n<data>\r\n",
    // by reference; marks: the blank before U, and the data's start). A
    // refused one changed nothing anywhere.
    abi::Followup write_followup(const abi::RequestView& request, std::string_view primary_reply,
                                 abi::MessageWriter& out) const override {
        const std::uint32_t cas_at = request.info.marks[0];
        const std::uint32_t data_at = request.info.marks[1];
        if (request.info.command != kCas || cas_at <= 3 || data_at <= cas_at || data_at > request.size) {
            return abi::Followup::Invalidate;
        }
        if (primary_reply == "EXISTS\r\n" || primary_reply == "NOT_FOUND\r\n") {
            return abi::Followup::Nothing;
        }
        if (primary_reply != "STORED\r\n") {
            return abi::Followup::Invalidate;
        }
        out.literal("set");
        out.request(3, cas_at);
        out.literal("\r\n");
        out.request(data_at, request.size);
        return abi::Followup::Written;
    }

    // nutcracker's wording: "SERVER_ERROR <strerror text>".
    void render_error(const abi::RequestInfo&, abi::ForwardError error, std::string_view detail,
                      abi::MessageWriter& out) const override {
        out.literal("SERVER_ERROR ");
        switch (error) {
        case abi::ForwardError::Timeout:
            out.literal("Connection timed out");
            break;
        case abi::ForwardError::NoServer:
            out.literal("No server available");  // reviewed with the liveness issue
            break;
        case abi::ForwardError::ConnectionFailed:
            out.copy(detail);
            break;
        }
        out.literal("\r\n");
    }
};

const MemcacheProtocol kProtocol;
const abi::Protocol* const kProtocols[] = {&kProtocol};

const abi::PluginDescriptor kDescriptor{
    abi::kAbiVersion, "memcached ASCII protocol", {}, {}, kProtocols,
};

}  // namespace

const abi::PluginDescriptor* plugin_descriptor() { return &kDescriptor; }

}  // namespace cachemux::memcache

CACHEMUX_PLUGIN(cachemux::memcache::plugin_descriptor)
