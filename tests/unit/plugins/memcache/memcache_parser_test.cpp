// The memcache plugin's request and response parsers, fed as the core feeds
// them: in chunks of every size, with the unconsumed tail carried over.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../bundled_protocol.hpp"

using namespace cachemux;

namespace {

const abi::Protocol& memcache_protocol() { return test::bundled_protocol("memcache"); }

struct Parsed {
    abi::RequestInfo info;
    std::vector<std::string> keys;
    std::string bytes;
};

struct Keys final : abi::RequestSink {
    std::vector<std::string>* out;
    const std::string* consumed;  // the request's bytes before this chunk
    abi::SessionState session_state{};
    abi::PoolSettings settings{};
    void key(const char* data, std::size_t len) override { out->emplace_back(data, len); }
    void key_payload(std::uint64_t, std::uint64_t) override {}
    std::uint64_t offset() const override { return consumed->size(); }
    abi::SessionState& session() override { return session_state; }
    const abi::PoolSettings& pool() const override { return settings; }
};

// Parses `input` delivered `chunk` bytes at a time. `closed` is set when the
// parser gives up on the stream.
std::vector<Parsed> parse_requests(const std::string& input, std::size_t chunk, bool* closed = nullptr) {
    const abi::Protocol& p = memcache_protocol();
    std::vector<Parsed> out;
    std::string pending;
    abi::ParserState state{};
    Parsed current;
    std::size_t fed = 0;
    if (closed) *closed = false;
    while (fed < input.size() || !pending.empty()) {
        if (fed < input.size()) {
            std::size_t n = std::min(chunk, input.size() - fed);
            pending += input.substr(fed, n);
            fed += n;
        }
        bool progress = true;
        while (!pending.empty() && progress) {
            Keys keys;
            keys.out = &current.keys;
            keys.consumed = &current.bytes;
            abi::ParseResult r = p.parse_request(state, pending.data(), pending.size(), current.info, keys);
            current.bytes += pending.substr(0, r.consumed);
            pending.erase(0, r.consumed);
            if (r.status == abi::ParseStatus::Done) {
                out.push_back(current);
                current = Parsed{};
                std::memset(&state, 0, sizeof(state));
            } else if (r.status == abi::ParseStatus::Error) {
                if (closed) *closed = true;
                return out;
            } else {
                progress = r.consumed > 0;
            }
        }
        if (fed >= input.size()) {
            break;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("memcache requests parse the same at every chunk size") {
    const std::string input =
        "get a bb ccc\r\n"
        "set k 1 2 5\r\nhello\r\n"
        "set k2 0 0 3 noreply\r\nx y\r\n"
        "cas k 0 0 1 99\r\nz\r\n"
        "incr n 5\r\n"
        "delete k noreply\r\n"
        "touch k 10\r\n"
        "gets x\n";
    for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) {
        CAPTURE(chunk);
        auto reqs = parse_requests(input, chunk);
        REQUIRE(reqs.size() == 8);
        CHECK(reqs[0].keys == std::vector<std::string>{"a", "bb", "ccc"});
        CHECK(reqs[0].info.route == abi::Route::Forward);
        CHECK(reqs[1].bytes == "set k 1 2 5\r\nhello\r\n");
        CHECK(reqs[1].keys == std::vector<std::string>{"k"});
        CHECK_FALSE(reqs[1].info.noreply);
        CHECK(reqs[2].info.noreply);
        CHECK(reqs[2].bytes == "set k2 0 0 3 noreply\r\nx y\r\n");
        CHECK(reqs[3].bytes == "cas k 0 0 1 99\r\nz\r\n");
        CHECK(reqs[4].keys == std::vector<std::string>{"n"});
        CHECK(reqs[5].info.noreply);
        CHECK(reqs[6].info.route == abi::Route::Forward);
        CHECK(reqs[7].keys == std::vector<std::string>{"x"});
    }
}

TEST_CASE("memcache requests the proxy answers itself, as memcached would") {
    struct Case {
        const char* input;
        abi::Route route;
        bool noreply;
    };
    const Case cases[] = {
        {"bogus\r\n", abi::Route::Local, false},
        {"\r\n", abi::Route::Local, false},
        {"get\r\n", abi::Route::Local, false},
        {"set k 0 0\r\n", abi::Route::Local, false},
        {"set k 0 0 x\r\n", abi::Route::Local, false},
        {"set k 0 0 -1\r\n", abi::Route::Local, false},
        {"incr k abc\r\n", abi::Route::Local, false},
        {"touch k abc\r\n", abi::Route::Local, false},
        {"delete k 5\r\n", abi::Route::Local, false},
        {"version foo bar\r\n", abi::Route::Local, false},
        {"quit foo\r\n", abi::Route::Local, false},
        {"stats\r\n", abi::Route::Local, false},
        {"flush_all\r\n", abi::Route::Broadcast, false},
        {"flush_all noreply\r\n", abi::Route::Broadcast, true},
        {"verbosity 1\r\n", abi::Route::Broadcast, false},
        {"quit\r\n", abi::Route::Local, false},
    };
    for (const Case& c : cases) {
        CAPTURE(c.input);
        auto reqs = parse_requests(c.input, 1000);
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].info.route == c.route);
        CHECK(reqs[0].info.noreply == c.noreply);
    }
    CHECK(parse_requests("quit\r\n", 100)[0].info.close_after);
    CHECK_FALSE(parse_requests("quit now\r\n", 100)[0].info.close_after);
    CHECK(parse_requests("version\r\n", 100)[0].info.local_reply != parse_requests("version x\r\n", 100)[0].info.local_reply);
}

TEST_CASE("memcache keys longer than 250 bytes are refused, 250 accepted") {
    std::string k250(250, 'k');
    std::string k251(251, 'k');
    auto ok = parse_requests("get " + k250 + "\r\n", 7);
    REQUIRE(ok.size() == 1);
    CHECK(ok[0].info.route == abi::Route::Forward);
    CHECK(ok[0].keys[0] == k250);
    auto bad = parse_requests("get " + k251 + "\r\nset " + k251 + " 0 0 1\r\nx\r\n", 7);
    // The refused set leaves its data line to be read as a command, as in memcached.
    REQUIRE(bad.size() == 3);
    for (const auto& r : bad) {
        CHECK(r.info.route == abi::Route::Local);
    }
}

TEST_CASE("memcache data block not ended by CRLF is a bad data chunk") {
    auto reqs = parse_requests("set k 0 0 2\r\nabcd\r\nget k\r\n", 3);
    REQUIRE(reqs.size() >= 2);
    CHECK(reqs[0].info.route == abi::Route::Local);
}

namespace {

struct Records final : abi::ResponseSink {
    std::vector<abi::Record> records;
    std::uint64_t base = 0;
    void record(std::uint64_t begin, std::uint64_t end, abi::KeyRef key, bool miss) override {
        records.push_back({begin, end, key, miss});
    }
    std::uint64_t offset() const override { return base; }
};

}  // namespace

TEST_CASE("memcache responses: values are reported by byte range at every chunk size") {
    const abi::Protocol& p = memcache_protocol();
    const std::string response = "VALUE a 0 3\r\nxyz\r\nVALUE bb 5 0 77\r\n\r\nEND\r\nSTORED\r\n";
    for (std::size_t chunk = 1; chunk <= response.size(); ++chunk) {
        CAPTURE(chunk);
        abi::ParserState state{};
        abi::ResponseInfo info{};
        Records sink;
        // One stable buffer, as an mbuf is: consumed bytes stay where they are.
        std::size_t fed = 0;
        std::size_t done_at = 0;
        std::vector<std::string> keys;
        while (done_at == 0 && fed < response.size()) {
            fed += std::min(chunk, response.size() - fed);
            std::size_t before = sink.records.size();
            abi::ParseResult r = p.parse_response(state, response.data() + sink.base, fed - sink.base, info, sink);
            for (std::size_t i = before; i < sink.records.size(); ++i) {
                keys.emplace_back(sink.records[i].key.view());
            }
            sink.base += r.consumed;
            REQUIRE(r.status != abi::ParseStatus::Error);
            if (r.status == abi::ParseStatus::Done) {
                done_at = sink.base;
            }
        }
        CHECK(done_at == std::string("VALUE a 0 3\r\nxyz\r\nVALUE bb 5 0 77\r\n\r\nEND\r\n").size());
        REQUIRE(sink.records.size() == 2);
        CHECK(keys == std::vector<std::string>{"a", "bb"});
        CHECK(sink.records[0].begin == 0);
        CHECK(sink.records[0].end == 18);
        CHECK(sink.records[1].begin == 18);
        CHECK(sink.records[1].end == 37);
        CHECK_FALSE(info.is_error);
    }
}

TEST_CASE("memcache error responses are flagged") {
    const abi::Protocol& p = memcache_protocol();
    for (std::string line : {"SERVER_ERROR out of memory\r\n", "CLIENT_ERROR bad\r\n", "ERROR\r\n"}) {
        abi::ParserState state{};
        abi::ResponseInfo info{};
        Records sink;
        abi::ParseResult r = p.parse_response(state, line.data(), line.size(), info, sink);
        CHECK(r.status == abi::ParseStatus::Done);
        CHECK(r.consumed == line.size());
        CHECK(info.is_error);
    }
}

namespace {

// Parses one response fed `chunk` bytes at a time; the final status and
// what the parser said of it.
std::pair<abi::ParseStatus, abi::ResponseInfo> parse_response_info(const std::string& response,
                                                                   std::size_t chunk) {
    const abi::Protocol& p = memcache_protocol();
    abi::ParserState state{};
    abi::ResponseInfo info{};
    Records sink;
    std::size_t fed = 0;
    while (fed < response.size()) {
        fed += std::min(chunk, response.size() - fed);
        abi::ParseResult r = p.parse_response(state, response.data() + sink.base, fed - sink.base, info, sink);
        sink.base += r.consumed;
        if (r.status == abi::ParseStatus::Done) {
            CHECK(sink.base == response.size());  // the whole reply, nothing more
        }
        if (r.status != abi::ParseStatus::Again) {
            return {r.status, info};
        }
    }
    return {abi::ParseStatus::Again, info};
}

// The final status and whether the response was flagged an error.
std::pair<abi::ParseStatus, bool> parse_one_response(const std::string& response, std::size_t chunk) {
    auto [status, info] = parse_response_info(response, chunk);
    return {status, info.is_error};
}

}  // namespace

TEST_CASE("memcache responses: every reply memcached sends is accepted") {
    const std::vector<std::pair<std::string, bool>> replies = {
        {"STORED\r\n", false},   {"NOT_STORED\r\n", false}, {"EXISTS\r\n", false},
        {"NOT_FOUND\r\n", false}, {"DELETED\r\n", false},   {"TOUCHED\r\n", false},
        {"OK\r\n", false},       {"END\r\n", false},        {"18446744073709551615\r\n", false},
        {"42  \r\n", false},  // memcached before 1.4.? padded incr results with blanks
        {"ERROR\r\n", true},     {"CLIENT_ERROR bad data chunk\r\n", true},
        {"SERVER_ERROR out of memory storing object\r\n", true},
        {"VALUE k 0 2\r\nab\r\nSERVER_ERROR out of memory writing get response\r\n", true},
        {"VALUE k 1 0 9\r\n\r\nEND\r\n", false},
    };
    for (const auto& [reply, is_error] : replies) {
        for (std::size_t chunk = 1; chunk <= reply.size(); ++chunk) {
            CAPTURE(reply);
            CAPTURE(chunk);
            auto [status, flagged] = parse_one_response(reply, chunk);
            CHECK(status == abi::ParseStatus::Done);
            CHECK(flagged == is_error);
        }
    }
}

// Out of step with the requests (or not a memcached): the core fails the
// connection rather than hand a reply to the wrong request.
TEST_CASE("memcache responses: anything else is a parse error, at every chunk size") {
    const std::vector<std::string> bad = {
        "GARBAGE\r\n",
        "STORED\n",                          // no CR
        "\r\n",
        "42x\r\n",
        "VALUE k 0 2\r\nabXXEND\r\n",        // the value is longer than announced
        "VALUE k 0 2\r\nab\rX",              // CR without LF
        "VALUE k 0 2\r\nab\r\nSTORED\r\n",   // a value then a storage reply
        "VALUE k 0 x\r\nab\r\nEND\r\n",
        "VALUE k\r\n",
    };
    for (const std::string& reply : bad) {
        for (std::size_t chunk = 1; chunk <= reply.size(); ++chunk) {
            CAPTURE(reply);
            CAPTURE(chunk);
            CHECK(parse_one_response(reply, chunk).first == abi::ParseStatus::Error);
        }
    }
}

TEST_CASE("memcache requests carry their command's copy rule") {
    struct Case {
        std::string input;
        abi::CopyRule copies;
    };
    const Case cases[] = {
        {"get a bb\r\n", abi::CopyRule::Read},
        {"gets a\r\n", abi::CopyRule::ReadPrimary},  // a cas token is one server's
        {"set k 0 0 1\r\nx\r\n", abi::CopyRule::WriteAll},
        {"add k 0 0 1\r\nx\r\n", abi::CopyRule::WriteAll},
        {"replace k 0 0 1\r\nx\r\n", abi::CopyRule::WriteAll},
        {"append k 0 0 1\r\nx\r\n", abi::CopyRule::WriteAll},
        {"prepend k 0 0 1 noreply\r\nx\r\n", abi::CopyRule::WriteAll},
        {"cas k 0 0 1 99\r\nx\r\n", abi::CopyRule::WritePrimary},
        {"incr n 1\r\n", abi::CopyRule::WriteAll},
        {"decr n 1\r\n", abi::CopyRule::WriteAll},
        {"touch k 10\r\n", abi::CopyRule::WriteAll},
        {"delete k\r\n", abi::CopyRule::WriteAll},
        {"delete k 0 noreply\r\n", abi::CopyRule::WriteAll},
    };
    for (const Case& c : cases) {
        CAPTURE(c.input);
        for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{7}, c.input.size()}) {
            CAPTURE(chunk);
            auto reqs = parse_requests(c.input, chunk);
            REQUIRE(reqs.size() == 1);
            CHECK(reqs[0].info.route == abi::Route::Forward);
            CHECK(reqs[0].info.copies == c.copies);
        }
    }
    // Broadcast, or answered by the proxy: never sent by a copy rule.
    for (const char* input : {"flush_all\r\n", "verbosity 1\r\n", "version\r\n", "stats\r\n", "get\r\n", "bogus\r\n",
                              "set k 0 0 x\r\n", "set k 0 0 2\r\nabcd\r\n", "incr n x\r\n"}) {
        CAPTURE(input);
        auto reqs = parse_requests(input, 3);
        REQUIRE_FALSE(reqs.empty());
        CHECK(reqs[0].info.route != abi::Route::Forward);
        CHECK(reqs[0].info.copies == abi::CopyRule::Unclassified);
    }
}

// A pool with copies sends a noreply request without " noreply" so that it
// hears every copy; what is left must be the same command, answered.
TEST_CASE("memcache noreply: the span to drop, whatever the chunking") {
    struct Case {
        std::string request;
        std::string answered;  // "" when nothing is to be dropped
    };
    const Case cases[] = {
        {"get a\r\n", ""},
        {"set k 0 0 5 noreply\r\nhello\r\n", "set k 0 0 5\r\nhello\r\n"},
        {"set k2 0 0 7 noreply\r\nnoreply\r\n", "set k2 0 0 7\r\nnoreply\r\n"},
        {"set k 0 0 1\r\nx\r\n", ""},
        {"cas k 0 0 1 99 noreply\r\nz\r\n", "cas k 0 0 1 99\r\nz\r\n"},
        {"incr n 5 noreply\r\n", "incr n 5\r\n"},
        {"decr n 1   noreply \r\n", "decr n 1   \r\n"},
        {"incr n 1 noreply\n", "incr n 1\n"},
        {"delete k noreply\r\n", "delete k\r\n"},
        {"delete k 0 noreply\r\n", "delete k 0\r\n"},
        {"touch k 10 noreply\r\n", "touch k 10\r\n"},
        {"get noreply\r\n", ""},  // a key
        {"delete noreply\r\n", ""},
    };
    std::string stream;
    for (const Case& c : cases) stream += c.request;
    for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
        CAPTURE(chunk);
        auto reqs = parse_requests(stream, chunk);
        REQUIRE(reqs.size() == std::size(cases));
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            const Case& c = cases[i];
            const abi::RequestInfo& info = reqs[i].info;
            CAPTURE(c.request);
            REQUIRE(reqs[i].bytes == c.request);
            CHECK(info.route == abi::Route::Forward);
            if (c.answered.empty()) {
                CHECK_FALSE(info.noreply);
                CHECK(info.noreply_len == 0);
                continue;
            }
            CHECK(info.noreply);
            REQUIRE(info.noreply_len == 8);
            REQUIRE(info.noreply_at + info.noreply_len <= c.request.size());
            CHECK(c.request.substr(info.noreply_at, info.noreply_len) == " noreply");
            std::string answered = c.request;
            answered.erase(info.noreply_at, info.noreply_len);
            CHECK(answered == c.answered);
        }
    }
    for (const Case& c : cases) {
        if (c.answered.empty()) continue;
        CAPTURE(c.answered);
        auto noreply = parse_requests(c.request, c.request.size());
        auto answered = parse_requests(c.answered, c.answered.size());
        REQUIRE(answered.size() == 1);
        CHECK(answered[0].info.route == abi::Route::Forward);
        CHECK(answered[0].info.command == noreply[0].info.command);
        CHECK(answered[0].info.copies == noreply[0].info.copies);
        CHECK(answered[0].keys == noreply[0].keys);
        CHECK_FALSE(answered[0].info.noreply);
        CHECK(answered[0].info.noreply_len == 0);
    }
}

TEST_CASE("memcache responses: a retrieval with no value is a miss, at every chunk size") {
    const std::vector<std::pair<std::string, bool>> replies = {
        {"END\r\n", true},
        {"VALUE k 0 1\r\nx\r\nEND\r\n", false},
        {"VALUE k 0 0\r\n\r\nEND\r\n", false},
        {"VALUE a 0 1 7\r\nx\r\nVALUE b 0 1 8\r\ny\r\nEND\r\n", false},
        {"VALUE k 0 2\r\nab\r\nSERVER_ERROR out of memory writing get response\r\n", false},
        {"SERVER_ERROR out of memory\r\n", false},
        {"CLIENT_ERROR bad command line format\r\n", false},
        {"ERROR\r\n", false},
        {"STORED\r\n", false},
        {"NOT_FOUND\r\n", false},
        {"42\r\n", false},
    };
    for (const auto& [reply, miss] : replies) {
        for (std::size_t chunk = 1; chunk <= reply.size(); ++chunk) {
            CAPTURE(reply);
            CAPTURE(chunk);
            auto [status, info] = parse_response_info(reply, chunk);
            CHECK(status == abi::ParseStatus::Done);
            CHECK(info.is_miss == miss);
        }
    }
}
