// The streaming checks every protocol fuzz target shares (and the regression
// tests in tests/unit/plugins/*/fuzz_regression_test.cpp replay).
//
// A parser is driven exactly as the core drives it (core/proxy/client_connection.cpp
// parse_requests, core/proxy/server_connection.cpp parse_responses): the unparsed
// bytes of one connection are handed over as one contiguous chunk with a
// per-connection ParserState zeroed at the start of every message; after
// `Again` with bytes left over, those bytes come back at the front of the
// next chunk. What the ABI (core/include/cachemux/protocol_abi.hpp) and the
// core rely on is checked on every call, stricter than the core needs it:
//
//  - each call gets a fresh heap copy of exactly `size` bytes, so ASan
//    reports any read past the chunk; the unconsumed tail of a chunk is
//    poisoned once the call returns (the core may move it to a new mbuf), and
//    every chunk of a message is freed when the message is done, so a parser
//    that keeps a pointer to bytes it did not consume, or to an old message,
//    is caught;
//  - ParserState and SessionState live in allocations of exactly their size;
//  - consumed <= size; a finished message consumed > 0 bytes; an Error ends
//    the stream; the number of calls is bounded (no loop without progress);
//  - a key lies inside the bytes the call consumed (the core references it in
//    that mbuf: KeyCollector), fits in 32 bits, and a payload lies inside its
//    request and follows a key; a record is [begin, end) inside its response,
//    records are in order and do not overlap, and a record's key lies in
//    bytes this response consumed;
//  - a request routed Forward has a key (the core reads keys[0]) and a copy
//    rule (a pool with copies refuses one without); a noreply span lies in
//    a noreply request;
//  - parsing a stream in one chunk and in the fuzzer-chosen chunks gives the
//    same messages (info, keys, payloads, records, sizes) and the same end.
//
// What the core does next with a parsed message (render_local,
// write_fragment, merge_replies) is checked by the protocol profiles
// (memcache.hpp, redis.hpp beside this file) through the hooks below.
//
// A broken invariant calls violation(): the fuzz targets print it and abort
// (libFuzzer then saves the input); the regression tests install a handler
// that throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cachemux/protocol_abi.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CACHEMUX_FUZZ_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CACHEMUX_FUZZ_ASAN 1
#endif
#ifdef CACHEMUX_FUZZ_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace cachemux::fuzz {

// ------------------------------------------------------------ violations

using ViolationHandler = void (*)(const std::string& what);

// nullptr: print and abort (the fuzz targets). A handler may throw.
inline ViolationHandler& violation_handler() {
    static ViolationHandler handler = nullptr;
    return handler;
}

[[noreturn]] inline void violation(const std::string& what) {
    if (ViolationHandler h = violation_handler()) {
        h(what);
    }
    std::fprintf(stderr, "cachemux fuzz: broken invariant: %s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

#define CACHEMUX_FUZZ_CHECK(cond, what)                                                  \
    do {                                                                                 \
        if (!(cond)) ::cachemux::fuzz::violation(std::string(what) + " (" #cond ")");    \
    } while (0)

inline std::string escaped(std::string_view s, std::size_t limit = 200) {
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > limit) out += "...";
    return out;
}

// A decimal number as written, without leading zeros ("007" -> "7", "0" -> "0"),
// to compare numbers of any size with what a parser made of them.
inline std::string canonical_number(std::string_view digits) {
    std::size_t i = 0;
    while (i + 1 < digits.size() && digits[i] == '0') ++i;
    return std::string(digits.substr(i));
}

// ------------------------------------------------------------ memory

inline void poison(const void* p, std::size_t n) {
#ifdef CACHEMUX_FUZZ_ASAN
    if (n > 0) ASAN_POISON_MEMORY_REGION(p, n);
#else
    (void)p;
    (void)n;
#endif
}

inline void unpoison(const void* p, std::size_t n) {
#ifdef CACHEMUX_FUZZ_ASAN
    if (n > 0) ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
    (void)p;
    (void)n;
#endif
}

inline bool inside(const char* p, std::size_t len, const char* begin, std::size_t size) {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    auto b = reinterpret_cast<std::uintptr_t>(begin);
    return a >= b && len <= size && a - b <= size - len;
}

// The bytes of one parse call: a heap block of exactly `size` bytes.
class Chunk {
public:
    explicit Chunk(std::string_view bytes) : size_(bytes.size()), data_(new char[bytes.size()]) {
        std::memcpy(data_.get(), bytes.data(), size_);
    }
    ~Chunk() { unpoison(data_.get() + consumed_, size_ - consumed_); }
    Chunk(const Chunk&) = delete;
    Chunk& operator=(const Chunk&) = delete;

    const char* data() const { return data_.get(); }
    std::size_t size() const { return size_; }
    std::size_t consumed() const { return consumed_; }
    // After the call: what was not consumed must not be read again from here.
    void retire(std::size_t consumed) {
        consumed_ = consumed;
        poison(data_.get() + consumed_, size_ - consumed_);
    }
    bool holds_consumed(const char* p, std::size_t len) const { return inside(p, len, data(), consumed_); }

private:
    std::size_t size_;
    std::unique_ptr<char[]> data_;
    std::size_t consumed_ = 0;
};

// A zeroed block of exactly sizeof(T), so a parser writing past its 64
// bytes of state (or a protocol past its 16 bytes of session) is reported.
template <class T>
std::unique_ptr<T> zeroed() {
    auto p = std::make_unique<T>();
    std::memset(p.get(), 0, sizeof(T));
    return p;
}

// ------------------------------------------------------------ the input

// A fuzz input: a header that chooses how the stream is cut, then the stream.
//   byte 0: low 4 bits: S, the number of chunk-size bytes that follow (0-15);
//           high 4 bits: flags for the target (redis requests: bit 4 gives
//           the pool a redis_auth password);
//   bytes 1..S: chunk sizes, each byte b meaning b+1 bytes, used in turn and
//           cycled; S = 0 delivers the whole stream as one chunk;
//   the rest: the bytes the proxy reads from the client or server.
// A corpus file that is plain traffic only needs a "\0" in front.
struct Input {
    std::uint8_t flags = 0;
    std::vector<std::size_t> chunks;  // empty: one chunk
    std::string_view stream;
};

inline Input split_input(const std::uint8_t* data, std::size_t size) {
    Input in;
    if (size == 0) return in;
    std::size_t s = data[0] & 0x0f;
    in.flags = data[0] >> 4;
    std::size_t pos = 1;
    for (std::size_t i = 0; i < s && pos < size; ++i, ++pos) {
        in.chunks.push_back(static_cast<std::size_t>(data[pos]) + 1);
    }
    in.stream = std::string_view(reinterpret_cast<const char*>(data) + pos, size - pos);
    return in;
}

// ------------------------------------------------------------ results

enum class End {
    Clean,       // every byte belongs to a finished message
    Incomplete,  // the stream stops inside a message
    Error,       // the parser gave up on the stream (the core closes the connection)
    Closed,      // a request said close_after (quit): nothing after it is read
};

inline const char* end_name(End e) {
    switch (e) {
    case End::Clean: return "clean";
    case End::Incomplete: return "incomplete";
    case End::Error: return "error";
    case End::Closed: return "closed";
    }
    return "?";
}

struct RequestMessage {
    abi::RequestInfo info;
    std::vector<std::string> keys;
    std::vector<abi::KeyRef> key_refs;         // valid only while the message's chunks are
    std::vector<abi::KeyPayload> payloads;      // as the core keeps them: none, or one per key
    std::string bytes;
};

struct RecordCopy {
    std::uint64_t begin;
    std::uint64_t end;
    std::string key;
    bool miss = false;  // compared across chunkings with the rest
    bool operator==(const RecordCopy&) const = default;
};

struct ResponseMessage {
    abi::ResponseInfo info;
    std::vector<RecordCopy> records;
    std::vector<abi::Record> raw_records;  // keys valid only while the message's chunks are
    std::string bytes;
};

template <class Message>
struct Stream {
    std::vector<Message> messages;
    End end = End::Clean;
};

// Called for every finished message while its chunks (and so its keys) are alive.
using RequestHook = std::function<void(const RequestMessage&)>;
using ResponseHook = std::function<void(const ResponseMessage&)>;

// ------------------------------------------------------------ the sinks

class RequestRecorder final : public abi::RequestSink {
public:
    RequestRecorder(abi::SessionState& session, const abi::PoolSettings& pool) : session_(session), pool_(pool) {}

    void begin_call(const Chunk& chunk, RequestMessage& message) {
        chunk_ = &chunk;
        message_ = &message;
        keys_before_ = message.key_refs.size();
    }
    // After the call: every key it reported lies in what it consumed.
    void end_call() {
        for (std::size_t i = keys_before_; i < message_->key_refs.size(); ++i) {
            const abi::KeyRef& k = message_->key_refs[i];
            CACHEMUX_FUZZ_CHECK(k.len == 0 || chunk_->holds_consumed(k.data, k.len),
                                "a key reported by this call lies beyond the bytes it consumed: \"" +
                                    escaped(message_->keys[i]) + "\"");
        }
    }

    void key(const char* data, std::size_t len) override {
        CACHEMUX_FUZZ_CHECK(len <= UINT32_MAX, "key longer than 4 GiB");
        // A zero-length key (redis COMMAND's "") may point anywhere.
        CACHEMUX_FUZZ_CHECK(len == 0 || inside(data, len, chunk_->data(), chunk_->size()),
                            "a key outside the chunk being parsed");
        message_->key_refs.push_back({data, static_cast<std::uint32_t>(len)});
        message_->keys.emplace_back(len == 0 ? std::string() : std::string(data, len));
    }
    void key_payload(std::uint64_t begin, std::uint64_t size) override {
        CACHEMUX_FUZZ_CHECK(!message_->keys.empty(), "key_payload before any key");
        CACHEMUX_FUZZ_CHECK(begin <= UINT64_MAX - size, "key_payload range overflows");
        message_->payloads.resize(message_->keys.size());
        message_->payloads.back() = {begin, size};
    }
    std::uint64_t offset() const override { return message_->bytes.size(); }
    abi::SessionState& session() override { return session_; }
    const abi::PoolSettings& pool() const override { return pool_; }

private:
    abi::SessionState& session_;
    const abi::PoolSettings& pool_;
    const Chunk* chunk_ = nullptr;
    RequestMessage* message_ = nullptr;
    std::size_t keys_before_ = 0;
};

class ResponseRecorder final : public abi::ResponseSink {
public:
    void begin_call(const Chunk& chunk, ResponseMessage& message,
                    const std::vector<std::unique_ptr<Chunk>>& earlier) {
        chunk_ = &chunk;
        message_ = &message;
        earlier_ = &earlier;
        records_before_ = message.records.size();
    }
    void end_call() {
        const std::uint64_t size = message_->bytes.size() + chunk_->consumed();
        for (std::size_t i = records_before_; i < message_->raw_records.size(); ++i) {
            const abi::Record& r = message_->raw_records[i];
            CACHEMUX_FUZZ_CHECK(r.end <= size, "a record ends beyond the bytes the response consumed");
            if (r.key.len > 0) {
                bool found = chunk_->holds_consumed(r.key.data, r.key.len);
                for (const auto& c : *earlier_) found = found || c->holds_consumed(r.key.data, r.key.len);
                CACHEMUX_FUZZ_CHECK(found, "a record's key is not in bytes this response consumed");
                message_->records[i].key.assign(r.key.data, r.key.len);
            }
        }
    }

    void record(std::uint64_t begin, std::uint64_t end, abi::KeyRef key, bool miss) override {
        CACHEMUX_FUZZ_CHECK(begin <= end, "record with begin > end");
        CACHEMUX_FUZZ_CHECK(message_->records.empty() || message_->records.back().end <= begin,
                            "records out of order or overlapping");
        // The key is copied in end_call(), once it is known to be readable.
        message_->raw_records.push_back({begin, end, key, miss});
        message_->records.push_back({begin, end, {}, miss});
    }
    std::uint64_t offset() const override { return message_->bytes.size(); }

private:
    const Chunk* chunk_ = nullptr;
    ResponseMessage* message_ = nullptr;
    const std::vector<std::unique_ptr<Chunk>>* earlier_ = nullptr;
    std::size_t records_before_ = 0;
};

// ------------------------------------------------------------ the driver

// How the parse of one message is called, per direction.
struct RequestSide {
    using Message = RequestMessage;
    using Info = abi::RequestInfo;
    using Recorder = RequestRecorder;
    static abi::ParseResult parse(const abi::Protocol& p, abi::ParserState& st, const Chunk& c, Message& m,
                                  Recorder& r) {
        return p.parse_request(st, c.data(), c.size(), m.info, r);
    }
    static void begin(Recorder& r, const Chunk& c, Message& m, const std::vector<std::unique_ptr<Chunk>>&) {
        r.begin_call(c, m);
    }
    static bool close_after(const Message& m) { return m.info.close_after; }
};

struct ResponseSide {
    using Message = ResponseMessage;
    using Info = abi::ResponseInfo;
    using Recorder = ResponseRecorder;
    static abi::ParseResult parse(const abi::Protocol& p, abi::ParserState& st, const Chunk& c, Message& m,
                                  Recorder& r) {
        return p.parse_response(st, c.data(), c.size(), m.info, r);
    }
    static void begin(Recorder& r, const Chunk& c, Message& m, const std::vector<std::unique_ptr<Chunk>>& earlier) {
        r.begin_call(c, m, earlier);
    }
    static bool close_after(const Message&) { return false; }
};

inline void check_finished(const RequestMessage& m) {
    CACHEMUX_FUZZ_CHECK(m.info.route != abi::Route::Forward || !m.keys.empty(),
                        "a request routed Forward without a key (the core reads keys[0])");
    CACHEMUX_FUZZ_CHECK(m.info.route != abi::Route::Forward || m.info.copies != abi::CopyRule::Unclassified,
                        "a request routed Forward without a copy rule (a pool with copies refuses it)");
    CACHEMUX_FUZZ_CHECK(m.info.noreply_len == 0 || m.info.noreply, "a noreply span in a request that is not noreply");
    CACHEMUX_FUZZ_CHECK(m.info.noreply_at + std::uint64_t{m.info.noreply_len} <= m.bytes.size(),
                        "a noreply span beyond the request's bytes");
    CACHEMUX_FUZZ_CHECK(m.payloads.size() <= m.keys.size(), "more payloads than keys");
    for (const abi::KeyPayload& p : m.payloads) {
        CACHEMUX_FUZZ_CHECK(p.begin + p.size <= m.bytes.size(), "a key payload beyond the request's bytes");
    }
}

inline void check_finished(const ResponseMessage& m) {
    CACHEMUX_FUZZ_CHECK(!m.info.forward_failed, "a parsed response says forward_failed (only the core may)");
    for (const RecordCopy& r : m.records) {
        CACHEMUX_FUZZ_CHECK(r.end <= m.bytes.size(), "a record beyond the response's bytes");
    }
}

// Parses `stream` cut into `chunks` (cycled; empty: one chunk) as the core
// would, checking every call. `hook` sees each finished message.
template <class Side, class Hook, class... RecorderArgs>
Stream<typename Side::Message> drive(const abi::Protocol& protocol, std::string_view stream,
                                     const std::vector<std::size_t>& chunks, const Hook& hook,
                                     RecorderArgs&... recorder_args) {
    using Message = typename Side::Message;
    Stream<Message> out;
    typename Side::Recorder recorder(recorder_args...);
    auto state = zeroed<abi::ParserState>();
    std::vector<std::unique_ptr<Chunk>> held;  // the chunks of the message being parsed
    Message message;
    std::string pending;  // read, not consumed
    std::size_t fed = 0;
    std::size_t next_chunk = 0;
    std::size_t calls = 0;
    const std::size_t max_calls = 2 * stream.size() + 64;

    auto finish_message = [&]() {
        check_finished(message);
        if (hook) hook(message);
        out.messages.push_back(std::move(message));
        message = Message{};
        held.clear();
        std::memset(state.get(), 0, sizeof(abi::ParserState));  // the core zeroes it per message
    };

    while (fed < stream.size()) {
        std::size_t n = chunks.empty() ? stream.size() : chunks[next_chunk++ % chunks.size()];
        n = std::min(n, stream.size() - fed);
        pending.append(stream.substr(fed, n));
        fed += n;
        while (!pending.empty()) {
            CACHEMUX_FUZZ_CHECK(++calls <= max_calls, "too many parse calls: a loop without progress");
            auto chunk = std::make_unique<Chunk>(pending);
            Side::begin(recorder, *chunk, message, held);
            abi::ParseResult r = Side::parse(protocol, *state, *chunk, message, recorder);
            CACHEMUX_FUZZ_CHECK(r.consumed <= chunk->size(), "consumed more than the chunk holds");
            chunk->retire(r.status == abi::ParseStatus::Error ? 0 : r.consumed);
            if (r.status == abi::ParseStatus::Error) {
                out.end = End::Error;  // the core closes the connection: nothing more is parsed
                return out;
            }
            CACHEMUX_FUZZ_CHECK(r.status == abi::ParseStatus::Again || r.status == abi::ParseStatus::Done,
                                "unknown ParseStatus");
            recorder.end_call();
            message.bytes.append(pending, 0, r.consumed);
            pending.erase(0, r.consumed);
            held.push_back(std::move(chunk));
            if (r.status == abi::ParseStatus::Again) {
                break;  // wait for more bytes
            }
            CACHEMUX_FUZZ_CHECK(!message.bytes.empty(), "a finished message of 0 bytes");
            bool last = Side::close_after(message);
            finish_message();
            if (last) {
                out.end = End::Closed;
                return out;
            }
        }
    }
    out.end = pending.empty() && message.bytes.empty() ? End::Clean : End::Incomplete;
    return out;
}

// ------------------------------------------------------------ differential

inline bool same_info(const abi::RequestInfo& a, const abi::RequestInfo& b) {
    return a.command == b.command && a.route == b.route && a.noreply == b.noreply &&
           a.close_after == b.close_after && a.local_reply == b.local_reply && a.copies == b.copies &&
           a.noreply_at == b.noreply_at && a.noreply_len == b.noreply_len;
}

inline bool same_info(const abi::ResponseInfo& a, const abi::ResponseInfo& b) {
    return a.is_error == b.is_error && a.forward_failed == b.forward_failed && a.is_integer == b.is_integer &&
           a.integer == b.integer && a.is_miss == b.is_miss;
}

inline bool same_payloads(const std::vector<abi::KeyPayload>& a, const std::vector<abi::KeyPayload>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].begin != b[i].begin || a[i].size != b[i].size) return false;
    }
    return true;
}

inline std::string differs(const RequestMessage& a, const RequestMessage& b) {
    if (a.bytes != b.bytes) return "bytes \"" + escaped(a.bytes) + "\" vs \"" + escaped(b.bytes) + "\"";
    if (!same_info(a.info, b.info)) return "request info";
    if (a.keys != b.keys) return "keys";
    if (!same_payloads(a.payloads, b.payloads)) return "key payloads";
    return "";
}

inline std::string differs(const ResponseMessage& a, const ResponseMessage& b) {
    if (a.bytes != b.bytes) return "bytes \"" + escaped(a.bytes) + "\" vs \"" + escaped(b.bytes) + "\"";
    if (!same_info(a.info, b.info)) return "response info";
    if (a.records != b.records) return "records";
    return "";
}

// The same stream parsed whole and parsed in chunks must read the same.
template <class Message>
void check_same(const Stream<Message>& whole, const Stream<Message>& chunked) {
    std::size_t n = std::min(whole.messages.size(), chunked.messages.size());
    for (std::size_t i = 0; i < n; ++i) {
        std::string d = differs(whole.messages[i], chunked.messages[i]);
        CACHEMUX_FUZZ_CHECK(d.empty(), "message " + std::to_string(i) +
                                           " parses differently in one chunk and in several: " + d);
    }
    CACHEMUX_FUZZ_CHECK(whole.messages.size() == chunked.messages.size() && whole.end == chunked.end,
                        "one chunk gives " + std::to_string(whole.messages.size()) + " messages, then " +
                            end_name(whole.end) + "; several chunks give " +
                            std::to_string(chunked.messages.size()) + ", then " + end_name(chunked.end));
}

// ------------------------------------------------------------ writers

// A MessageWriter that builds the message as a string, checking every
// reference against what the core would have (RequestView keys and payloads
// of `request_bytes`, fragment replies).
class StringWriter final : public abi::MessageWriter {
public:
    StringWriter() = default;
    StringWriter(const abi::RequestView* request, std::string_view request_bytes)
        : request_(request), request_bytes_(request_bytes) {}
    StringWriter(std::span<const std::string_view> replies) : replies_(replies) {}

    void literal(std::string_view bytes) override { out += bytes; }
    void copy(std::string_view bytes) override { out += bytes; }
    void key(std::uint32_t index) override {
        CACHEMUX_FUZZ_CHECK(request_ != nullptr && index < request_->keys.size(), "MessageWriter::key out of range");
        out += request_->keys[index].view();
    }
    void key_payload(std::uint32_t index) override {
        CACHEMUX_FUZZ_CHECK(request_ != nullptr && index < request_->keys.size(),
                            "MessageWriter::key_payload out of range");
        if (index < request_->payloads.size()) {  // the core writes nothing otherwise
            const abi::KeyPayload& p = request_->payloads[index];
            CACHEMUX_FUZZ_CHECK(p.begin + p.size <= request_bytes_.size(), "payload beyond the request");
            out += request_bytes_.substr(p.begin, p.size);
        }
    }
    void response(std::uint32_t fragment, std::uint64_t begin, std::uint64_t end) override {
        CACHEMUX_FUZZ_CHECK(fragment < replies_.size(), "MessageWriter::response: no such fragment");
        CACHEMUX_FUZZ_CHECK(begin <= end && end <= replies_[fragment].size(),
                            "MessageWriter::response: range beyond the fragment's reply");
        out += replies_[fragment].substr(begin, end - begin);
    }
    void request(std::uint64_t begin, std::uint64_t end) override {
        CACHEMUX_FUZZ_CHECK(begin <= end && end <= request_bytes_.size(), "MessageWriter::request: beyond the request");
        out += request_bytes_.substr(begin, end - begin);
    }

    std::string out;

private:
    const abi::RequestView* request_ = nullptr;
    std::string_view request_bytes_;
    std::span<const std::string_view> replies_;
};

// The client a local reply is for, as the core keeps it (ClientConnection).
class FakeClientSession final : public abi::ClientSession {
public:
    explicit FakeClientSession(abi::SessionState& state) : state_(state) {}
    std::uint64_t id() const override { return 7; }
    std::string_view name() const override { return name_; }
    void set_name(std::string_view name) override { name_.assign(name); }
    abi::SessionState& state() override { return state_; }
    std::string_view peer_address() override { return "127.0.0.1:40000"; }
    std::string_view local_address() override { return "127.0.0.1:22121"; }
    int fd() const override { return 9; }
    std::int64_t connected_at() const override { return 0; }

private:
    abi::SessionState& state_;
    std::string name_;
};

// What render_local sees in `pool` for `client`: one server that said it
// runs redis 7.0.15 and one that has not answered.
inline abi::LocalContext fake_local_context(const abi::PoolSettings& pool, abi::ClientSession& client) {
    static const abi::ServerFacts kServers[] = {{"s1", "7.0.15"}, {"s2", ""}};
    return abi::LocalContext{"0.1.0", 0, "pool", pool, 22121, kServers, 1, client};
}

// `bytes` must parse as exactly one response, whole. Returns it.
inline ResponseMessage one_response(const abi::Protocol& protocol, std::string_view bytes, const std::string& what) {
    Stream<ResponseMessage> s = drive<ResponseSide>(protocol, bytes, {}, ResponseHook{});
    CACHEMUX_FUZZ_CHECK(s.messages.size() == 1 && s.end == End::Clean,
                        what + " is not one well-formed response: \"" + escaped(bytes) + "\" (" +
                            std::to_string(s.messages.size()) + " messages, then " + end_name(s.end) + ")");
    ResponseMessage m = std::move(s.messages.front());
    m.raw_records.clear();  // their keys pointed into chunks that are gone
    return m;
}

// `bytes` must parse as exactly one request, whole. Returns it.
inline RequestMessage one_request(const abi::Protocol& protocol, std::string_view bytes, const std::string& what) {
    auto session = zeroed<abi::SessionState>();
    abi::PoolSettings pool{};
    Stream<RequestMessage> s = drive<RequestSide>(protocol, bytes, {}, RequestHook{}, *session, pool);
    CACHEMUX_FUZZ_CHECK(s.messages.size() == 1 && s.end == End::Clean,
                        what + " is not one well-formed request: \"" + escaped(bytes) + "\" (" +
                            std::to_string(s.messages.size()) + " messages, then " + end_name(s.end) + ")");
    RequestMessage m = std::move(s.messages.front());
    m.key_refs.clear();  // its chunks are gone
    return m;
}

// ------------------------------------------------------------ consumers

// A pool with copies sends a noreply request without its noreply span, to
// hear every copy's answer: what is left must be the same command, answered.
inline void check_without_noreply(const abi::Protocol& protocol, const RequestMessage& m) {
    std::string answered = m.bytes;
    answered.erase(m.info.noreply_at, m.info.noreply_len);
    RequestMessage a = one_request(protocol, answered, "a request without its noreply span");
    CACHEMUX_FUZZ_CHECK(a.info.route == m.info.route && a.info.command == m.info.command &&
                            a.info.copies == m.info.copies && !a.info.noreply && a.keys == m.keys,
                        "without its noreply span, \"" + escaped(m.bytes) + "\" is not the same command answered: \"" +
                            escaped(answered) + "\"");
}

// What the core does with a finished request, checked: a Local request's
// reply (when `reply_is_response` says servers could send it) parses as one
// response; a Forward request with a noreply span parses, without it, as the
// same request answered; a Forward request with several keys is split as the
// core splits it, and each fragment parses back as one Forward request
// carrying exactly its keys (and their payloads).
inline void check_request_consumers(const abi::Protocol& protocol, const RequestMessage& m,
                                    bool (*reply_is_response)(std::uint16_t local_reply),
                                    const abi::LocalContext& context) {
    abi::RequestView view{m.info, m.key_refs, m.payloads};
    if (m.info.route == abi::Route::Local) {
        StringWriter w(&view, m.bytes);
        protocol.render_local(view, context, w);
        if (reply_is_response(m.info.local_reply)) {
            one_response(protocol, w.out, "the local reply " + std::to_string(m.info.local_reply));
        }
        return;
    }
    if (m.info.route == abi::Route::Forward && m.info.noreply_len > 0) {
        check_without_noreply(protocol, m);
    }
    if (m.info.route != abi::Route::Forward || m.keys.size() < 2) {
        return;
    }
    // Three servers; a key's server from its bytes. Fragments are numbered in
    // the order their first key appears, as ClientConnection::fragment does.
    std::vector<int> fragment_of_server(3, -1);
    std::vector<std::vector<std::uint32_t>> fragments;
    for (std::uint32_t i = 0; i < m.keys.size(); ++i) {
        std::size_t server = std::hash<std::string_view>{}(m.keys[i]) % 3;
        if (fragment_of_server[server] < 0) {
            fragment_of_server[server] = static_cast<int>(fragments.size());
            fragments.emplace_back();
        }
        fragments[static_cast<std::size_t>(fragment_of_server[server])].push_back(i);
    }
    for (const auto& indices : fragments) {
        StringWriter w(&view, m.bytes);
        protocol.write_fragment(view, indices, w);
        RequestMessage f = one_request(protocol, w.out, "a fragment");
        CACHEMUX_FUZZ_CHECK(f.info.route == abi::Route::Forward && f.info.command == m.info.command,
                            "a fragment does not parse back as the same forwarded command: \"" + escaped(w.out) + "\"");
        CACHEMUX_FUZZ_CHECK(f.keys.size() == indices.size(), "a fragment parses back with other keys: \"" +
                                                                 escaped(w.out) + "\"");
        for (std::size_t j = 0; j < indices.size(); ++j) {
            CACHEMUX_FUZZ_CHECK(f.keys[j] == m.keys[indices[j]],
                                "a fragment parses back with other keys: \"" + escaped(w.out) + "\"");
            if (indices[j] < m.payloads.size()) {
                const abi::KeyPayload& p = m.payloads[indices[j]];
                CACHEMUX_FUZZ_CHECK(j < f.payloads.size() &&
                                        f.bytes.substr(f.payloads[j].begin, f.payloads[j].size) ==
                                            m.bytes.substr(p.begin, p.size),
                                    "a fragment parses back with other payloads: \"" + escaped(w.out) + "\"");
            }
        }
    }
}

// ------------------------------------------------------------ entry points

// One request-parser fuzz input: the stream in the chosen chunks and in one
// chunk, compared; the consumers checked on the one-chunk parse.
inline void fuzz_requests(const abi::Protocol& protocol, const Input& in, const abi::PoolSettings& pool,
                          bool (*reply_is_response)(std::uint16_t local_reply)) {
    // Local replies may change the client's session (AUTH, RESET), and the
    // core renders each before it parses the next request: so both runs
    // render them, each on its own session.
    auto session = zeroed<abi::SessionState>();
    FakeClientSession client(*session);
    abi::LocalContext context = fake_local_context(pool, client);
    RequestHook consumers = [&](const RequestMessage& m) {
        check_request_consumers(protocol, m, reply_is_response, context);
    };
    Stream<RequestMessage> whole = drive<RequestSide>(protocol, in.stream, {}, consumers, *session, pool);
    if (in.chunks.empty()) return;
    auto session2 = zeroed<abi::SessionState>();
    FakeClientSession client2(*session2);
    abi::LocalContext context2 = fake_local_context(pool, client2);
    RequestHook render = [&](const RequestMessage& m) {
        if (m.info.route != abi::Route::Local) return;
        abi::RequestView view{m.info, m.key_refs, m.payloads};
        StringWriter w(&view, m.bytes);
        protocol.render_local(view, context2, w);
    };
    Stream<RequestMessage> chunked = drive<RequestSide>(protocol, in.stream, in.chunks, render, *session2, pool);
    check_same(whole, chunked);
}

inline void fuzz_responses(const abi::Protocol& protocol, const Input& in, const ResponseHook& consumers) {
    Stream<ResponseMessage> whole = drive<ResponseSide>(protocol, in.stream, {}, consumers);
    if (in.chunks.empty()) return;
    Stream<ResponseMessage> chunked = drive<ResponseSide>(protocol, in.stream, in.chunks, ResponseHook{});
    check_same(whole, chunked);
}

}  // namespace cachemux::fuzz
