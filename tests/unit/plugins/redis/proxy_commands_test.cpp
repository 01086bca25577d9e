// The commands a redis pool's proxy answers itself, driven as the core
// drives them (parse a request, render its reply, parse the next), with the
// replies redis-server 7.0.15 gives to the same bytes wherever redis has the
// command (captured with a raw socket; ids, names and versions aside).
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "../../../../fuzz/harness/stream.hpp"
#include "../bundled_protocol.hpp"

using namespace cachemux;

namespace {

const abi::Protocol& redis_protocol() { return test::bundled_protocol("redis"); }

// One client connection of a pool whose servers reported `versions`.
struct Client {
    explicit Client(std::string auth = {}, std::vector<abi::ServerFacts> servers = {{"s1", "7.0.15"}})
        : password(std::move(auth)), facts(std::move(servers)) {
        settings.auth = password;
    }

    // Each request's reply, or "forward <key>" for one that goes to a server.
    std::vector<std::string> send(const std::string& input) {
        const abi::Protocol& p = redis_protocol();
        abi::LocalContext context{"0.1.0", 0, "alpha", settings, 22121, facts, 1, session};
        std::vector<std::string> out;
        std::size_t pos = 0;
        while (pos < input.size()) {
            abi::ParserState state{};
            abi::RequestInfo info;
            Keys keys(session_bytes, settings);
            abi::ParseResult r = p.parse_request(state, input.data() + pos, input.size() - pos, info, keys);
            REQUIRE(r.status == abi::ParseStatus::Done);
            pos += r.consumed;
            if (info.route != abi::Route::Local) {
                out.push_back("forward " + std::string(keys.refs.empty() ? "" : keys.refs[0].view()));
                continue;
            }
            abi::RequestView view{info, keys.refs, {}};
            fuzz::StringWriter w(&view, {});
            p.render_local(view, context, w);
            out.push_back(w.out);
            closed = closed || info.close_after;
        }
        return out;
    }

    struct Keys final : abi::RequestSink {
        Keys(abi::SessionState& s, const abi::PoolSettings& p) : state(s), pool_settings(p) {}
        void key(const char* data, std::size_t len) override {
            refs.push_back({data, static_cast<std::uint32_t>(len)});
        }
        void key_payload(std::uint64_t, std::uint64_t) override {}
        std::uint64_t offset() const override { return 0; }
        abi::SessionState& session() override { return state; }
        const abi::PoolSettings& pool() const override { return pool_settings; }
        std::vector<abi::KeyRef> refs;
        abi::SessionState& state;
        const abi::PoolSettings& pool_settings;
    };

    std::string password;
    abi::PoolSettings settings{};
    std::vector<abi::ServerFacts> facts;
    abi::SessionState session_bytes{};
    fuzz::FakeClientSession session{session_bytes};
    bool closed = false;
};

std::string resp(std::initializer_list<std::string> args) {
    std::string s = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
    return s;
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }

std::string hello_reply(const std::string& version, int id) {
    return "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n" + bulk(version) + "$5\r\nproto\r\n:2\r\n" +
           "$2\r\nid\r\n:" + std::to_string(id) + "\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n" +
           "$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n";
}

}  // namespace

TEST_CASE("CLIENT: names kept per client, ids, info, and redis's errors") {
    Client c;
    auto r = c.send(resp({"CLIENT", "GETNAME"}) + resp({"CLIENT", "SETNAME", "a b"}) + resp({"CLIENT", "SETNAME"}) +
                    resp({"client", "setname", "svc"}) + resp({"CLIENT", "GETNAME"}) + resp({"CLIENT", "ID"}) +
                    resp({"CLIENT", "FOO"}) + resp({"CLIENT"}) + resp({"CLIENT", "NO-EVICT", "on"}) +
                    resp({"CLIENT", "NO-EVICT", "maybe"}) + resp({"CLIENT", "NO-TOUCH", "OFF"}) +
                    resp({"CLIENT", "SETINFO", "lib-name", "redis-py"}) + resp({"CLIENT", "SETINFO", "lib-ver", "1 2"}) +
                    resp({"CLIENT", "SETINFO", "foo", "x"}) + resp({"CLIENT", "SETINFO", "lib-name"}) +
                    resp({"CLIENT", "SETNAME", ""}) + resp({"CLIENT", "GETNAME"}));
    CHECK(r == std::vector<std::string>{
                   "$-1\r\n",
                   "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
                   "-ERR wrong number of arguments for 'client|setname' command\r\n",
                   "+OK\r\n",
                   "$3\r\nsvc\r\n",
                   ":7\r\n",
                   "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n",
                   "-ERR wrong number of arguments for 'client' command\r\n",
                   "+OK\r\n",
                   "-ERR syntax error\r\n",
                   "+OK\r\n",
                   "+OK\r\n",  // redis 7.2's SETINFO
                   "-ERR lib-ver cannot contain spaces, newlines or special characters.\r\n",
                   "-ERR Unrecognized option 'foo'\r\n",
                   "-ERR wrong number of arguments for 'client|setinfo' command\r\n",
                   "+OK\r\n",
                   "$-1\r\n",  // an empty name clears it
               });
    c.send(resp({"CLIENT", "SETNAME", "svc"}));
    auto info = c.send(resp({"CLIENT", "INFO"}));
    REQUIRE(info.size() == 1);
    const std::string line =
        "id=7 addr=127.0.0.1:40000 laddr=127.0.0.1:22121 fd=9 name=svc age=";
    CHECK(info[0].find(line) != std::string::npos);
    CHECK(info[0].find(" db=0 ") != std::string::npos);
    CHECK(info[0].find(" cmd=client|info user=default redir=-1 resp=2\n\r\n") != std::string::npos);
    CHECK(info[0] == bulk(info[0].substr(info[0].find("\r\n") + 2, info[0].size() - info[0].find("\r\n") - 4)));
}

TEST_CASE("SELECT: database 0 is the pool; any other index is out of range") {
    Client c;
    CHECK(c.send(resp({"SELECT", "0"}) + resp({"SELECT", "1"}) + resp({"SELECT", "16"}) + resp({"SELECT", "x"}) +
                 resp({"SELECT", "00"}) + resp({"SELECT", "-1"}) + resp({"SELECT"}) + resp({"SELECT", "0", "1"})) ==
          std::vector<std::string>{
              "+OK\r\n",
              "-ERR DB index is out of range\r\n",
              "-ERR DB index is out of range\r\n",
              "-ERR value is not an integer or out of range\r\n",
              "-ERR value is not an integer or out of range\r\n",
              "-ERR DB index is out of range\r\n",
              "-ERR wrong number of arguments for 'select' command\r\n",
              "-ERR wrong number of arguments for 'select' command\r\n",
          });
}

TEST_CASE("AUTH: AUTH default <pw> is AUTH <pw>; another user is WRONGPASS; a good one lets requests through") {
    Client c("sesame");
    auto r = c.send(resp({"GET", "k"}) + resp({"AUTH", "wrong"}) + resp({"GET", "k"}) +
                    resp({"AUTH", "bob", "sesame"}) + resp({"AUTH", "default", "sesame"}) + resp({"GET", "k"}) +
                    resp({"AUTH", "a", "b", "c"}) + resp({"AUTH", "sesame"}) + resp({"GET", "k"}));
    CHECK(r == std::vector<std::string>{
                   "-NOAUTH Authentication required\r\n",
                   "-ERR invalid password\r\n",
                   "-NOAUTH Authentication required\r\n",
                   "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
                   "+OK\r\n",
                   "forward k",
                   "-ERR syntax error\r\n",
                   "+OK\r\n",
                   "forward k",
               });
    Client open;  // no redis_auth: nutcracker's error for AUTH, as before
    CHECK(open.send(resp({"AUTH", "x"}) + resp({"AUTH", "default", "x"}) + resp({"AUTH", "bob", "x"})) ==
          std::vector<std::string>{
              "-ERR Client sent AUTH, but no password is set\r\n",
              "-ERR Client sent AUTH, but no password is set\r\n",
              "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
          });
}

TEST_CASE("HELLO: redis's RESP2 reply, its checks in redis's order; HELLO 3 is an unknown command until RESP3") {
    Client c;
    auto r = c.send(resp({"HELLO"}) + resp({"HELLO", "2"}) + resp({"HELLO", "3"}) + resp({"hello", "3", "AUTH"}) +
                    resp({"HELLO", "4"}) + resp({"HELLO", "x"}) + resp({"HELLO", "2", "FOO"}) +
                    resp({"HELLO", "2", "SETNAME", "a b"}) + resp({"HELLO", "2", "SETNAME", "nm"}) +
                    resp({"CLIENT", "GETNAME"}) + resp({"HELLO", "2", "AUTH", "default", "any"}));
    CHECK(r == std::vector<std::string>{
                   hello_reply("7.0.15", 7),
                   hello_reply("7.0.15", 7),
                   "-ERR unknown command 'HELLO', with args beginning with: '3' \r\n",
                   "-ERR unknown command 'hello', with args beginning with: '3' 'AUTH' \r\n",
                   "-NOPROTO unsupported protocol version\r\n",
                   "-ERR Protocol version is not an integer or out of range\r\n",
                   "-ERR Syntax error in HELLO option 'FOO'\r\n",
                   "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
                   hello_reply("7.0.15", 7),
                   "$2\r\nnm\r\n",
                   hello_reply("7.0.15", 7),  // no password set: any will do, as redis's default user
               });
    Client locked("sesame", {{"s1", "7.0.15"}, {"s2", "6.2.14"}, {"s3", ""}});
    auto l = locked.send(resp({"HELLO"}) + resp({"HELLO", "2", "AUTH", "default", "bad"}) + resp({"GET", "k"}) +
                         resp({"HELLO", "2", "AUTH", "default", "sesame", "SETNAME", "x"}) + resp({"GET", "k"}));
    REQUIRE(l.size() == 5);
    CHECK(l[0].rfind("-NOAUTH HELLO must be called with the client already authenticated", 0) == 0);
    CHECK(l[1] == "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    CHECK(l[2] == "-NOAUTH Authentication required\r\n");
    CHECK(l[3] == hello_reply("6.2.14", 7));  // the lowest version among the servers
    CHECK(l[4] == "forward k");
    CHECK(locked.session.name() == "x");
}

TEST_CASE("RESET forgets the name and the login; QUIT says +OK and closes; PING, ECHO, CLUSTER, ROLE") {
    Client c("sesame");
    auto r = c.send(resp({"AUTH", "sesame"}) + resp({"CLIENT", "SETNAME", "n"}) + resp({"RESET"}) +
                    resp({"GET", "k"}) + resp({"AUTH", "sesame"}) + resp({"CLIENT", "GETNAME"}) + resp({"PING"}) +
                    resp({"PING", "hi"}) + resp({"PING", "a", "b"}) + resp({"ECHO", "hi\r\nthere"}) + resp({"ECHO"}) +
                    resp({"CLUSTER", "NODES"}) + resp({"CLUSTER"}) + resp({"ROLE"}) + resp({"ROLE", "x"}));
    CHECK(r == std::vector<std::string>{
                   "+OK\r\n", "+OK\r\n", "+RESET\r\n", "-NOAUTH Authentication required\r\n", "+OK\r\n", "$-1\r\n",
                   "+PONG\r\n", "$2\r\nhi\r\n", "-ERR wrong number of arguments for 'ping' command\r\n",
                   "$9\r\nhi\r\nthere\r\n", "-ERR wrong number of arguments for 'echo' command\r\n",
                   "-ERR This instance has cluster support disabled\r\n",
                   "-ERR wrong number of arguments for 'cluster' command\r\n",
                   "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n",
                   "-ERR wrong number of arguments for 'role' command\r\n",
               });
    CHECK_FALSE(c.closed);
    CHECK(c.send(resp({"QUIT"})) == std::vector<std::string>{"+OK\r\n"});
    CHECK(c.closed);
}

TEST_CASE("CONFIG: GET goes to a server; other subcommands are refused") {
    Client c;
    CHECK(c.send(resp({"CONFIG", "GET", "save"}) + resp({"CONFIG", "SET", "save", ""}) + resp({"CONFIG", "GET"}) +
                 resp({"CONFIG"}) + resp({"config", "resetstat"})) ==
          std::vector<std::string>{
              "forward ",
              "-ERR unknown subcommand 'SET'. Try CONFIG HELP.\r\n",
              "-ERR wrong number of arguments for 'config|get' command\r\n",
              "-ERR wrong number of arguments for 'config' command\r\n",
              "-ERR unknown subcommand 'resetstat'. Try CONFIG HELP.\r\n",
          });
}

TEST_CASE("INFO: redis's sections and layout, the servers' lowest version, never an error") {
    Client c("", {{"s1", "7.0.15"}, {"s2", "7.2.4"}, {"s3", ""}});
    auto body = [](const std::string& reply) {
        REQUIRE(reply.size() >= 4);
        REQUIRE(reply[0] == '$');
        std::size_t header = reply.find("\r\n") + 2;
        std::string text = reply.substr(header, reply.size() - header - 2);
        CHECK(reply.substr(0, header) == "$" + std::to_string(text.size()) + "\r\n");
        return text;
    };
    std::string all = body(c.send(resp({"INFO"}))[0]);
    for (const char* line : {"# Server\r\n", "\r\nredis_version:7.0.15\r\n", "\r\nredis_mode:standalone\r\n",
                             "\r\nrole:master\r\n", "\r\nloading:0\r\n", "\r\nuptime_in_seconds:", "\r\ntcp_port:22121\r\n",
                             "\r\n\r\n# Clients\r\nconnected_clients:1\r\n", "\r\n\r\n# Persistence\r\n",
                             "\r\n\r\n# Replication\r\nrole:master\r\n", "\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n",
                             "\r\n\r\n# Cachemux\r\ncachemux_version:0.1.0\r\npool:alpha\r\nservers:3\r\n"
                             "server0:name=s1,version=7.0.15\r\nserver1:name=s2,version=7.2.4\r\n"
                             "server2:name=s3,version=unknown\r\nclients:1\r\n"}) {
        CAPTURE(line);
        CHECK(all.find(line) != std::string::npos);
    }
    CHECK(all.rfind("# Server\r\n", 0) == 0);
    CHECK(all.ends_with("clients:1\r\n"));
    CHECK(body(c.send(resp({"INFO", "default"}))[0]).size() > 0);
    std::string server = body(c.send(resp({"info", "SERVER"}))[0]);
    CHECK(server.rfind("# Server\r\n", 0) == 0);
    CHECK(server.find("# Clients") == std::string::npos);
    CHECK(server.ends_with("\r\nloading:0\r\n"));
    std::string two = body(c.send(resp({"INFO", "replication", "server"}))[0]);
    CHECK(two.find("# Server") < two.find("# Replication"));  // redis's order, not the request's
    CHECK(two.find("\r\n\r\n# Replication\r\nrole:master\r\nconnected_slaves:0\r\n") != std::string::npos);
    CHECK(c.send(resp({"INFO", "nosuch"})) == std::vector<std::string>{"$0\r\n\r\n"});  // as redis
}

TEST_CASE("the version INFO and HELLO report: the lowest a server gave, or the fallback") {
    auto hello_version = [](std::vector<abi::ServerFacts> servers) {
        Client c("", std::move(servers));
        std::string reply = c.send(resp({"HELLO"}))[0];
        std::size_t at = reply.find("$7\r\nversion\r\n$");
        REQUIRE(at != std::string::npos);
        std::size_t value = reply.find("\r\n", at + 15) + 2;
        return reply.substr(value, reply.find("\r\n", value) - value);
    };
    CHECK(hello_version({}) == "6.2.0");
    CHECK(hello_version({{"a", ""}, {"b", ""}}) == "6.2.0");  // none has answered yet
    CHECK(hello_version({{"a", "7.0.15"}, {"b", ""}, {"c", "7.0.9"}, {"d", "10.0.0"}}) == "7.0.9");
    CHECK(hello_version({{"a", "7.2.0"}, {"b", "7.10.1"}}) == "7.2.0");  // compared as numbers
}

TEST_CASE("the handshake asks each server its version, last") {
    const abi::Protocol& p = redis_protocol();
    abi::PoolSettings pool{};
    pool.auth = "pw";
    pool.db = 2;
    fuzz::StringWriter w;
    CHECK(p.write_handshake(pool, w) == 3);
    CHECK(w.out == resp({"AUTH", "pw"}) + resp({"SELECT", "2"}) + resp({"INFO", "server"}));
    CHECK(p.read_handshake_reply(0, "+OK\r\n").empty());
    CHECK(p.read_handshake_reply(1, "-ERR invalid password\r\n").empty());
    const std::string info = "# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:00000000\r\n";
    CHECK(p.read_handshake_reply(2, bulk(info)) == "7.0.15");
    CHECK(p.read_handshake_reply(2, "-NOAUTH Authentication required.\r\n").empty());
}
