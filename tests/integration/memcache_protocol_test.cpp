// The memcached ASCII protocol through the proxy, over a plain socket.
//
// HARNESS_PROXY_TEST cases hold for nutcracker 0.5.0 and must hold for cachemux;
// HARNESS_CACHEMUX_TEST cases are where cachemux deliberately behaves like
// memcached instead of like nutcracker (which closes the client connection on
// unknown commands, wrong argument counts, over-long keys, flush_all,
// verbosity, negative exptime, ...).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// A request that proves the connection still works: exact reply expected.
void check_usable(Connection& c, const std::string& what) {
    INFO("connection must still be usable after " << what);
    std::string reply = c.request("set usable_probe 0 0 2\r\nok\r\nget usable_probe\r\n", "END\r\n");
    CHECK(escape(reply) == escape("STORED\r\nVALUE usable_probe 0 2\r\nok\r\nEND\r\n"));
}

// No further bytes arrive within `wait` (a reply sent twice, say).
void check_nothing_more(Connection& c, const std::string& what, Millis wait = 300ms) {
    std::string extra = c.read_for(wait);
    INFO("unexpected extra bytes after " << what);
    CHECK(escape(extra) == "");
    CHECK_FALSE(c.closed());
}

std::string key_n(const char* prefix, int i) { return std::string(prefix) + std::to_string(i); }

}  // namespace

// ------------------------------------------------------------ basic commands

static void basic_commands(ProxyKind kind) {
    ProxiedMemcached px(kind);
    Connection c(px.port());

    CHECK(c.mc(mc::set("k1", "hello")) == "STORED\r\n");
    CHECK(escape(c.mc("get k1\r\n")) == escape(mc::value("k1", "hello") + "END\r\n"));
    CHECK(c.mc("get missing_key\r\n") == "END\r\n");

    // Flags are carried through unchanged, up to 2^32-1; empty values work.
    CHECK(c.mc(mc::set("flagged", "v", 4294967295u)) == "STORED\r\n");
    CHECK(escape(c.mc("get flagged\r\n")) == escape(mc::value("flagged", "v", 4294967295u) + "END\r\n"));
    CHECK(c.mc(mc::set("empty", "")) == "STORED\r\n");
    CHECK(escape(c.mc("get empty\r\n")) == escape("VALUE empty 0 0\r\n\r\nEND\r\n"));

    // gets: the cas unique is the backend's own.
    std::string reply = c.mc("gets k1\r\n");
    auto items = mc::parse_values(reply);
    REQUIRE(items.size() == 1);
    CHECK(items[0].key == "k1");
    CHECK(items[0].data == "hello");
    REQUIRE(items[0].cas.has_value());
    int b = px.backend_of("k1");
    REQUIRE(b >= 0);
    Connection direct(px.backends[b]->port());
    auto direct_items = mc::parse_values(direct.mc("gets k1\r\n"));
    REQUIRE(direct_items.size() == 1);
    CHECK(direct_items[0].cas == items[0].cas);

    CHECK(c.mc("delete k1\r\n") == "DELETED\r\n");
    CHECK(c.mc("delete k1\r\n") == "NOT_FOUND\r\n");
    CHECK(c.mc("get k1\r\n") == "END\r\n");
    CHECK_FALSE(mc::holds(px.backends[b]->port(), "k1"));
}
HARNESS_PROXY_TEST("memcache: set/get/gets/delete", basic_commands)

// ------------------------------------------------------------ multi-key get

static void multi_get(ProxyKind kind) {
    ProxiedMemcached px(kind, 4);
    Connection c(px.port());
    KeyOptions ko;
    ko.high_bytes = false;
    ko.max_len = 30;
    const std::vector<std::string> keys = make_keys(60, 2024, ko);
    std::map<std::string, std::pair<std::string, unsigned>> stored;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        std::string v = "value-" + std::to_string(i * 7919);
        REQUIRE(c.mc(mc::set(keys[i], v, static_cast<unsigned>(i))) == "STORED\r\n");
        stored[keys[i]] = {v, static_cast<unsigned>(i)};
    }
    // The keys really are spread over the backends.
    std::set<int> used;
    for (std::size_t b = 0; b < px.backends.size(); ++b) {
        auto held = mc::holds_many(px.backends[b]->port(), keys);
        if (std::count(held.begin(), held.end(), true) > 0) used.insert(static_cast<int>(b));
    }
    CHECK(used.size() >= 3);

    auto expected_for = [&](const std::vector<std::string>& ask) {
        std::string expected;
        for (auto& k : ask) {
            auto it = stored.find(k);
            if (it != stored.end()) expected += mc::value(k, it->second.first, it->second.second);
        }
        return expected + "END\r\n";
    };
    // Mixed order and duplicates: replies in request order, one END.
    std::vector<std::string> ask = {keys[59], keys[0], keys[17], keys[0], keys[33], keys[58], keys[1], keys[2],
                                    keys[3],  keys[4], keys[5],  keys[6], keys[7],  keys[59]};
    for (int i = 10; i < 50; i += 3) ask.push_back(keys[static_cast<std::size_t>(i)]);
    CHECK(escape(c.mc(mc::get(ask)), 5000) == escape(expected_for(ask), 5000));
    check_nothing_more(c, "a multi-key get");

    // gets across servers: same order, each with a cas.
    auto items = mc::parse_values(c.mc(mc::get({keys[3], keys[40], keys[12], keys[3]}, "gets")));
    REQUIRE(items.size() == 4);
    CHECK(items[0].key == keys[3]);
    CHECK(items[1].key == keys[40]);
    CHECK(items[2].key == keys[12]);
    CHECK(items[3].key == keys[3]);
    for (auto& it : items) {
        CHECK(it.cas.has_value());
        CHECK(it.data == stored[it.key].first);
    }
    CHECK(items[0].cas == items[3].cas);

    // With misses among the keys.  nutcracker 0.5.0 gets this wrong: it
    // rebuilds the reply by taking, for each requested key, the next value of
    // that key's server, so a miss shifts later values of the same server into
    // the wrong place.  cachemux must answer in request order.
    std::vector<std::string> with_misses = {keys[59], "nokey1", keys[0], keys[17], keys[0], keys[33], "nokey2",
                                            keys[58], keys[1],  keys[2], keys[3],  keys[4], keys[5],  keys[6],
                                            keys[7],  keys[59], "nokey3"};
    for (int i = 10; i < 50; i += 3) {
        with_misses.push_back(keys[static_cast<std::size_t>(i)]);
        with_misses.push_back("miss" + std::to_string(i));
    }
    std::string got = c.mc(mc::get(with_misses));
    std::string want = expected_for(with_misses);
    if (kind == ProxyKind::Cachemux) {
        CHECK(escape(got, 5000) == escape(want, 5000));
    } else if (got != want) {
        MESSAGE("nutcracker 0.5.0 (known bug, not asserted): multi-get with misses answers out of order");
    }
    auto mixed = mc::parse_values(c.mc(mc::get({keys[3], keys[40], "nokey", keys[12], keys[3]}, "gets")));
    if (kind == ProxyKind::Cachemux) {
        REQUIRE(mixed.size() == 4);
        CHECK(mixed[0].key == keys[3]);
        CHECK(mixed[1].key == keys[40]);
        CHECK(mixed[2].key == keys[12]);
        CHECK(mixed[3].key == keys[3]);
    }

    // All misses.
    CHECK(c.mc("get nokey1 nokey2 nokey3 nokey4 nokey5\r\n") == "END\r\n");
}
HARNESS_PROXY_TEST("memcache: multi-key get across servers", multi_get)

// --------------------------------------- storage commands, same as memcached

// Runs `script` through the proxy and directly against a fresh memcached; the
// replies must be byte-identical.
static void compare_with_memcached(ProxyKind kind, const std::vector<std::string>& script) {
    ProxiedMemcached px(kind, 3);
    MemcachedServer reference;
    Connection through(px.port());
    Connection direct(reference.port());
    for (auto& request : script) {
        std::string want = direct.mc(request);
        std::string got = through.mc(request);
        INFO("request: " << escape(request));
        CHECK(escape(got) == escape(want));
    }
}

static void storage_commands(ProxyKind kind) {
    compare_with_memcached(kind, {
        mc::storage("add", "a", "x"),
        mc::storage("add", "a", "again"),
        mc::storage("replace", "b", "y"),
        mc::storage("replace", "a", "yy", 5),
        mc::storage("append", "a", "zz"),
        mc::storage("prepend", "a", "pp"),
        "get a\r\n",
        mc::storage("append", "nokey", "zz"),
        mc::storage("prepend", "nokey", "zz"),
        mc::set("n", "10"),
        "incr n 5\r\n",
        "decr n 20\r\n",
        "incr n 18446744073709551615\r\n",
        "incr n 1\r\n",
        "decr n 1\r\n",
        "incr n 18446744073709551616\r\n",
        "incr nokey 1\r\n",
        "decr nokey 1\r\n",
        "incr a 1\r\n",
        "get n\r\n",
        mc::set("n2", "99"),
        "incr n2 1\r\n",
        "get n2\r\n",
        "touch a 100\r\n",
        "touch nokey 100\r\n",
        "delete a\r\n",
        "delete a\r\n",
        "get a n nokey n2\r\n",
        mc::set("e", ""),
        "get e\r\n",
    });
}
HARNESS_PROXY_TEST("memcache: add/replace/append/prepend/incr/decr/touch/delete as memcached", storage_commands)

static void cas_command(ProxyKind kind) {
    ProxiedMemcached px(kind);
    Connection c(px.port());
    CHECK(c.mc(mc::cas("nokey", "x", 1)) == "NOT_FOUND\r\n");
    REQUIRE(c.mc(mc::set("ck", "v1")) == "STORED\r\n");
    auto items = mc::parse_values(c.mc("gets ck\r\n"));
    REQUIRE(items.size() == 1);
    REQUIRE(items[0].cas.has_value());
    std::uint64_t unique = *items[0].cas;
    CHECK(c.mc(mc::cas("ck", "v2", unique + 1000)) == "EXISTS\r\n");
    CHECK(c.mc(mc::cas("ck", "v2", unique, 7)) == "STORED\r\n");
    CHECK(c.mc(mc::cas("ck", "v3", unique)) == "EXISTS\r\n");
    CHECK(escape(c.mc("get ck\r\n")) == escape(mc::value("ck", "v2", 7) + "END\r\n"));
}
HARNESS_PROXY_TEST("memcache: cas", cas_command)

// ----------------------------------------------------------------- noreply

static void noreply_everywhere(ProxyKind kind) {
    ProxiedMemcached px(kind, 3);
    Connection c(px.port());
    REQUIRE(c.mc(mc::set("cas_target", "old")) == "STORED\r\n");
    auto items = mc::parse_values(c.mc("gets cas_target\r\n"));
    REQUIRE(items.size() == 1);
    REQUIRE(items[0].cas.has_value());

    std::string batch = mc::set("nr_set", "s", 0, 0, true) +                     //
                        mc::storage("add", "nr_add", "a", 0, 0, true) +          //
                        mc::storage("add", "nr_set", "not-stored", 0, 0, true) + //
                        mc::storage("replace", "nr_set", "r", 3, 0, true) +      //
                        mc::storage("append", "nr_set", "A", 0, 0, true) +       //
                        mc::storage("prepend", "nr_set", "P", 0, 0, true) +      //
                        mc::cas("cas_target", "new", *items[0].cas, 0, true) +   //
                        mc::set("nr_num", "40", 0, 0, true) +                    //
                        "incr nr_num 5 noreply\r\n"                              //
                        "decr nr_num 3 noreply\r\n"                              //
                        "touch nr_add 1000 noreply\r\n" +                        //
                        mc::set("nr_del", "d", 0, 0, true) +                     //
                        "delete nr_del noreply\r\n"                              //
                        "delete nr_never_there noreply\r\n"                      //
                        "incr nr_never_there 1 noreply\r\n";
    c.send_all(batch);
    // The only reply is the get's.
    std::string reply = c.mc("get nr_set nr_add cas_target nr_num nr_del\r\n");
    std::string expected = mc::value("nr_set", "PrA", 3) + mc::value("nr_add", "a") +
                           mc::value("cas_target", "new") + mc::value("nr_num", "42") + "END\r\n";
    CHECK(escape(reply) == escape(expected));
    check_nothing_more(c, "noreply commands");
}
HARNESS_PROXY_TEST("memcache: noreply on every storage command", noreply_everywhere)

// -------------------------------------------------------------------- quit

static void quit_command(ProxyKind kind) {
    ProxiedMemcached px(kind);
    {
        Connection c(px.port());
        c.send_all("quit\r\n");
        CHECK(c.wait_closed(3000ms));
        CHECK(escape(c.buffered()) == "");
    }
    {
        // A noreply set before quit still happens.
        Connection c(px.port());
        c.send_all(mc::set("before_quit", "v", 0, 0, true) + "quit\r\n");
        CHECK(c.wait_closed(3000ms));
        CHECK(escape(c.buffered()) == "");
    }
    Connection c(px.port());
    // (The set travels on while the client is gone: allow it a moment.)
    std::string reply;
    for (auto deadline = Clock::now() + 2s; Clock::now() < deadline; std::this_thread::sleep_for(10ms))
        if ((reply = c.mc("get before_quit\r\n")) != "END\r\n") break;
    CHECK(escape(reply) == escape(mc::value("before_quit", "v") + "END\r\n"));
    {
        // Nothing sent after quit reaches a server, as with memcached itself.
        Connection q(px.port());
        q.send_all("get before_quit\r\nquit\r\n" + mc::set("after_quit", "v"));
        CHECK(q.wait_closed(3000ms));
        CHECK(escape(q.buffered()) == escape(mc::value("before_quit", "v") + "END\r\n"));
    }
    std::this_thread::sleep_for(100ms);
    CHECK(c.mc("get after_quit\r\n") == "END\r\n");
    // The proxy still serves other clients.
    check_usable(c, "other clients quit");
}
HARNESS_PROXY_TEST("memcache: quit closes the connection", quit_command)

// --------------------------------------------------------------- key length

static void key_250(ProxyKind kind) {
    ProxiedMemcached px(kind);
    Connection c(px.port());
    std::string k250(250, 'k');
    k250[0] = 'A';
    k250[249] = 'Z';
    CHECK(c.mc(mc::set(k250, "v250")) == "STORED\r\n");
    CHECK(escape(c.mc("get " + k250 + "\r\n")) == escape(mc::value(k250, "v250") + "END\r\n"));
    CHECK(escape(c.mc("get a " + k250 + " b\r\n")) == escape(mc::value(k250, "v250") + "END\r\n"));
    CHECK(c.mc("delete " + k250 + "\r\n") == "DELETED\r\n");
}
HARNESS_PROXY_TEST("memcache: key of 250 bytes is accepted", key_250)

HARNESS_CACHEMUX_TEST("memcache: key of 251 bytes is rejected, connection stays usable") {
    ProxiedMemcached px(ProxyKind::Cachemux);
    Connection c(px.port());
    std::string k251(251, 'k');
    for (std::string request : {"get " + k251 + "\r\n", "gets " + k251 + "\r\n", "get a " + k251 + " b\r\n",
                                "delete " + k251 + "\r\n", "incr " + k251 + " 1\r\n",
                                "touch " + k251 + " 1\r\n"}) {
        INFO("request: " << escape(request, 80));
        c.send_all(request);
        std::string line = c.read_until("\r\n");
        CHECK_MESSAGE(line.rfind("CLIENT_ERROR ", 0) == 0, "reply: " << escape(line));
        check_usable(c, "a 251-byte key");
    }
    {
        // A storage command: the error, and its data block never becomes a
        // command of its own beyond memcached's own "ERROR" for it.
        INFO("request: set <251-byte key> 0 0 1");
        c.send_all(mc::set(k251, "x"));
        std::string line = c.read_until("\r\n");
        CHECK_MESSAGE(line.rfind("CLIENT_ERROR ", 0) == 0, "reply: " << escape(line));
        std::string rest = c.request("set usable_probe 0 0 2\r\nok\r\nget usable_probe\r\n", "END\r\n");
        std::string ok = "STORED\r\nVALUE usable_probe 0 2\r\nok\r\nEND\r\n";
        CHECK_MESSAGE((rest == ok || rest == "ERROR\r\n" + ok),
                      "after the error: " << escape(rest) << " (memcached itself answers ERROR for the data line)");
    }
    for (auto& b : px.backends) CHECK(mc::curr_items(b->port()) <= 1);  // only usable_probe
}

// ---------------------------------------------------- unknown and malformed

HARNESS_CACHEMUX_TEST("memcache: unknown command gets ERROR, connection stays usable") {
    ProxiedMemcached px(ProxyKind::Cachemux);
    MemcachedServer reference;
    Connection c(px.port());
    Connection direct(reference.port());
    for (std::string request : {"foo\r\n", "foo bar baz\r\n", "GET a\r\n", "Set a 0 0 1\r\n", "getx a\r\n",
                                "\r\n", "sett a 0 0 1\r\n"}) {
        INFO("request: " << escape(request));
        CHECK(escape(direct.mc(request)) == "ERROR\\r\\n");  // what memcached says
        CHECK(escape(c.mc(request)) == "ERROR\\r\\n");
        check_usable(c, "an unknown command");
    }
    // Pipelined between good requests: order kept.
    std::string reply = c.request("foo\r\n" + mc::set("pk", "x") + "bar\r\nget pk\r\n", "END\r\n");
    CHECK(escape(reply) == escape("ERROR\r\nSTORED\r\nERROR\r\n" + mc::value("pk", "x") + "END\r\n"));
    check_nothing_more(c, "pipelined unknown commands");
}

HARNESS_CACHEMUX_TEST("memcache: wrong argument counts get ERROR or CLIENT_ERROR, connection stays usable") {
    ProxiedMemcached px(ProxyKind::Cachemux);
    MemcachedServer reference;
    Connection c(px.port());
    Connection direct(reference.port());
    for (std::string request :
         {"get\r\n", "gets\r\n", "get \r\n", "set\r\n", "set a\r\n", "set a 0\r\n", "set a 0 0\r\n", "add a 0 0\r\n",
          "replace a\r\n", "append a 0 0\r\n", "prepend a\r\n", "cas a 0 0 1\r\n", "incr\r\n", "incr a\r\n",
          "decr a\r\n", "delete\r\n", "touch a\r\n", "touch\r\n", "incr a x\r\n", "decr a -1\r\n",
          "set a 0 0 x\r\n", "set a 0 0 -1\r\n", "set a x 0 1\r\n", "cas a 0 0 1 x\r\n"}) {
        INFO("request: " << escape(request));
        std::string want = direct.mc(request);
        c.send_all(request);
        std::string line = c.read_until("\r\n");
        bool memcached_style = line == "ERROR\r\n" || line.rfind("CLIENT_ERROR ", 0) == 0;
        CHECK_MESSAGE(memcached_style, "reply: " << escape(line) << "; memcached says: " << escape(want));
        if (line != want) MESSAGE("differs from memcached (" << escape(want) << "): " << escape(line));
        check_usable(c, "a malformed command");
    }
}

// --------------------------------------------- version, flush_all, verbosity

static void version_command(ProxyKind kind) {
    ProxiedMemcached px(kind, 3);
    Connection c(px.port());
    std::string line = c.mc("version\r\n");
    CHECK_MESSAGE(line.rfind("VERSION ", 0) == 0, escape(line));
    CHECK(line.size() > std::string("VERSION \r\n").size());
    CHECK(line.find(' ', 8) == std::string::npos);
    check_nothing_more(c, "version");
    check_usable(c, "version");
}
HARNESS_PROXY_TEST("memcache: version replies once", version_command)

HARNESS_CACHEMUX_TEST("memcache: flush_all flushes every server and replies once") {
    ProxiedMemcached px(ProxyKind::Cachemux, 3);
    Connection c(px.port());
    KeyOptions ko;
    ko.high_bytes = false;
    ko.max_len = 40;
    const std::vector<std::string> keys = make_keys(90, 99, ko);

    auto fill = [&] {
        std::string batch;
        for (auto& k : keys) batch += mc::set(k, "v");
        c.send_all(batch);
        for (std::size_t i = 0; i < keys.size(); ++i) REQUIRE(c.read_until("\r\n") == "STORED\r\n");
        for (auto& b : px.backends) {
            auto held = mc::holds_many(b->port(), keys);
            REQUIRE(std::count(held.begin(), held.end(), true) > 0);  // every backend has some
        }
    };
    auto all_flushed = [&] {
        for (auto& b : px.backends) {
            auto held = mc::holds_many(b->port(), keys);
            CHECK_MESSAGE(std::count(held.begin(), held.end(), true) == 0,
                          "backend on port " << b->port() << " still holds keys");
        }
    };

    fill();
    CHECK(escape(c.mc("flush_all\r\n")) == "OK\\r\\n");
    check_nothing_more(c, "flush_all");
    all_flushed();

    fill();
    CHECK(escape(c.mc("flush_all 0\r\n")) == "OK\\r\\n");
    check_nothing_more(c, "flush_all 0");
    all_flushed();

    fill();
    c.send_all("flush_all noreply\r\n");
    check_nothing_more(c, "flush_all noreply");
    all_flushed();
    check_usable(c, "flush_all");
}

HARNESS_CACHEMUX_TEST("memcache: verbosity replies once") {
    ProxiedMemcached px(ProxyKind::Cachemux, 3);
    Connection c(px.port());
    CHECK(escape(c.mc("verbosity 1\r\n")) == "OK\\r\\n");
    check_nothing_more(c, "verbosity 1");
    CHECK(escape(c.mc("verbosity 0\r\n")) == "OK\\r\\n");
    check_nothing_more(c, "verbosity 0");
    c.send_all("verbosity 1 noreply\r\n");
    check_nothing_more(c, "verbosity 1 noreply");
    check_usable(c, "verbosity");
}

HARNESS_CACHEMUX_TEST("memcache: negative exptime stores an already expired item, as memcached") {
    ProxiedMemcached px(ProxyKind::Cachemux, 3);
    MemcachedServer reference;
    Connection c(px.port());
    Connection direct(reference.port());
    for (std::string request : {mc::set("neg", "x", 0, -1), std::string("get neg\r\n"), mc::set("neg2", "y"),
                                std::string("touch neg2 -1\r\n"), std::string("get neg2\r\n"),
                                std::string("delete neg 0\r\n")}) {
        INFO("request: " << escape(request));
        CHECK(escape(c.mc(request)) == escape(direct.mc(request)));
    }
}

// ------------------------------------------------------------ large values

static void large_values(ProxyKind kind) {
    // -I 2m: memcached's default item limit (1 MiB including the header)
    // cannot hold a 1 MiB value.
    ProxiedMemcached px(kind, 3, {}, {"-I", "2m"});
    Connection c(px.port());
    const std::size_t sizes[] = {1,     16383, 16384,  16385,  32767,  32768,  32769, 65536,
                                 99999, 16384 * 7 + 5, 500000, 1000000, 1048576};
    std::uint32_t seed = 1;
    for (std::size_t n : sizes) {
        INFO("value size " << n);
        std::string key = "big" + std::to_string(n);
        std::string v = make_value(n, seed++);
        REQUIRE(c.mc(mc::set(key, v, 42), 20000ms) == "STORED\r\n");
        std::string reply = c.mc("get " + key + "\r\n", 20000ms);
        CHECK(reply.size() == mc::value(key, v, 42).size() + 5);
        CHECK((reply == mc::value(key, v, 42) + "END\r\n"));
        int b = px.backend_of(key);
        REQUIRE(b >= 0);
        auto direct = mc::get_direct(px.backends[b]->port(), key);
        REQUIRE(direct.has_value());
        CHECK((*direct == v));
    }
    // Several large values in one multi-get, and append across a boundary.
    std::string reply = c.mc("get big16384 big1000000 big32769 big1\r\n", 20000ms);
    auto items = mc::parse_values(reply);
    REQUIRE(items.size() == 4);
    CHECK(items[1].data.size() == 1000000);
    CHECK((items[1].data == make_value(1000000, 12)));
    std::string tail_part = make_value(20000, 99);
    CHECK(c.mc(mc::storage("append", "big16384", tail_part)) == "STORED\r\n");
    auto appended = mc::parse_values(c.mc("get big16384\r\n"));
    REQUIRE(appended.size() == 1);
    CHECK((appended[0].data == make_value(16384, 3) + tail_part));
}
HARNESS_PROXY_TEST("memcache: large values across mbuf boundaries", large_values)

// -------------------------------------------------------------- pipelining

static void pipelined(ProxyKind kind) {
    ProxiedMemcached px(kind, 3);
    Connection c(px.port());
    std::string batch, expected;
    for (int i = 0; i < 400; ++i) {
        std::string k = key_n("pipe", i), v = std::string(static_cast<std::size_t>(i % 37), 'v') + std::to_string(i);
        batch += mc::set(k, v, static_cast<unsigned>(i));
        expected += "STORED\r\n";
        batch += "get " + k + "\r\n";
        expected += mc::value(k, v, static_cast<unsigned>(i)) + "END\r\n";
        if (i % 10 == 9) {
            std::string k2 = key_n("pipe", i - 5);
            std::string v2 = std::string(static_cast<std::size_t>((i - 5) % 37), 'v') + std::to_string(i - 5);
            batch += "get " + k + " nokey " + k2 + "\r\n";
            expected += mc::value(k, v, static_cast<unsigned>(i)) + mc::value(k2, v2, static_cast<unsigned>(i - 5)) +
                        "END\r\n";
            batch += "delete nokey" + std::to_string(i) + "\r\n";
            expected += "NOT_FOUND\r\n";
        }
    }
    c.send_all(batch);  // one write
    std::string reply = c.read_exact(expected.size(), 20000ms);
    if (reply != expected) {
        std::size_t at = 0;
        while (at < reply.size() && reply[at] == expected[at]) ++at;
        FAIL_CHECK("pipelined replies differ at byte " << at << ": got \""
                                                     << escape(reply.substr(at > 40 ? at - 40 : 0, 160))
                                                     << "\" expected \""
                                                     << escape(expected.substr(at > 40 ? at - 40 : 0, 160)) << "\"");
    }
    check_nothing_more(c, "the pipelined batch");
}
HARNESS_PROXY_TEST("memcache: many pipelined requests in one write", pipelined)

// ------------------------------------------------ requests split in pieces

static void split_requests(ProxyKind kind) {
    ProxiedMemcached px(kind, 3);
    {
        Connection c(px.port());
        REQUIRE(c.mc(mc::set("sa", "AAA")) == "STORED\r\n");
        REQUIRE(c.mc(mc::set("sb", "BB")) == "STORED\r\n");
    }
    const std::string request = "set sk 3 0 5\r\nhe\r\no\r\nget sk sa nokey sb\r\nincr nokey 1\r\n";
    const std::string expected = "STORED\r\n" + mc::value("sk", "he\r\no", 3) + mc::value("sa", "AAA") +
                                 mc::value("sb", "BB") + "END\r\nNOT_FOUND\r\n";
    // Split in two at every byte boundary.
    Connection c(px.port());
    for (std::size_t i = 1; i < request.size(); ++i) {
        INFO("split at byte " << i << ": \"" << escape(request.substr(0, i)) << "\" | \"" << escape(request.substr(i))
                              << "\"");
        c.send_all(request.substr(0, i));
        std::this_thread::sleep_for(3ms);
        c.send_all(request.substr(i));
        std::string reply = c.read_until("NOT_FOUND\r\n");
        CHECK(escape(reply) == escape(expected));
    }
    // One byte at a time.
    for (char ch : request) {
        c.send_all(std::string(1, ch));
        std::this_thread::sleep_for(1ms);
    }
    CHECK(escape(c.read_until("NOT_FOUND\r\n")) == escape(expected));
    check_nothing_more(c, "split requests");
}
HARNESS_PROXY_TEST("memcache: requests split at every byte boundary", split_requests)

// --------------------------------------------------------- many clients

static void many_clients(ProxyKind kind) {
    ProxiedMemcached px(kind, 3);
    std::vector<std::unique_ptr<Connection>> conns;
    for (int i = 0; i < 50; ++i) conns.push_back(std::make_unique<Connection>(px.port()));
    for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < conns.size(); ++i)
            conns[i]->send_all(mc::set(key_n("cl", static_cast<int>(i)), std::to_string(i * 10 + round)) + "get " +
                               key_n("cl", static_cast<int>(i)) + "\r\n");
        for (std::size_t i = 0; i < conns.size(); ++i) {
            std::string k = key_n("cl", static_cast<int>(i));
            std::string reply = conns[i]->read_until("END\r\n");
            CHECK(escape(reply) == escape("STORED\r\n" + mc::value(k, std::to_string(i * 10 + round)) + "END\r\n"));
        }
    }
}
HARNESS_PROXY_TEST("memcache: many concurrent clients", many_clients)
