// Streaming parser for memcached ASCII requests.
//
// A request is a command line of space-separated tokens ended by "\n" (a
// "\r" before it is dropped), followed for storage commands by a data block
// of the declared length and "\r\n". The parser consumes whole tokens; a
// token cut by the end of a chunk is left for the next call. It validates
// each request as memcached does, so a bad request gets memcached's reply
// from the proxy and is never forwarded.
#include <cstdint>
#include <cstring>

#include "memcache.hpp"

namespace cachemux::memcache {

namespace {

enum Phase : std::uint8_t { kLine = 0, kData, kDataEnd };

struct State {
    std::uint8_t phase;
    std::uint8_t data_end_seen;  // bytes of the data block's "\r\n" seen
    bool bad_chunk;
    bool bad_key;       // a key longer than 250 bytes
    bool bad_number;    // a storage field that is not a number
    bool bad_delta;     // incr/decr delta not a number
    bool bad_exptime;   // touch exptime not a number
    bool last_noreply;  // the last token seen was "noreply"
    bool hold_zero;     // delete's second argument is "0"
    bool have_command;  // the first token has been read
    bool noreply_far;   // the last "noreply" began beyond what noreply_at can say
    std::uint16_t command;
    std::uint32_t args;  // tokens after the command
    std::uint32_t noreply_at;  // offset in the request of the blank before the last "noreply"
    std::uint32_t cas_at;      // cas: offset of the blank before its cas unique (0: beyond 32 bits)
    std::int64_t value_length;
    std::uint64_t remaining;  // data bytes still to consume
};
static_assert(sizeof(State) <= abi::kParserStateSize);
static_assert(std::is_trivially_copyable_v<State>);

struct CommandName {
    std::string_view name;
    Command command;
};
constexpr CommandName kCommands[] = {
    {"get", kGet},         {"gets", kGets},       {"set", kSet},         {"add", kAdd},
    {"replace", kReplace}, {"append", kAppend},   {"prepend", kPrepend}, {"cas", kCas},
    {"incr", kIncr},       {"decr", kDecr},       {"touch", kTouch},     {"delete", kDelete},
    {"flush_all", kFlushAll}, {"verbosity", kVerbosity}, {"version", kVersion}, {"stats", kStats},
    {"quit", kQuit},
};

Command lookup(std::string_view token) {
    for (const CommandName& c : kCommands) {
        if (c.name == token) {
            return c.command;
        }
    }
    return kUnknown;
}

// memcached's safe_strto* accept only a whole-token decimal number.
bool parse_unsigned(std::string_view t, std::uint64_t max, std::uint64_t* out) {
    if (t.empty() || t.size() > 20) {
        return false;
    }
    std::uint64_t v = 0;
    for (char ch : t) {
        if (ch < '0' || ch > '9') {
            return false;
        }
        std::uint64_t digit = static_cast<std::uint64_t>(ch - '0');
        if (v > (max - digit) / 10) {
            return false;
        }
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

bool parse_signed32(std::string_view t, std::int64_t* out) {
    bool negative = !t.empty() && t[0] == '-';
    std::uint64_t v = 0;
    if (!parse_unsigned(negative ? t.substr(1) : t, negative ? 2147483648ULL : 2147483647ULL, &v)) {
        return false;
    }
    *out = negative ? -static_cast<std::int64_t>(v) : static_cast<std::int64_t>(v);
    return true;
}

// `at`: the token's offset in the request.
void on_token(State& s, std::string_view t, std::uint64_t at, abi::RequestSink& sink) {
    if (!s.have_command) {
        s.have_command = true;
        s.command = lookup(t);
        return;
    }
    std::uint32_t i = ++s.args;  // 1-based argument index
    s.last_noreply = t == "noreply";
    if (s.last_noreply) {
        // An argument always follows a blank (the tokenizer skips blanks,
        // and a token ends at one), so `at - 1` is inside the command line.
        s.noreply_far = at - 1 > UINT32_MAX;
        s.noreply_at = static_cast<std::uint32_t>(at - 1);
    }
    std::uint64_t u = 0;
    std::int64_t n = 0;
    switch (s.command) {
    case kGet:
    case kGets:
        if (t.size() > kMaxKeyLength) {
            s.bad_key = true;
        } else {
            sink.key(t.data(), t.size());
        }
        break;
    case kSet: case kAdd: case kReplace: case kAppend: case kPrepend: case kCas:
        if (i == 1) {
            s.bad_key = t.size() > kMaxKeyLength;
            if (!s.bad_key) {
                sink.key(t.data(), t.size());
            }
        } else if (i == 2) {
            s.bad_number |= !parse_unsigned(t, 0xffffffffULL, &u);
        } else if (i == 3) {
            s.bad_number |= !parse_signed32(t, &n);
        } else if (i == 4) {
            s.bad_number |= !parse_signed32(t, &n) || n < 0;
            s.value_length = n;
        } else if (i == 5 && s.command == kCas) {
            s.bad_number |= !parse_unsigned(t, ~0ULL, &u);
            s.cas_at = at - 1 > UINT32_MAX ? 0 : static_cast<std::uint32_t>(at - 1);
        }
        break;
    case kIncr:
    case kDecr:
        if (i == 1) {
            s.bad_key = t.size() > kMaxKeyLength;
            if (!s.bad_key) {
                sink.key(t.data(), t.size());
            }
        } else if (i == 2) {
            s.bad_delta = !parse_unsigned(t, ~0ULL, &u);
        }
        break;
    case kTouch:
        if (i == 1) {
            s.bad_key = t.size() > kMaxKeyLength;
            if (!s.bad_key) {
                sink.key(t.data(), t.size());
            }
        } else if (i == 2) {
            s.bad_exptime = !parse_signed32(t, &n);
        }
        break;
    case kDelete:
        if (i == 1) {
            s.bad_key = t.size() > kMaxKeyLength;
            if (!s.bad_key) {
                sink.key(t.data(), t.size());
            }
        } else if (i == 2) {
            s.hold_zero = t == "0";
        }
        break;
    default:
        break;
    }
}

// The line is complete: decide what to do with it, as memcached would.
// Returns true when a data block follows.
bool classify_line(State& s, abi::RequestInfo& info) {
    const std::uint32_t a = s.args;
    auto local = [&](LocalReply reply, bool noreply_applies) {
        info.route = abi::Route::Local;
        info.local_reply = reply;
        info.noreply = noreply_applies && s.last_noreply;
    };
    info.command = s.command;
    switch (s.command) {
    case kGet:
    case kGets:
        if (a == 0) {
            local(kReplyError, false);
        } else if (s.bad_key) {
            local(kReplyBadFormat, false);
        }
        return false;
    case kSet: case kAdd: case kReplace: case kAppend: case kPrepend: case kCas: {
        std::uint32_t need = s.command == kCas ? 5 : 4;
        if (a != need && a != need + 1) {
            local(kReplyError, false);
            return false;
        }
        info.noreply = a == need + 1 && s.last_noreply;
        if (s.bad_key || s.bad_number) {
            local(kReplyBadFormat, true);
            return false;
        }
        s.remaining = static_cast<std::uint64_t>(s.value_length);
        return true;
    }
    case kIncr:
    case kDecr:
    case kTouch:
        if (a != 2 && a != 3) {
            local(kReplyError, false);
        } else if (s.bad_key) {
            local(kReplyBadFormat, true);
        } else if (s.bad_delta) {
            local(kReplyBadDelta, true);
        } else if (s.bad_exptime) {
            local(kReplyBadExptime, true);
        } else {
            info.noreply = a == 3 && s.last_noreply;
        }
        return false;
    case kDelete:
        if (a < 1 || a > 3) {
            local(kReplyError, false);
        } else if (s.bad_key) {
            local(kReplyBadFormat, true);
        } else if (a == 2 && !(s.hold_zero || s.last_noreply)) {
            local(kReplyDeleteUsage, false);
        } else if (a == 3 && !(s.hold_zero && s.last_noreply)) {
            local(kReplyDeleteUsage, true);
        } else {
            info.noreply = a > 1 && s.last_noreply;
        }
        return false;
    case kFlushAll:
        if (a > 2) {
            local(kReplyError, false);
        } else {
            info.route = abi::Route::Broadcast;
            info.noreply = a > 0 && s.last_noreply;
        }
        return false;
    case kVerbosity:
        if (a < 1 || a > 2) {
            local(kReplyError, false);
        } else {
            info.route = abi::Route::Broadcast;
            info.noreply = s.last_noreply;
        }
        return false;
    // memcached before 1.6 refused arguments to version and quit, and clients
    // that see a pre-1.6 version string (ours) expect that; 1.6 ignores them.
    case kVersion:
        local(a == 0 ? kReplyVersion : kReplyError, false);
        return false;
    case kStats:
        // The proxy has its own counters only: no "stats items", "stats slabs", ...
        local(a == 0 ? kReplyStats : kReplyError, false);
        return false;
    case kQuit:
        local(a == 0 ? kReplyNothing : kReplyError, false);
        info.close_after = a == 0;
        return false;
    default:
        local(kReplyError, false);
        return false;
    }
}

// How a pool with copies sends each command memcached forwards (see
// abi::CopyRule). gets goes to the primary because its cas token is that
// server's; cas to the primary alone, for the same reason, and the other
// copies are invalidated. Everything else that changes an item changes it
// the same way on every copy; incr/decr copies that answer differently are
// invalidated by the core.
abi::CopyRule copy_rule(std::uint16_t command) {
    switch (command) {
    case kGet:
        return abi::CopyRule::Read;
    case kGets:
        return abi::CopyRule::ReadPrimary;
    case kSet: case kAdd: case kReplace: case kAppend: case kPrepend:
    case kIncr: case kDecr: case kTouch: case kDelete:
        return abi::CopyRule::WriteAll;
    case kCas:
        return abi::CopyRule::WritePrimary;
    default:
        // flush_all and verbosity are broadcast; the rest the proxy answers.
        return abi::CopyRule::Unclassified;
    }
}

// classify_line's decision, plus what a pool with copies needs to know.
// `next`: the offset of the byte after the line's '\n'.
bool on_line_end(State& s, abi::RequestInfo& info, std::uint64_t next) {
    bool data_follows = classify_line(s, info);
    if (info.route == abi::Route::Forward) {
        info.copies = copy_rule(s.command);
    }
    if (s.command == kCas && s.cas_at != 0 && next <= UINT32_MAX) {
        // write_followup's: the cas unique and the data block.
        info.marks[0] = s.cas_at;
        info.marks[1] = static_cast<std::uint32_t>(next);
    }
    // info.noreply implies the last token was "noreply": the bytes to drop
    // for the same command answered are that token and the blank before it.
    if (info.noreply && !s.noreply_far) {
        info.noreply_at = s.noreply_at;
        info.noreply_len = static_cast<std::uint16_t>(sizeof(" noreply") - 1);
    }
    return data_follows;
}

}  // namespace

abi::ParseResult parse_request(abi::ParserState& raw, const char* data, std::size_t size, abi::RequestInfo& info,
                               abi::RequestSink& sink) {
    State s;
    std::memcpy(&s, raw.bytes, sizeof(s));
    std::size_t pos = 0;
    abi::ParseStatus status = abi::ParseStatus::Again;

    while (pos < size && status == abi::ParseStatus::Again) {
        if (s.phase == kData) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, size - pos));
            pos += n;
            s.remaining -= n;
            if (s.remaining == 0) {
                s.phase = kDataEnd;
                s.data_end_seen = 0;
            }
            continue;
        }
        if (s.phase == kDataEnd) {
            char expected = s.data_end_seen == 0 ? '\r' : '\n';
            s.bad_chunk |= data[pos] != expected;
            ++pos;
            if (++s.data_end_seen == 2) {
                if (s.bad_chunk) {
                    info.route = abi::Route::Local;
                    info.local_reply = kReplyBadDataChunk;
                    info.copies = abi::CopyRule::Unclassified;  // not sent after all
                }
                status = abi::ParseStatus::Done;
            }
            continue;
        }
        // kLine: skip spaces, then take one token or the end of the line.
        char ch = data[pos];
        if (ch == ' ') {
            ++pos;
            continue;
        }
        if (ch == '\n') {
            ++pos;
            if (on_line_end(s, info, sink.offset() + pos)) {
                s.phase = s.remaining > 0 ? kData : kDataEnd;
                s.data_end_seen = 0;
            } else {
                status = abi::ParseStatus::Done;
            }
            continue;
        }
        const char* start = data + pos;
        const char* stop = static_cast<const char*>(std::memchr(start, '\n', size - pos));
        const char* space = static_cast<const char*>(std::memchr(start, ' ', (stop ? stop : data + size) - start));
        const char* end = space ? space : stop;
        if (end == nullptr) {
            break;  // the token is cut by the end of the chunk: wait for the rest
        }
        std::size_t len = static_cast<std::size_t>(end - start);
        if (end == stop && len > 0 && start[len - 1] == '\r') {
            --len;  // "\r\n" ends the line
        }
        if (len > 0) {
            on_token(s, {start, len}, sink.offset() + pos, sink);
        }
        pos = static_cast<std::size_t>(end - data);
    }
    if (status == abi::ParseStatus::Again) {
        std::memcpy(raw.bytes, &s, sizeof(s));
    }
    return {status, pos};
}

}  // namespace cachemux::memcache
