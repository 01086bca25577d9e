// Streaming parser for memcached ASCII responses.
//
// A response is one line ("STORED", "NOT_FOUND", "42", "SERVER_ERROR ...")
// or, for retrievals, any number of "VALUE <key> <flags> <bytes> [<cas>]"
// records each followed by its data block, ended by "END". Each record is
// reported to the core by byte range so that multi-key replies can be merged
// without copying values.
#include <cstring>

#include "memcache.hpp"

namespace cachemux::memcache {

namespace {

enum Phase : std::uint8_t { kLine = 0, kData };

struct State {
    std::uint8_t phase;
    std::uint32_t key_len;
    const char* key;
    std::uint64_t record_begin;  // offset of the record's "VALUE" in the response
    std::uint64_t remaining;     // data bytes (with "\r\n") still to consume
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
    std::uint64_t v = 0;
    for (char ch : fields[3]) {
        if (ch < '0' || ch > '9') {
            return false;
        }
        v = v * 10 + static_cast<std::uint64_t>(ch - '0');
    }
    *key = fields[1];
    *bytes = v;
    return true;
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
        if (s.phase == kData) {
            std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(s.remaining, size - pos));
            pos += n;
            s.remaining -= n;
            if (s.remaining == 0) {
                sink.record(s.record_begin, base + pos, {s.key, s.key_len});
                s.phase = kLine;
            }
            continue;
        }
        const char* start = data + pos;
        const char* nl = static_cast<const char*>(std::memchr(start, '\n', size - pos));
        if (nl == nullptr) {
            break;  // the line is cut: wait for the rest
        }
        std::string_view line(start, static_cast<std::size_t>(nl - start));
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        std::size_t line_begin = pos;
        pos = static_cast<std::size_t>(nl - data) + 1;
        if (starts_with(line, "VALUE ")) {
            std::string_view key;
            std::uint64_t bytes = 0;
            if (!parse_value_line(line, &key, &bytes)) {
                status = abi::ParseStatus::Error;
                break;
            }
            s.key = key.data();
            s.key_len = static_cast<std::uint32_t>(key.size());
            s.record_begin = base + line_begin;
            s.remaining = bytes + 2;
            s.phase = kData;
            continue;
        }
        info.is_error = starts_with(line, "ERROR") || starts_with(line, "CLIENT_ERROR") ||
                        starts_with(line, "SERVER_ERROR");
        status = abi::ParseStatus::Done;
    }
    if (status == abi::ParseStatus::Again) {
        std::memcpy(raw.bytes, &s, sizeof(s));
    }
    return {status, pos};
}

}  // namespace cachemux::memcache
