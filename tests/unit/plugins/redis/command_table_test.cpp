// The redis command table checked against what a real redis-server and
// nutcracker 0.5.0 said, and against redis 7.4's own command metadata.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdint>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "command_table.hpp"
#include "redis_7_4_commands.hpp"

using namespace cachemux::redis;

namespace {

// Captured from redis-server 7.0.15 (Debian 5:7.0.15-1~deb12u10), one entry
// per command nutcracker 0.5.0 proxies: the replies of `COMMAND INFO <name>`,
// reduced to "name arity first-key last-key key-step", with " m" when the
// flags include movablekeys.
//
// The set of names: Debian's /usr/sbin/nutcracker (0.5.0+dfsg-2) in front of
// that redis-server, each of its 138 REQ_REDIS_* request types sent with 0 to
// 7 arguments on fresh connections. A name counts as proxied when at least
// one of those got a reply; MOVE and SELECT never did (the connection was
// closed), QUIT always closes the connection, without "+OK", by design.
constexpr std::string_view kCaptured = R"(
append 3 1 1 1; auth -2 0 0 0; bitcount -2 1 1 1; bitfield -2 1 1 1;
bitpos -3 1 1 1; command -1 0 0 0; copy -3 1 2 1; decr 2 1 1 1;
decrby 3 1 1 1; del -2 1 -1 1; dump 2 1 1 1; eval -3 0 0 0 m;
evalsha -3 0 0 0 m; exists -2 1 -1 1; expire -3 1 1 1; expireat -3 1 1 1;
geoadd -5 1 1 1; geodist -4 1 1 1; geohash -2 1 1 1; geopos -2 1 1 1;
georadius -6 1 1 1 m; georadiusbymember -5 1 1 1 m; geosearch -7 1 1 1; geosearchstore -8 1 2 1;
get 2 1 1 1; getbit 3 1 1 1; getdel 2 1 1 1; getex -2 1 1 1;
getrange 4 1 1 1; getset 3 1 1 1; hdel -3 1 1 1; hexists 3 1 1 1;
hget 3 1 1 1; hgetall 2 1 1 1; hincrby 4 1 1 1; hincrbyfloat 4 1 1 1;
hkeys 2 1 1 1; hlen 2 1 1 1; hmget -3 1 1 1; hmset -4 1 1 1;
hrandfield -2 1 1 1; hscan -3 1 1 1; hset -4 1 1 1; hsetnx 4 1 1 1;
hstrlen 3 1 1 1; hvals 2 1 1 1; incr 2 1 1 1; incrby 3 1 1 1;
incrbyfloat 3 1 1 1; lindex 3 1 1 1; linsert 5 1 1 1; llen 2 1 1 1;
lmove 5 1 2 1; lolwut -1 0 0 0; lpop -2 1 1 1; lpos -3 1 1 1;
lpush -3 1 1 1; lpushx -3 1 1 1; lrange 4 1 1 1; lrem 4 1 1 1;
lset 4 1 1 1; ltrim 4 1 1 1; mget -2 1 -1 1; mset -3 1 -1 2;
persist 2 1 1 1; pexpire -3 1 1 1; pexpireat -3 1 1 1; pfadd -2 1 1 1;
pfcount -2 1 -1 1; pfmerge -2 1 -1 1; ping -1 0 0 0; psetex 4 1 1 1;
pttl 2 1 1 1; quit -1 0 0 0; restore -4 1 1 1; rpop -2 1 1 1;
rpoplpush 3 1 2 1; rpush -3 1 1 1; rpushx -3 1 1 1; sadd -3 1 1 1;
scard 2 1 1 1; sdiff -2 1 -1 1; sdiffstore -3 1 -1 1; set -3 1 1 1;
setbit 4 1 1 1; setex 4 1 1 1; setnx 3 1 1 1; setrange 4 1 1 1;
sinter -2 1 -1 1; sinterstore -3 1 -1 1; sismember 3 1 1 1; smembers 2 1 1 1;
smismember -3 1 1 1; smove 4 1 2 1; sort -2 1 1 1 m; spop -2 1 1 1;
srandmember -2 1 1 1; srem -3 1 1 1; sscan -3 1 1 1; strlen 2 1 1 1;
sunion -2 1 -1 1; sunionstore -3 1 -1 1; touch -2 1 -1 1; ttl 2 1 1 1;
type 2 1 1 1; unlink -2 1 -1 1; zadd -4 1 1 1; zcard 2 1 1 1;
zcount 4 1 1 1; zdiff -3 0 0 0 m; zdiffstore -4 1 1 1 m; zincrby 4 1 1 1;
zinter -3 0 0 0 m; zinterstore -4 1 1 1 m; zlexcount 4 1 1 1; zmscore -3 1 1 1;
zpopmax -2 1 1 1; zpopmin -2 1 1 1; zrandmember -2 1 1 1; zrange -4 1 1 1;
zrangebylex -4 1 1 1; zrangebyscore -4 1 1 1; zrangestore -5 1 2 1; zrank 3 1 1 1;
zrem -3 1 1 1; zremrangebylex 4 1 1 1; zremrangebyrank 4 1 1 1; zremrangebyscore 4 1 1 1;
zrevrange -4 1 1 1; zrevrangebylex -4 1 1 1; zrevrangebyscore -4 1 1 1; zrevrank 3 1 1 1;
zscan -3 1 1 1; zscore 3 1 1 1; zunion -3 0 0 0 m; zunionstore -4 1 1 1 m;

)";

// The commands cachemux adds to nutcracker's set so that clients connect on
// their defaults: answered by the proxy, or (CONFIG GET) sent to one server.
constexpr std::string_view kCachemuxOwn[] = {"client", "cluster", "config", "echo", "hello",
                                             "info",   "reset",   "role",   "select"};

// Sent to the same nutcracker: each made it log "parsed unsupported command"
// and close the connection (MOVE is parsed, then refused).
constexpr std::string_view kUnsupported[] = {
    "keys", "multi", "exec", "flushall", "subscribe", "foo",
    "move", "scan", "time", "dbsize", "rename", "msetnx",
    "bitop", "blpop", "object", "randomkey", "script", "sintercard", "lmpop",
    "xadd", "substr", "wait", "publish", "watch",
};

struct Captured {
    std::string name;
    int arity = 0;
    int first = 0;
    int last = 0;
    int step = 0;
    bool movable = false;
};

std::vector<Captured> captured() {
    std::vector<Captured> out;
    std::string all(kCaptured);
    std::istringstream entries(all);
    std::string entry;
    while (std::getline(entries, entry, ';')) {
        std::istringstream in(entry);
        Captured c;
        if (!(in >> c.name)) continue;  // the tail after the last ';'
        in >> c.arity >> c.first >> c.last >> c.step;
        std::string flag;
        c.movable = static_cast<bool>(in >> flag) && flag == "m";
        out.push_back(c);
    }
    return out;
}

// The rule redis's key positions imply, where KeyRule can say it exactly.
KeyRule rule_from_positions(const Captured& c) {
    if (c.first == 0) return KeyRule::Proxy;  // some keyless rule (see "keyless commands")
    if (c.first == 1 && c.last == -1 && c.step == 1) return KeyRule::All;
    if (c.first == 1 && c.last == -1 && c.step == 2) return KeyRule::Pairs;
    if (c.first == 1 && c.last == 1 && c.step == 1) return KeyRule::First;
    // 1 2 1: a second key at a fixed place; nutcracker routes by argument 1.
    if (c.first == 1 && c.last == 2 && c.step == 1) return KeyRule::First;
    FAIL("unexpected key positions for ", c.name);
    return KeyRule::Proxy;
}

std::string upper(std::string_view s) {
    std::string u(s);
    for (char& ch : u) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return u;
}

}  // namespace

// The 7.4 metadata, "name arity first last step" a line.
std::vector<Captured> redis_7_4() {
    std::vector<Captured> out;
    std::istringstream lines{std::string(testdata::kRedis74Commands)};
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream in(line);
        Captured c;
        if (!(in >> c.name)) continue;
        in >> c.arity >> c.first >> c.last >> c.step;
        out.push_back(c);
    }
    return out;
}

// Whether redis's 7.x history says `name` changed after 7.0.
bool changed_after_7_0(const std::string& name) {
    std::istringstream lines{std::string(testdata::kRedis74History)};
    std::string line;
    while (std::getline(lines, line)) {
        if (line.rfind(name + " 7.", 0) == 0) return true;
    }
    return false;
}

TEST_CASE("the table holds exactly the commands nutcracker 0.5.0 proxies, and cachemux's own") {
    const auto cap = captured();
    CHECK(cap.size() == 136);
    CHECK(command_count == cap.size() + std::size(kCachemuxOwn));
    std::set<std::string> names;
    for (const auto& c : cap) {
        names.insert(c.name);
        CAPTURE(c.name);
        CHECK(find_command(c.name) != nullptr);
    }
    CHECK(names.size() == cap.size());
    for (std::string_view own : kCachemuxOwn) {
        CAPTURE(own);
        CHECK(names.insert(std::string(own)).second);
    }
    for (const Command& c : command_table) {
        CAPTURE(c.name);
        CHECK(names.count(std::string(c.name)) == 1);
    }
}

// The table's arity is redis 7.4's (src/commands/*.json), so it accepts
// every option of the newest 7.x; and it differs from what redis-server
// 7.0.15 said only where redis's history records a change since.
TEST_CASE("arity is redis 7.4's, and redis-server 7.0.15's unless redis changed it since") {
    const auto latest = redis_7_4();
    std::set<std::string> seen;
    for (const auto& c : latest) {
        if (c.name.find('|') != std::string::npos) continue;  // a subcommand
        CAPTURE(c.name);
        const Command* cmd = find_command(c.name);
        REQUIRE(cmd != nullptr);
        CHECK(cmd->arity == c.arity);
        seen.insert(c.name);
    }
    CHECK(seen.size() == command_count);  // every row is checked
    for (const auto& c : captured()) {
        CAPTURE(c.name);
        const Command* cmd = find_command(c.name);
        REQUIRE(cmd != nullptr);
        CHECK(cmd->name == c.name);
        if (cmd->arity != c.arity) {
            CHECK(changed_after_7_0(c.name));
        }
    }
    // 7.2's WITHSCORE: four arguments.
    CHECK(arity_ok(*find_command("zrank"), 4));
    CHECK(arity_ok(*find_command("zrevrank"), 4));
}

TEST_CASE("key rules follow redis's key positions, as nutcracker routes") {
    for (const auto& c : captured()) {
        CAPTURE(c.name);
        const Command* cmd = find_command(c.name);
        REQUIRE(cmd != nullptr);
        if (c.name == "eval" || c.name == "evalsha") {
            // Keys come after numkeys (movablekeys, positions 0 0 0).
            CHECK(c.movable);
            CHECK(cmd->keys == KeyRule::Eval);
        } else if (c.name == "zdiff" || c.name == "zinter" || c.name == "zunion") {
            // Redis: numkeys at 1, keys after it. nutcracker hashes argument 1
            // all the same (seen on a two-server pool), so it is the routing key.
            CHECK(c.movable);
            CHECK(c.first == 0);
            CHECK(cmd->keys == KeyRule::First);
        } else if (c.first == 0) {
            CHECK((cmd->keys == KeyRule::Proxy || cmd->keys == KeyRule::OneServer));
        } else {
            CHECK(cmd->keys == rule_from_positions(c));
        }
    }
}

TEST_CASE("keyless commands") {
    std::set<std::string_view> proxy, one_server;
    for (const Command& c : command_table) {
        if (c.keys == KeyRule::Proxy) proxy.insert(c.name);
        if (c.keys == KeyRule::OneServer) one_server.insert(c.name);
    }
    CHECK(proxy == std::set<std::string_view>{"auth", "client", "cluster", "echo", "hello", "info", "ping", "quit",
                                              "reset", "role", "select"});
    CHECK(one_server == std::set<std::string_view>{"command", "config", "lolwut"});
    // Every keyless command has no key in redis either.
    for (const auto& c : captured()) {
        const Command* cmd = find_command(c.name);
        if (cmd->keys == KeyRule::Proxy || cmd->keys == KeyRule::OneServer) {
            CAPTURE(c.name);
            CHECK(c.first == 0);
            CHECK_FALSE(c.movable);
        }
    }
}

TEST_CASE("split commands and their merges") {
    std::set<std::string_view> split;
    for (const Command& c : command_table) {
        if (c.merge != Merge::None) split.insert(c.name);
    }
    CHECK(split == std::set<std::string_view>{"del", "mget", "mset", "touch", "unlink"});
    CHECK(find_command("mget")->merge == Merge::Array);
    CHECK(find_command("del")->merge == Merge::Sum);
    CHECK(find_command("touch")->merge == Merge::Sum);
    CHECK(find_command("unlink")->merge == Merge::Sum);
    CHECK(find_command("mset")->merge == Merge::Ok);
    CHECK(find_command("mset")->keys == KeyRule::Pairs);
    // nutcracker 0.5.0 sends EXISTS whole to the server of its first key.
    CHECK(find_command("exists")->keys == KeyRule::All);
    CHECK(find_command("exists")->merge == Merge::None);
}

TEST_CASE("lookup is case-insensitive") {
    for (const Command& c : command_table) {
        CAPTURE(c.name);
        const std::string up = upper(c.name);
        CHECK(find_command(up) == &c);
        std::string mixed(c.name);
        for (std::size_t i = 0; i < mixed.size(); i += 2) mixed[i] = up[i];
        CHECK(find_command(mixed) == &c);
        CHECK(find_command(c.name) == &c);
    }
    CHECK(find_command("GeoRadiusByMember")->name == "georadiusbymember");
    CHECK(find_command("mGeT")->id == cmd::mget);
}

TEST_CASE("commands cachemux does not know are not found") {
    for (std::string_view n : kUnsupported) {
        CAPTURE(n);
        CHECK(find_command(n) == nullptr);
        CHECK(find_command(upper(n)) == nullptr);
    }
    CHECK(find_command("") == nullptr);
    CHECK(find_command("g") == nullptr);
    CHECK(find_command("ge") == nullptr);
    CHECK(find_command("gett") == nullptr);
    CHECK(find_command("get ") == nullptr);
    CHECK(find_command(std::string_view("get\0", 4)) == nullptr);
    CHECK(find_command("georadiusbymembe") == nullptr);
    CHECK(find_command("georadiusbymemberx") == nullptr);
    CHECK(find_command("get\xc0") == nullptr);
    CHECK(find_command(std::string(4096, 'a')) == nullptr);
    CHECK(find_command("g\x05t") == nullptr);  // 'E' ^ 0x40: not a letter
}

TEST_CASE("arity_ok") {
    const Command& get = *find_command("get");
    CHECK_FALSE(arity_ok(get, 1));
    CHECK(arity_ok(get, 2));
    CHECK_FALSE(arity_ok(get, 3));
    const Command& mset = *find_command("mset");
    CHECK_FALSE(arity_ok(mset, 2));
    CHECK(arity_ok(mset, 3));
    CHECK(arity_ok(mset, 4));  // pairing is the parser's business, not arity's
    const Command& ping = *find_command("ping");
    CHECK(arity_ok(ping, 1));
    CHECK(arity_ok(ping, 2));
    CHECK_FALSE(arity_ok(ping, 0));
    const Command& geosearchstore = *find_command("geosearchstore");
    CHECK_FALSE(arity_ok(geosearchstore, 7));
    CHECK(arity_ok(geosearchstore, 8));
    static_assert(arity_ok(command_table[command_id("linsert")], 5));
    static_assert(!arity_ok(command_table[command_id("linsert")], 6));
}

TEST_CASE("ids are dense and stable names") {
    for (std::size_t i = 0; i < command_table.size(); ++i) {
        CHECK(command_table[i].id == i);
    }
    CHECK(command_table[cmd::ping].name == "ping");
    CHECK(command_table[cmd::quit].name == "quit");
    CHECK(command_table[cmd::auth].name == "auth");
    CHECK(command_table[cmd::command].name == "command");
    CHECK(command_table[cmd::lolwut].name == "lolwut");
    CHECK(command_table[cmd::eval].name == "eval");
    CHECK(command_table[cmd::evalsha].name == "evalsha");
    CHECK(command_table[cmd::mget].name == "mget");
    CHECK(command_table[cmd::mset].name == "mset");
    CHECK(command_table[cmd::del].name == "del");
    CHECK(command_table[cmd::touch].name == "touch");
    CHECK(command_table[cmd::unlink].name == "unlink");
}
