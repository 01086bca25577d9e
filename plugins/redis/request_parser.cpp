// Streaming parser for redis requests: RESP arrays of bulk strings, and the
// inline form ("PING\r\n") redis accepts from telnet users.
//
// The parser reads whole only the arguments it must look at (the command
// name, keys, EVAL's numkeys, CONFIG's subcommand, SET's 3-byte options
// (GET changes how a pool with copies sends it), every argument of a
// command the proxy answers itself, the arguments an error reply quotes); a
// value is consumed piecewise wherever the chunk ends, so values are never
// moved. A request the proxy cannot forward (unknown command, wrong argument
// count, no AUTH yet) is read to its end and answered by the proxy, and the
// connection stays usable; only broken RESP framing closes it.
#include <cstring>
#include <string_view>

#include "command_table.hpp"
#include "redis.hpp"

namespace cachemux::redis {

namespace {

enum Phase : std::uint8_t { kStart = 0, kBulkLen, kBulkData, kBulkSkip, kBulkEnd };

// Redis's own limits: more arguments or a longer bulk is a protocol error.
constexpr std::int64_t kMaxArgs = 1024 * 1024;
constexpr std::int64_t kMaxBulk = 512LL * 1024 * 1024;
// Arguments an unknown-command error quotes are read whole up to this size.
constexpr std::int64_t kMaxQuoted = 256;

struct State {
    std::uint8_t phase;
    bool unknown;          // not a command the proxy forwards
    bool only_first_key;   // a multi-key command that is not split: route by the first key
    bool config_get;       // CONFIG GET, the one CONFIG subcommand that goes to a server
    bool set_get;          // SET ... GET: replies the old value
    std::uint16_t local;   // the proxy's reply, once decided
    std::uint32_t argc;
    std::uint32_t argi;    // the argument being read
    std::uint32_t keys;    // keys reported
    std::uint32_t quoted;  // arguments reported for an unknown command's error
    const Command* command;
    std::int64_t numkeys;  // EVAL/EVALSHA
    bool numkeys_bad;      // not a number
    std::uint64_t remaining;
    std::uint64_t bulk_len;
};
static_assert(sizeof(State) <= abi::kParserStateSize);

enum class Role : std::uint8_t {
    Command,
    Key,
    Value,
    NumKeys,
    Argument,    // of a command the proxy answers: reported whole, for proxy_commands.cpp
    Subcommand,  // CONFIG's
    Option,      // SET's, after the value
    Quoted,
    Skip,
};

bool is(const Command* c, std::uint16_t id) { return c != nullptr && c->id == id; }

Role role_of(const State& s) {
    if (s.argi == 0) {
        return Role::Command;
    }
    if (s.unknown) {
        return Role::Quoted;
    }
    if (s.local != kNoLocalReply || s.command == nullptr) {
        return Role::Skip;
    }
    const Command& c = *s.command;
    switch (c.keys) {
    case KeyRule::Proxy:
        return Role::Argument;
    case KeyRule::OneServer:
        return s.argi == 1 && is(&c, cmd::config) ? Role::Subcommand : Role::Skip;
    case KeyRule::First:
        if (s.argi == 1) return Role::Key;
        return s.argi >= 3 && is(&c, cmd::set) ? Role::Option : Role::Skip;
    case KeyRule::All:
        return s.argi == 1 || !s.only_first_key ? Role::Key : Role::Skip;
    case KeyRule::Pairs:
        if (s.argi % 2 == 1) return s.argi == 1 || !s.only_first_key ? Role::Key : Role::Skip;
        return s.only_first_key ? Role::Skip : Role::Value;
    case KeyRule::Eval:
        if (s.argi == 2) return Role::NumKeys;
        return s.argi == 3 && s.numkeys > 0 ? Role::Key : Role::Skip;
    }
    return Role::Skip;
}

bool read_whole(Role role, std::uint64_t len) {
    switch (role) {
    case Role::Value:
    case Role::Skip:
        return false;
    case Role::Quoted:
        return static_cast<std::int64_t>(len) <= kMaxQuoted;
    case Role::Option:
        return len == 3;  // only "get" matters; EX's number and the rest are skipped
    default:
        return true;
    }
}

// redis's NO_AUTH commands: allowed before a good AUTH.
bool allowed_before_auth(const Command& c) {
    return is(&c, cmd::auth) || is(&c, cmd::hello) || is(&c, cmd::quit) || is(&c, cmd::reset);
}

bool parse_int(std::string_view t, std::int64_t* out) {
    bool negative = !t.empty() && t[0] == '-';
    if (negative) t.remove_prefix(1);
    if (t.empty() || t.size() > 18) return false;
    std::int64_t v = 0;
    for (char ch : t) {
        if (ch < '0' || ch > '9') return false;
        v = v * 10 + (ch - '0');
    }
    *out = negative ? -v : v;
    return true;
}

// An argument read whole.
void on_argument(State& s, std::string_view arg, abi::RequestInfo& info, abi::RequestSink& sink) {
    switch (role_of(s)) {
    case Role::Command: {
        s.command = find_command(arg);
        if (s.command == nullptr) {
            s.unknown = true;
            sink.key(arg.data(), arg.size());  // quoted by the error reply
            s.quoted = 1;
            return;
        }
        info.command = s.command->id;
        // Redis's order: an unknown command, then the argument count, then AUTH.
        // MSET-like commands also need whole key/value pairs.
        bool pairs_broken = s.command->keys == KeyRule::Pairs && s.argc % 2 == 0;
        if (!arity_ok(*s.command, s.argc) || pairs_broken) {
            s.local = kReplyArity;
        } else if (!sink.pool().auth.empty() && !session_of(sink.session()).authenticated &&
                   !allowed_before_auth(*s.command)) {
            s.local = kReplyNoAuth;
        } else if (s.command->keys == KeyRule::Proxy) {
            sink.key(arg.data(), arg.size());  // the name as the client wrote it
        }
        s.only_first_key = s.command->merge == Merge::None;
        return;
    }
    case Role::Key:
        sink.key(arg.data(), arg.size());
        ++s.keys;
        return;
    case Role::NumKeys:
        if (!parse_int(arg, &s.numkeys)) {
            s.numkeys = 0;
            s.numkeys_bad = true;
        }
        return;
    case Role::Argument:
        sink.key(arg.data(), arg.size());
        return;
    case Role::Subcommand:
        if (equals_ignoring_case(arg, "get")) {
            s.config_get = true;
        } else {
            sink.key(arg.data(), arg.size());  // quoted by the error reply
            s.local = kReplySubcommand;
        }
        return;
    case Role::Option:
        // A "get" where EX's number belongs is an error from redis, so
        // taking it for the option only sends that error the safe way.
        s.set_get |= equals_ignoring_case(arg, "get");
        return;
    case Role::Quoted:
        if (s.quoted == s.argi) {  // only while every argument before was quoted
            sink.key(arg.data(), arg.size());
            ++s.quoted;
        }
        return;
    case Role::Value:
    case Role::Skip:
        return;
    }
}

// How a pool with copies sends a forwarded command: its row's rule, except
// that SET ... GET replies with the old value, as GETSET does.
abi::CopyRule copy_rule(const State& s) {
    return s.set_get ? abi::CopyRule::WritePrimary : s.command->copies;
}

// Every argument is read: decide the route.
void finish(State& s, abi::RequestInfo& info, abi::RequestSink& sink) {
    info.route = abi::Route::Local;
    if (s.unknown) {
        info.local_reply = kReplyUnknown;
    } else if (s.local != kNoLocalReply) {
        info.local_reply = s.local;
    } else if (s.command == nullptr) {
        info.local_reply = kReplyNothing;
    } else if (s.command->keys == KeyRule::Proxy) {
        info.local_reply = kReplyCommand;
        // QUIT: +OK as redis answers (nutcracker closes without a reply),
        // then close once it is written.
        info.close_after = is(s.command, cmd::quit);
    } else if (s.command->keys == KeyRule::OneServer) {
        if (is(s.command, cmd::config) && s.argc < 3) {
            info.local_reply = kReplyConfigGetArity;
        } else {
            // COMMAND, LOLWUT, CONFIG GET: keyless but forwarded; nutcracker
            // hashes the empty key, which lands where hash 0 does.
            sink.key("", 0);
            info.route = abi::Route::Forward;
            info.local_reply = kNoLocalReply;
            info.copies = copy_rule(s);
        }
    } else if (s.command->keys == KeyRule::Eval && s.numkeys_bad) {
        info.local_reply = kReplyNotInteger;  // redis's checks, in redis's order
    } else if (s.command->keys == KeyRule::Eval && s.numkeys > static_cast<std::int64_t>(s.argc) - 3) {
        info.local_reply = kReplyKeysGreater;
    } else if (s.command->keys == KeyRule::Eval && s.numkeys < 0) {
        info.local_reply = kReplyKeysNegative;
    } else if (s.keys == 0) {
        info.local_reply = kReplyNoKeys;
    } else {
        info.route = abi::Route::Forward;
        info.local_reply = kNoLocalReply;
        info.copies = copy_rule(s);
    }
}

enum class Line { Ok, Incomplete, Bad };

// "<prefix><integer>\r\n" at data[pos]; on Ok, *next is past the line.
Line read_number_line(const char* data, std::size_t pos, std::size_t size, std::int64_t* value, std::size_t* next) {
    const char* nl = static_cast<const char*>(std::memchr(data + pos, '\n', size - pos));
    if (nl == nullptr) {
        return size - pos > 32 ? Line::Bad : Line::Incomplete;
    }
    std::size_t end = static_cast<std::size_t>(nl - data);
    if (end < pos + 2 || data[end - 1] != '\r') {
        return Line::Bad;
    }
    if (!parse_int({data + pos + 1, end - 1 - (pos + 1)}, value)) {
        return Line::Bad;
    }
    *next = end + 1;
    return Line::Ok;
}

// The inline form: one line of space-separated arguments.
abi::ParseResult parse_inline(State& s, const char* data, std::size_t size, abi::RequestInfo& info,
                              abi::RequestSink& sink) {
    const char* nl = static_cast<const char*>(std::memchr(data, '\n', size));
    if (nl == nullptr) {
        return {abi::ParseStatus::Again, 0};  // the line must arrive whole
    }
    std::size_t line_end = static_cast<std::size_t>(nl - data);
    std::size_t len = line_end > 0 && data[line_end - 1] == '\r' ? line_end - 1 : line_end;
    auto is_space = [](char ch) { return ch == ' ' || ch == '\t'; };
    // Count the arguments first: the arity check needs argc.
    std::uint32_t argc = 0;
    for (std::size_t i = 0; i < len;) {
        while (i < len && is_space(data[i])) ++i;
        if (i == len) break;
        ++argc;
        while (i < len && !is_space(data[i])) ++i;
    }
    s.argc = argc;
    s.argi = 0;
    for (std::size_t i = 0; i < len;) {
        while (i < len && is_space(data[i])) ++i;
        if (i == len) break;
        std::size_t start = i;
        while (i < len && !is_space(data[i])) ++i;
        std::string_view arg(data + start, i - start);
        if (role_of(s) == Role::Value) {
            sink.key_payload(sink.offset() + start, arg.size());
        } else {
            on_argument(s, arg, info, sink);
        }
        ++s.argi;
    }
    finish(s, info, sink);
    return {abi::ParseStatus::Done, line_end + 1};
}

}  // namespace

abi::ParseResult parse_request(abi::ParserState& raw, const char* data, std::size_t size, abi::RequestInfo& info,
                               abi::RequestSink& sink) {
    State s;
    std::memcpy(&s, raw.bytes, sizeof(s));
    std::size_t pos = 0;
    auto again = [&]() {
        std::memcpy(raw.bytes, &s, sizeof(s));
        return abi::ParseResult{abi::ParseStatus::Again, pos};
    };
    auto error = [&]() { return abi::ParseResult{abi::ParseStatus::Error, pos}; };
    auto next_argument = [&]() -> bool {  // true when the request is complete
        if (++s.argi < s.argc) {
            s.phase = kBulkLen;
            return false;
        }
        finish(s, info, sink);
        return true;
    };

    while (pos < size) {
        switch (s.phase) {
        case kStart: {
            if (data[pos] != '*') {
                return parse_inline(s, data, size, info, sink);
            }
            std::int64_t n = 0;
            std::size_t next = 0;
            Line line = read_number_line(data, pos, size, &n, &next);
            if (line == Line::Incomplete) return again();
            if (line == Line::Bad || n > kMaxArgs) return error();
            pos = next;
            if (n <= 0) {  // "*0", "*-1": redis reads them and answers nothing
                finish(s, info, sink);
                return {abi::ParseStatus::Done, pos};
            }
            s.argc = static_cast<std::uint32_t>(n);
            s.argi = 0;
            s.phase = kBulkLen;
            break;
        }
        case kBulkLen: {
            if (data[pos] != '$') return error();
            std::int64_t n = 0;
            std::size_t next = 0;
            Line line = read_number_line(data, pos, size, &n, &next);
            if (line == Line::Incomplete) return again();
            if (line == Line::Bad || n < 0 || n > kMaxBulk) return error();
            pos = next;
            s.bulk_len = static_cast<std::uint64_t>(n);
            Role role = role_of(s);
            if (read_whole(role, s.bulk_len)) {
                s.phase = kBulkData;
            } else {
                if (role == Role::Value) {
                    sink.key_payload(sink.offset() + pos, s.bulk_len);
                }
                s.remaining = s.bulk_len;
                s.phase = kBulkSkip;
            }
            break;
        }
        case kBulkData:
            if (size - pos < s.bulk_len + 2) return again();  // read whole: wait for all of it
            if (data[pos + s.bulk_len] != '\r' || data[pos + s.bulk_len + 1] != '\n') return error();
            on_argument(s, {data + pos, static_cast<std::size_t>(s.bulk_len)}, info, sink);
            pos += s.bulk_len + 2;
            if (next_argument()) return {abi::ParseStatus::Done, pos};
            break;
        case kBulkSkip: {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, size - pos));
            pos += n;
            s.remaining -= n;
            if (s.remaining == 0) {
                s.phase = kBulkEnd;
                s.remaining = 2;
            }
            break;
        }
        case kBulkEnd:
            if (data[pos] != (s.remaining == 2 ? '\r' : '\n')) return error();
            ++pos;
            if (--s.remaining == 0 && next_argument()) return {abi::ParseStatus::Done, pos};
            break;
        }
    }
    return again();
}

}  // namespace cachemux::redis
