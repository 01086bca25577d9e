// The redis plugin's request and response parsers, fed as the core feeds
// them: in chunks of every size, from one stable buffer (as an mbuf is).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../bundled_protocol.hpp"

using namespace cachemux;

namespace {

const abi::Protocol& redis_protocol() { return test::bundled_protocol("redis"); }

struct Parsed {
    abi::RequestInfo info;
    std::vector<std::string> keys;
    std::vector<std::string> payloads;
    std::size_t size = 0;
};

struct Sink final : abi::RequestSink {
    Parsed* current = nullptr;
    const std::string* input = nullptr;
    std::size_t request_start = 0;
    std::size_t chunk_start = 0;
    abi::SessionState session_state{};
    abi::PoolSettings settings{};
    void key(const char* data, std::size_t len) override { current->keys.emplace_back(data, len); }
    void key_payload(std::uint64_t begin, std::uint64_t size) override {
        current->payloads.push_back(input->substr(request_start + begin, size));
    }
    std::uint64_t offset() const override { return chunk_start - request_start; }
    abi::SessionState& session() override { return session_state; }
    const abi::PoolSettings& pool() const override { return settings; }
};

// Parses `input` delivered `chunk` bytes at a time; `closed` is set when the
// parser gives up on the stream.
std::vector<Parsed> parse_requests(const std::string& input, std::size_t chunk, bool* closed = nullptr,
                                   std::string_view auth = {}) {
    const abi::Protocol& p = redis_protocol();
    std::vector<Parsed> out;
    abi::ParserState state{};
    Sink sink;
    sink.input = &input;
    sink.settings.auth = auth;
    Parsed current;
    sink.current = &current;
    std::size_t parsed = 0, fed = 0;
    if (closed) *closed = false;
    while (parsed < input.size()) {
        fed = std::min(input.size(), fed + chunk);
        bool progress = true;
        while (parsed < fed && progress) {
            sink.chunk_start = parsed;
            abi::ParseResult r = p.parse_request(state, input.data() + parsed, fed - parsed, current.info, sink);
            parsed += r.consumed;
            if (r.status == abi::ParseStatus::Done) {
                current.size = parsed - sink.request_start;
                out.push_back(current);
                current = Parsed{};
                sink.request_start = parsed;
                std::memset(&state, 0, sizeof(state));
            } else if (r.status == abi::ParseStatus::Error) {
                if (closed) *closed = true;
                return out;
            } else {
                progress = r.consumed > 0;
            }
        }
        if (fed == input.size() && !progress) break;
    }
    return out;
}

std::string resp(std::initializer_list<std::string> args) {
    std::string s = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    return s;
}

}  // namespace

TEST_CASE("redis requests parse the same at every chunk size") {
    const std::string input = resp({"GET", "a"}) + resp({"mget", "k1", "k2", "k3"}) +
                              resp({"MSET", "k1", "v one", "k2", std::string(3000, 'x')}) +
                              resp({"set", "k", "hello\r\nworld"}) + "PING\r\n" + resp({"del", "x", "y"}) +
                              resp({"EVAL", "return 1", "2", "ka", "kb"}) + "get  inline_key\r\n";
    for (std::size_t chunk = 1; chunk <= input.size(); chunk += (chunk < 64 ? 1 : 97)) {
        CAPTURE(chunk);
        bool closed = false;
        auto reqs = parse_requests(input, chunk, &closed);
        CHECK_FALSE(closed);
        REQUIRE(reqs.size() == 8);
        CHECK(reqs[0].keys == std::vector<std::string>{"a"});
        CHECK(reqs[0].info.route == abi::Route::Forward);
        CHECK(reqs[0].size == resp({"GET", "a"}).size());
        CHECK(reqs[1].keys == std::vector<std::string>{"k1", "k2", "k3"});
        CHECK(reqs[2].keys == std::vector<std::string>{"k1", "k2"});
        CHECK(reqs[2].payloads == std::vector<std::string>{"v one", std::string(3000, 'x')});
        CHECK(reqs[3].keys == std::vector<std::string>{"k"});
        CHECK(reqs[4].info.route == abi::Route::Local);
        CHECK(reqs[5].keys == std::vector<std::string>{"x", "y"});
        CHECK(reqs[6].keys == std::vector<std::string>{"ka"});  // routed by the first key
        CHECK(reqs[7].keys == std::vector<std::string>{"inline_key"});
        CHECK(reqs[7].info.route == abi::Route::Forward);
    }
}

TEST_CASE("redis requests the proxy answers itself keep the connection") {
    for (const std::string& input : {resp({"FOO", "a"}), resp({"KEYS", "*"}), resp({"GET"}), resp({"GET", "a", "b"}),
                                     resp({"SET", "k"}), resp({"PING"}), resp({"ping", "hi"}), std::string("*0\r\n"),
                                     resp({"EVAL", "return 1", "0"})}) {
        CAPTURE(input);
        bool closed = false;
        auto reqs = parse_requests(input + resp({"GET", "after"}), 5, &closed);
        CHECK_FALSE(closed);
        REQUIRE(reqs.size() == 2);
        CHECK(reqs[0].info.route == abi::Route::Local);
        CHECK(reqs[1].info.route == abi::Route::Forward);
        CHECK(reqs[1].keys == std::vector<std::string>{"after"});
    }
    CHECK(parse_requests(resp({"QUIT"}), 100)[0].info.close_after);
    CHECK_FALSE(parse_requests(resp({"RESET"}), 100)[0].info.close_after);
}

TEST_CASE("broken RESP framing closes the connection") {
    for (const std::string& input : {std::string("*2\r\n$3\r\nGET\r\n:1\r\n"), std::string("*1\r\n$3\r\nGETX\r\n"),
                                     std::string("*1\r\n$abc\r\n"), std::string("*x\r\n")}) {
        CAPTURE(input);
        bool closed = false;
        parse_requests(input, 3, &closed);
        CHECK(closed);
    }
}

TEST_CASE("redis_auth: commands wait for a good AUTH; AUTH, HELLO, QUIT and RESET do not") {
    // The parser refuses what needs a login; AUTH itself is answered (and
    // the session changed) when the proxy renders it (proxy_commands_test).
    const std::string input = resp({"GET", "a"}) + resp({"AUTH", "x"}) + resp({"HELLO"}) + resp({"RESET"}) +
                              resp({"PING"}) + resp({"QUIT"});
    auto reqs = parse_requests(input, 7, nullptr, "sesame");
    REQUIRE(reqs.size() == 6);
    for (const Parsed& r : reqs) CHECK(r.info.route == abi::Route::Local);
    CHECK(reqs[0].info.local_reply == reqs[4].info.local_reply);  // NOAUTH
    CHECK(reqs[1].info.local_reply != reqs[0].info.local_reply);
    CHECK(reqs[1].info.local_reply == reqs[2].info.local_reply);  // answered by proxy_commands
    CHECK(reqs[1].info.local_reply == reqs[3].info.local_reply);
    CHECK(reqs[1].info.local_reply == reqs[5].info.local_reply);
    CHECK(reqs[1].keys == std::vector<std::string>{"AUTH", "x"});  // every argument, the name first
}

TEST_CASE("keyless commands go to one server: the one an empty key hashes to") {
    for (const std::string& input : {resp({"COMMAND"}), resp({"COMMAND", "DOCS", "get"}), resp({"LOLWUT"}),
                                     resp({"CONFIG", "GET", "save"}), resp({"config", "get", "a", "b"})}) {
        CAPTURE(input);
        auto reqs = parse_requests(input, 3);
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].info.route == abi::Route::Forward);
        CHECK(reqs[0].keys == std::vector<std::string>{""});
    }
    // Other CONFIG subcommands, and GET without a parameter, the proxy refuses.
    for (const std::string& input : {resp({"CONFIG", "SET", "a", "b"}), resp({"CONFIG", "GET"}),
                                     resp({"CONFIG", "REWRITE"}), resp({"CONFIG"})}) {
        CAPTURE(input);
        auto reqs = parse_requests(input, 3);
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].info.route == abi::Route::Local);
    }
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

struct Reply {
    std::size_t size = 0;
    abi::ResponseInfo info;
    std::vector<std::string> elements;
};

Reply parse_reply(const std::string& bytes, std::size_t chunk) {
    const abi::Protocol& p = redis_protocol();
    abi::ParserState state{};
    Reply reply;
    Records sink;
    std::size_t fed = 0;
    while (fed < bytes.size()) {
        fed = std::min(bytes.size(), fed + chunk);
        abi::ParseResult r = p.parse_response(state, bytes.data() + sink.base, fed - sink.base, reply.info, sink);
        REQUIRE(r.status != abi::ParseStatus::Error);
        sink.base += r.consumed;
        if (r.status == abi::ParseStatus::Done) {
            reply.size = sink.base;
            break;
        }
    }
    for (const auto& rec : sink.records) reply.elements.push_back(bytes.substr(rec.begin, rec.end - rec.begin));
    return reply;
}

}  // namespace

TEST_CASE("redis replies: arrays report their elements at every chunk size") {
    const std::string array = "*4\r\n$3\r\nabc\r\n$-1\r\n*2\r\n:1\r\n+x\r\n$0\r\n\r\n";
    for (std::size_t chunk = 1; chunk <= array.size() + 1; ++chunk) {
        CAPTURE(chunk);
        Reply r = parse_reply(array + "+NEXT\r\n", chunk);
        CHECK(r.size == array.size());
        CHECK(r.elements == std::vector<std::string>{"$3\r\nabc\r\n", "$-1\r\n", "*2\r\n:1\r\n+x\r\n", "$0\r\n\r\n"});
        CHECK_FALSE(r.info.is_error);
    }
    Reply i = parse_reply(":42\r\n", 2);
    CHECK(i.info.is_integer);
    CHECK(i.info.integer == 42);
    Reply e = parse_reply("-ERR nope\r\n", 3);
    CHECK(e.info.is_error);
    CHECK(parse_reply("*0\r\n", 1).size == 4);
    CHECK(parse_reply("*-1\r\n", 1).size == 5);
}

namespace {

// `depth` arrays nested in one another around `inner`, as a Lua table
// nested `depth` deep comes back from EVAL.
std::string nested(int depth, const std::string& inner) {
    std::string s;
    for (int i = 0; i < depth; ++i) s += "*1\r\n";
    return s + inner;
}

}  // namespace

TEST_CASE("redis replies nested to any depth parse whole, and the next reply is untouched") {
    // twemproxy issue 323: a 20-level EVAL reply. Deeper ones too, mixed
    // with siblings at every level, and empty and null arrays inside.
    for (int depth : {1, 8, 9, 20, 100, 10000}) {
        CAPTURE(depth);
        const std::string reply = nested(depth, "$5\r\nvalue\r\n");
        for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, reply.size() + 8}) {
            CAPTURE(chunk);
            Reply r = parse_reply(reply + "+NEXT\r\n", chunk);
            CHECK(r.size == reply.size());
            REQUIRE(r.elements.size() == 1);  // the top-level array's one element
            CHECK(r.elements[0] == reply.substr(4));
        }
    }
    const std::string wide = "*3\r\n" + std::string("*2\r\n*0\r\n*-1\r\n") + nested(30, ":1\r\n") + "*2\r\n" +
                             nested(12, "+a\r\n") + "$1\r\nb\r\n";
    for (std::size_t chunk = 1; chunk <= wide.size() + 1; ++chunk) {
        CAPTURE(chunk);
        Reply r = parse_reply(wide + "+NEXT\r\n", chunk);
        CHECK(r.size == wide.size());
        CHECK(r.elements == std::vector<std::string>{"*2\r\n*0\r\n*-1\r\n", nested(30, ":1\r\n"),
                                                     "*2\r\n" + nested(12, "+a\r\n") + "$1\r\nb\r\n"});
    }
}

TEST_CASE("redis requests carry their command's copy rule, SET ... GET the primary's") {
    struct Case {
        std::string input;
        abi::CopyRule copies;
    };
    const Case cases[] = {
        {resp({"GET", "k"}), abi::CopyRule::Read},
        {resp({"mget", "a", "b"}), abi::CopyRule::Read},
        {resp({"HGET", "h", "f"}), abi::CopyRule::ReadPrimary},
        {resp({"COMMAND"}), abi::CopyRule::ReadPrimary},
        {resp({"CONFIG", "GET", "save"}), abi::CopyRule::ReadPrimary},
        {resp({"SET", "k", "v"}), abi::CopyRule::WriteAll},
        {resp({"SET", "k", "v", "EX", "100"}), abi::CopyRule::WriteAll},
        {resp({"SET", "k", "get"}), abi::CopyRule::WriteAll},  // "get" is the value
        {resp({"SET", "k", std::string(5000, 'v'), "NX", "GET"}), abi::CopyRule::WritePrimary},
        {resp({"set", "k", "v", "gEt", "PX", "5"}), abi::CopyRule::WritePrimary},
        {"set k v get\r\n", abi::CopyRule::WritePrimary},
        {"SET k v\r\n", abi::CopyRule::WriteAll},
        {resp({"MSET", "a", "1", "b", "2"}), abi::CopyRule::WriteAll},
        {resp({"DEL", "a", "b"}), abi::CopyRule::WriteAll},
        {resp({"GETSET", "k", "get"}), abi::CopyRule::WritePrimary},
        {resp({"SPOP", "s"}), abi::CopyRule::WritePrimary},
        {resp({"EVAL", "return 1", "1", "k"}), abi::CopyRule::WritePrimary},
    };
    for (const Case& c : cases) {
        CAPTURE(c.input);
        for (std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{7}, c.input.size()}) {
            CAPTURE(chunk);
            auto reqs = parse_requests(c.input, chunk);
            REQUIRE(reqs.size() == 1);
            CHECK(reqs[0].info.route == abi::Route::Forward);
            CHECK(reqs[0].info.copies == c.copies);
            CHECK(reqs[0].info.noreply_len == 0);
        }
    }
    // What the proxy answers has no rule: it is never sent.
    for (const std::string& input : {resp({"PING"}), resp({"FOO", "a"}), resp({"GET"}), resp({"SET", "k"})}) {
        CAPTURE(input);
        auto reqs = parse_requests(input, 3);
        REQUIRE(reqs.size() == 1);
        CHECK(reqs[0].info.route == abi::Route::Local);
        CHECK(reqs[0].info.copies == abi::CopyRule::Unclassified);
    }
}

TEST_CASE("redis replies: a nil, or an array of nils only, is a miss, at every chunk size") {
    const std::pair<std::string, bool> replies[] = {
        {"$-1\r\n", true},
        {"*-1\r\n", true},
        {"*1\r\n$-1\r\n", true},
        {"*3\r\n$-1\r\n$-1\r\n$-1\r\n", true},  // an MGET that found none of its keys
        {"*2\r\n*-1\r\n$-1\r\n", true},
        {"*3\r\n$-1\r\n$1\r\na\r\n$-1\r\n", false},  // found one
        {"*2\r\n$0\r\n\r\n$-1\r\n", false},          // an empty string is a value
        {"*1\r\n*2\r\n$-1\r\n$-1\r\n", false},       // the element is an array
        {"*1\r\n*0\r\n", false},
        {"*0\r\n", false},
        {"$1\r\na\r\n", false},
        {"$0\r\n\r\n", false},
        {"+OK\r\n", false},
        {":0\r\n", false},
        {"-ERR nope\r\n", false},
    };
    for (const auto& [reply, miss] : replies) {
        for (std::size_t chunk = 1; chunk <= reply.size() + 1; ++chunk) {
            CAPTURE(reply);
            CAPTURE(chunk);
            Reply r = parse_reply(reply + "+NEXT\r\n", chunk);
            CHECK(r.size == reply.size());
            CHECK(r.info.is_miss == miss);
        }
    }
}
