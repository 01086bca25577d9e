// Streaming parser for memcached ASCII responses.
//
// A response is one line ("STORED", "NOT_FOUND", "42", "SERVER_ERROR ...")
// or, for retrievals, any number of "VALUE <key> <flags> <bytes> [<cas>]"
// records each followed by its data block, ended by "END". Each record is
// reported to the core by byte range so that multi-key replies can be merged
// without copying values.
#include <cstdint>
#include <cstring>

#include "memcache.hpp"

namespace cachemux::memcache {

namespace {

enum Phase : std::uint8_t {
    kLine = 0,
    kData,     // a value's bytes
    kDataCr,   // the "\r" that must end them
    kDataLf,   // and its "\n"
};

struct State {
    std::uint8_t phase;
    bool in_values;  // a VALUE record was read: only VALUE, END or an error may follow
    std::uint32_t key_len;
    const char* key;
    std::uint64_t record_begin;  // offset of the record's "VALUE" in the response
    std::uint64_t remaining;     // data bytes still to consume
};
static_assert(sizeof(State) <= abi::kParserStateSize);

bool starts_with(std::string_view line, std::string_view prefix) { return line.substr(0, prefix.size()) == prefix; }

// Parses "VALUE <key> <flags> <bytes> [<cas>]"; false if malformed.
bool parse_value_line(std::string_view line, std::string_view* key, std::uint64_t* bytes) {
    std::string_view fields[5];
    std::size_t n = 0;
    std::size_t pos = 0;
    while (pos < line.size() && n < 5) {
        while (pos < line.size() && line[pos] == ' ') {
            ++pos;
        }
        std::size_t end = line.find(' ', pos);
        if (end == std::string_view::npos) {
            end = line.size();
        }
        if (end > pos) {
            fields[n++] = line.substr(pos, end - pos);
        }
        pos = end;
    }
    if (n < 4 || fields[3].empty()) {
        return false;
    }
    // A length that does not fit in 64 bits is malformed: it used to wrap,
    // so "VALUE k 0 184467440737095516162" framed a 2-byte value and the
    // rest of the stream was read out of step (found by fuzz/memcache_response).
    std::uint64_t v = 0;
    for (char ch : fields[3]) {
        if (ch < '0' || ch > '9') {
            return false;
        }
        std::uint64_t digit = static_cast<std::uint64_t>(ch - '0');
        if (v > (UINT64_MAX - digit) / 10) {
            return false;
        }
        v = v * 10 + digit;
    }
    *key = fields[1];
    *bytes = v;
    return true;
}

// A whole one-line reply to a storage, delete, touch, arithmetic, flush_all
// or verbosity command: what memcached sends, nothing else. Anything else
// means the connection is out of step (or not a memcached), and the core
// then fails every request on it rather than hand a reply to the wrong one.
enum class LineReply : std::uint8_t { Unknown, Ok, Error };

LineReply classify(std::string_view line) {
    static constexpr std::string_view kWords[] = {"STORED", "NOT_STORED", "EXISTS", "NOT_FOUND",
                                                  "DELETED", "TOUCHED", "OK", "END"};
    for (std::string_view word : kWords) {
        if (line == word) {
            return LineReply::Ok;
        }
    }
    if (line == "ERROR" || starts_with(line, "ERROR ") || starts_with(line, "CLIENT_ERROR") ||
        starts_with(line, "SERVER_ERROR")) {
        return LineReply::Error;
    }
    // incr/decr: the new value.
    std::size_t digits = 0;
    while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') {
        ++digits;
    }
    if (digits > 0 && line.find_first_not_of(' ', digits) == std::string_view::npos) {
        return LineReply::Ok;
    }
    return LineReply::Unknown;
}

}  // namespace

abi::ParseResult parse_response(abi::ParserState& raw, const char* data, std::size_t size, abi::ResponseInfo& info,
                                abi::ResponseSink& sink) {
    State s;
    std::memcpy(&s, raw.bytes, sizeof(s));
    std::size_t pos = 0;
    abi::ParseStatus status = abi::ParseStatus::Again;
    const std::uint64_t base = sink.offset();

    while (pos < size && status == abi::ParseStatus::Again) {
        switch (s.phase) {
        case kData: {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, size - pos));
            pos += n;
            s.remaining -= n;
            if (s.remaining == 0) {
                s.phase = kDataCr;
            }
            continue;
        }
        case kDataCr:
            if (data[pos++] != '\r') {
                status = abi::ParseStatus::Error;
            }
            s.phase = kDataLf;
            continue;
        case kDataLf:
            if (data[pos++] != '\n') {
                status = abi::ParseStatus::Error;
            }
            sink.record(s.record_begin, base + pos, {s.key, s.key_len}, false);
            s.phase = kLine;
            continue;
        default:
            break;
        }
        const char* start = data + pos;
        const char* nl = static_cast<const char*>(std::memchr(start, '\n', size - pos));
        if (nl == nullptr) {
            break;  // the line is cut: wait for the rest
        }
        std::string_view line(start, static_cast<std::size_t>(nl - start));
        std::size_t line_begin = pos;
        pos = static_cast<std::size_t>(nl - data) + 1;
        if (line.empty() || line.back() != '\r') {
            status = abi::ParseStatus::Error;  // memcached ends every line with "\r\n"
            break;
        }
        line.remove_suffix(1);
        if (starts_with(line, "VALUE ")) {
            std::string_view key;
            std::uint64_t bytes = 0;
            if (!parse_value_line(line, &key, &bytes)) {
                status = abi::ParseStatus::Error;
                break;
            }
            s.in_values = true;
            s.key = key.data();
            s.key_len = static_cast<std::uint32_t>(key.size());
            s.record_begin = base + line_begin;
            s.remaining = bytes;
            s.phase = bytes == 0 ? kDataCr : kData;
            continue;
        }
        LineReply reply = classify(line);
        if (reply == LineReply::Unknown || (s.in_values && reply == LineReply::Ok && line != "END")) {
            status = abi::ParseStatus::Error;
            break;
        }
        info.is_error = reply == LineReply::Error;
        // A retrieval that found nothing. Only gets/get replies end in END
        // (stats is the proxy's own), and the core asks only for reads.
        info.is_miss = line == "END" && !s.in_values;
        status = abi::ParseStatus::Done;
    }
    if (status == abi::ParseStatus::Again) {
        std::memcpy(raw.bytes, &s, sizeof(s));
    }
    return {status, pos};
}

}  // namespace cachemux::memcache
