// The protocol part of the plugin ABI (see plugin_abi.hpp).
//
// A protocol plugin parses requests and responses out of the bytes the core
// reads, classifies them so the core can route them, writes the fragments of
// a multi-key request, merges their replies and renders the replies the proxy
// gives by itself. It never touches a socket, a timer or the event loop, and
// it never copies a value: keys and values stay in the core's buffers and are
// referred to by pointer (keys) or by byte offset (response records).
//
// Parsing is streaming. The core hands the parser the unparsed bytes of one
// connection as contiguous chunks, together with a small per-connection state
// the parser owns. The parser consumes whole tokens only: where a token is cut
// by the end of the chunk it stops in front of it (`consumed` < chunk size)
// and the core guarantees the token is contiguous on the next call. Bulk data
// whose length is known (a memcached value) may be consumed piecewise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace cachemux::abi {

// Per-connection parser state: plain bytes the core keeps and zeroes at the
// start of every message. A plugin casts it to its own trivially copyable struct.
inline constexpr std::size_t kParserStateSize = 64;
struct alignas(8) ParserState {
    unsigned char bytes[kParserStateSize];
};

// Per-client state a protocol keeps across requests (a redis client that has
// sent AUTH, say): plain bytes the core zeroes when the client connects.
inline constexpr std::size_t kSessionStateSize = 16;
struct alignas(8) SessionState {
    unsigned char bytes[kSessionStateSize];
};

// The pool settings a protocol acts on.
struct PoolSettings {
    std::string_view auth;  // redis_auth: the password clients and servers use ("" for none)
    std::int32_t db;        // redis_db: the database every server connection selects
};

enum class ParseStatus : std::uint8_t {
    Again,  // all of `consumed` is part of the message; call again with more bytes
    Done,   // the message ends after `consumed` bytes
    Error,  // the stream cannot be resynchronised: the core closes the connection
};

struct ParseResult {
    ParseStatus status;
    std::size_t consumed;
};

// How the core routes a parsed request.
enum class Route : std::uint8_t {
    Forward,    // to the server owning its key; with several keys, one fragment per server
    Broadcast,  // to every server of the pool, replies merged into one
    Local,      // answered by the proxy itself (render_local)
};

// How a pool with copies (`replicas:`) sends a Forward request; a pool
// without copies ignores it. A plugin classifies every command it forwards:
// the core refuses an Unclassified one in a pool with copies rather than
// guess whether it writes. "Live" copies are those whose server for the key
// is not ejected; the first live one in copy order is the primary.
enum class CopyRule : std::uint8_t {
    Unclassified,
    // One copy answers: the first live one in read order, then the next on
    // an error, or on a miss (ResponseInfo::is_miss) under read_failover:
    // miss. A clean miss beats an error.
    Read,
    // The primary answers, or the next live copy on an error, never on a
    // miss (memcache gets: a cas token belongs to one server).
    ReadPrimary,
    // Every live copy. The client gets the primary's reply (under write:
    // all, the first error instead; under write: one, the first success);
    // a copy whose reply differs from the first success is invalidated.
    WriteAll,
    // The primary only; then the key is invalidated on the other live
    // copies (memcache cas; redis SPOP, GETDEL, EVAL: results that are not
    // a function of the state, so a copy cannot be trusted to repeat them).
    WritePrimary,
};

// What the parser tells the core about one request.
struct RequestInfo {
    std::uint16_t command = 0;  // plugin-defined; opaque to the core
    Route route = Route::Forward;
    bool noreply = false;        // the server will not reply and the client expects nothing
    bool close_after = false;    // close the client once the replies before this one are sent
    std::uint16_t local_reply = 0;  // plugin-defined reply id for Route::Local
    CopyRule copies = CopyRule::Unclassified;
    // Where a noreply request says so (memcache's " noreply"): bytes
    // [noreply_at, noreply_at + noreply_len) of the request. A pool with
    // copies sends the request without them, so that it hears every copy's
    // answer (a failed copy is noticed), and the client still gets nothing.
    std::uint32_t noreply_at = 0;
    std::uint16_t noreply_len = 0;
    // Offsets into the request the plugin keeps for its own later calls
    // (write_followup: memcache cas's cas unique and data block); opaque to
    // the core.
    std::uint32_t marks[2] = {0, 0};
};

// A key inside the core's buffers (always contiguous).
struct KeyRef {
    const char* data;
    std::uint32_t len;
    std::string_view view() const { return {data, len}; }
};

// A value record inside a response: bytes [begin, end) counted from the start
// of the response, and the key it is for. Used to merge multi-key replies.
// A protocol records either by key (memcache: a record names its key, in
// the order the keys were asked, and a key that missed has none) or by
// position (redis MGET: one record per key asked, in order, key.data null,
// `miss` set for a nil). A pool with copies reads misses off either form.
struct Record {
    std::uint64_t begin;
    std::uint64_t end;
    KeyRef key;
    bool miss = false;
};

// What the parser tells the core about one response.
struct ResponseInfo {
    bool is_error = false;     // the server refused or failed the request
    bool forward_failed = false;  // no server reply: the proxy's render_error text stands in
    bool is_miss = false;      // a read that found nothing (memcache: END alone; redis: a nil reply)
    bool is_integer = false;   // an integer reply (`integer` holds it): replies to split
    std::int64_t integer = 0;  // DELs are summed from these
};

// Callbacks the core gives a parser for the message being parsed.
class RequestSink {
public:
    virtual void key(const char* data, std::size_t len) = 0;
    // Bytes of the request (from offset `begin`, `size` long) that go with
    // the key reported last when the request is split: MSET's value.
    virtual void key_payload(std::uint64_t begin, std::uint64_t size) = 0;
    // Offset from the start of the request of the first byte of this chunk.
    virtual std::uint64_t offset() const = 0;
    virtual SessionState& session() = 0;
    virtual const PoolSettings& pool() const = 0;
protected:
    ~RequestSink() = default;
};

class ResponseSink {
public:
    // [begin, end) are offsets from the start of the response being parsed.
    virtual void record(std::uint64_t begin, std::uint64_t end, KeyRef key, bool miss) = 0;
    // Offset from the start of the response of the first byte of this chunk.
    virtual std::uint64_t offset() const = 0;
protected:
    ~ResponseSink() = default;
};

// Where a plugin writes the bytes of a fragment or a reply.
class MessageWriter {
public:
    // Bytes with static storage duration: referenced, never copied.
    virtual void literal(std::string_view bytes) = 0;
    // Bytes that will not outlive the call: copied into a core buffer.
    virtual void copy(std::string_view bytes) = 0;
    // The request's key number `index`, by reference.
    virtual void key(std::uint32_t index) = 0;
    // The payload reported with key number `index` (RequestSink::key_payload), by reference.
    virtual void key_payload(std::uint32_t index) = 0;
    // Bytes [begin, end) of the response to fragment `fragment`, by reference.
    virtual void response(std::uint32_t fragment, std::uint64_t begin, std::uint64_t end) = 0;
    // Bytes [begin, end) of the request itself, by reference.
    virtual void request(std::uint64_t begin, std::uint64_t end) = 0;
protected:
    ~MessageWriter() = default;
};

// The replies to the fragments of one request, in the order the plugin
// asked for them (by server).
struct FragmentReply {
    ResponseInfo info;
    std::uint64_t size;
    std::span<const Record> records;
};

// Bytes of a request that travel with a key when it is split (MSET's value),
// counted from the request's first byte.
struct KeyPayload {
    std::uint64_t begin;
    std::uint64_t size;
};

// A parsed request as splitting, merging and local replies see it.
struct RequestView {
    const RequestInfo& info;
    std::span<const KeyRef> keys;
    std::span<const KeyPayload> payloads;  // one per key, or empty when none were reported
    std::uint64_t size = 0;                 // the request's bytes
};

struct MergeInput {
    const RequestView& request;
    std::span<const std::uint32_t> fragment_of_key;  // which fragment each key went to
    std::span<const FragmentReply> fragments;
};

// One server of the pool as a local reply describes it (redis INFO, HELLO).
struct ServerFacts {
    std::string_view name;     // as the stats name it ("s1", or "host:port")
    std::string_view version;  // what it said of itself (read_handshake_reply); "" until it has
};

// The client a local reply is for. Commands such as CLIENT SETNAME, HELLO and
// RESET read and change it; the core keeps it for the connection's life.
class ClientSession {
public:
    // Unique among the client connections of the process, never reused.
    virtual std::uint64_t id() const = 0;
    virtual std::string_view name() const = 0;         // "" when none was set
    virtual void set_name(std::string_view name) = 0;  // copied
    // The protocol's per-client bytes (also RequestSink::session()).
    virtual SessionState& state() = 0;
    // "ip:port" of the client and of the proxy's end; "path:0" on a unix socket.
    virtual std::string_view peer_address() = 0;
    virtual std::string_view local_address() = 0;
    virtual int fd() const = 0;
    virtual std::int64_t connected_at() const = 0;  // seconds since the epoch
protected:
    ~ClientSession() = default;
};

// Facts about the proxy, the pool and the client a local reply may need.
struct LocalContext {
    std::string_view version;  // the proxy's version, e.g. "0.1.0"
    std::int64_t started_at;   // when the proxy started, in seconds since the epoch
    std::string_view pool;     // the pool's name
    const PoolSettings& settings;
    std::int32_t port;         // the pool's listen port (0 on a unix socket)
    std::span<const ServerFacts> servers;  // the pool's servers, in config order
    std::uint64_t clients;                 // client connections of the pool now
    ClientSession& client;
};

// What the other copies of a pool with copies get once the primary has
// answered a WritePrimary request (Protocol::write_followup).
enum class Followup : std::uint8_t {
    Invalidate,  // the key is deleted there (write_invalidate)
    Nothing,     // nothing changed that they hold (memcache: a cas that was refused)
    Written,     // what write_followup wrote (memcache: a stored cas as a set of its value)
};

// Why the core could not get a reply from a server.
enum class ForwardError : std::uint8_t {
    ConnectionFailed,  // connect refused, reset, closed mid-reply: detail names the errno text
    Timeout,
    NoServer,  // no live server for the key
};

class Protocol {
public:
    virtual ~Protocol() = default;
    virtual std::string_view name() const noexcept = 0;  // "memcache", "redis"

    virtual ParseResult parse_request(ParserState& state, const char* data, std::size_t size,
                                      RequestInfo& info, RequestSink& sink) const = 0;
    virtual ParseResult parse_response(ParserState& state, const char* data, std::size_t size,
                                       ResponseInfo& info, ResponseSink& sink) const = 0;

    // A request with several keys is sent as one fragment per server; the
    // fragment carries the keys listed, in their request order.
    virtual void write_fragment(const RequestView& request, std::span<const std::uint32_t> key_indices,
                                MessageWriter& out) const = 0;
    // One reply from the replies to the fragments (Forward) or to every server (Broadcast).
    virtual void merge_replies(const MergeInput& input, MessageWriter& out) const = 0;
    virtual void render_local(const RequestView& request, const LocalContext& context,
                              MessageWriter& out) const = 0;
    virtual void render_error(const RequestInfo& request, ForwardError error, std::string_view detail,
                              MessageWriter& out) const = 0;
    // What the core sends first on every new server connection (redis: AUTH,
    // SELECT, INFO server); returns how many replies the core must read (and
    // drop, errors too, as nutcracker does) before the first request's. Most
    // protocols write nothing.
    virtual std::uint32_t write_handshake(const PoolSettings& pool, MessageWriter& out) const = 0;
    // The reply to handshake request number `index` (from 0, in the order
    // write_handshake wrote them), whole and contiguous. Returns what it says
    // of the server's version, as a view into `reply` (the core copies it),
    // or "" (redis: the handshake ends with INFO server, whose
    // redis_version INFO and HELLO report).
    virtual std::string_view read_handshake_reply(std::uint32_t index, std::string_view reply) const = 0;
    // A request that empties a server (memcache: flush_all), sent to a server
    // rejoining a pool with `flush_on_rejoin`; its reply must not be an error.
    // Returns false, writing nothing, for a protocol whose servers hold data
    // rather than a cache (redis): such pools refuse the option.
    virtual bool write_flush(MessageWriter& out) const = 0;
    // What a pool with copies sends to invalidate `key` on a copy that
    // disagreed or may have missed a write (memcache: delete; redis: DEL):
    // one request, answered (never noreply), whose reply the core drops.
    virtual void write_invalidate(KeyRef key, MessageWriter& out) const = 0;
    // A Read hit found on a later copy is written back to each earlier
    // copy that answered a clean miss: write the request that stores it
    // there only if the key is absent (memcache add, redis SET NX, so a
    // newer write wins), expiring in `ttl_s` seconds. `reply` is the hit's
    // whole reply to one key, contiguous; the value may be referenced as
    // response(`fragment`, begin, end) at the same offsets. Returns false,
    // writing nothing, when the reply holds no single value.
    virtual bool write_backfill(KeyRef key, std::string_view reply, std::uint32_t fragment, std::uint32_t ttl_s,
                                MessageWriter& out) const = 0;
    // The primary answered WritePrimary `request` with `primary_reply`
    // (whole, contiguous): what the other live copies get. Written means the
    // plugin wrote the request they are each sent (answered, never
    // noreply); otherwise it writes nothing.
    virtual Followup write_followup(const RequestView& request, std::string_view primary_reply,
                                    MessageWriter& out) const = 0;
};

}  // namespace cachemux::abi
