// The redis commands cachemux knows, with redis's own arity, and a
// case-insensitive lookup for the request parser.
//
// Where the facts come from (see command_table_test.cpp for the captured data):
// - The set: the commands Debian's nutcracker 0.5.0 proxies, probed black-box
//   against a local redis-server, plus the commands the proxy answers itself
//   so that today's clients connect on their defaults (KeyRule::Proxy: INFO,
//   CLIENT, HELLO, SELECT, ROLE, ...) and CONFIG, which goes to one server. Any
//   other name gets redis's "unknown command" error.
//   nutcracker's parser knows 138 command names (the REQ_REDIS_* message
//   types); MOVE is among them but every request using it makes nutcracker
//   close the connection, so it is not here.
// - Arity: `COMMAND INFO <name>` on redis-server 7.0.15, except where a later
//   7.x release widened it (redis's src/commands/*.json; ZRANK and ZREVRANK
//   take WITHSCORE since 7.2). The unit tests hold every row to both.
// - Key rules: COMMAND INFO's first/last/step key positions, adjusted to how
//   nutcracker routes (see KeyRule).
// - Splitting: a two-server pool; only MGET, DEL, TOUCH, UNLINK and MSET
//   reach both servers. EXISTS, although documented as split, goes whole to
//   the server of its first key and answers that server's count.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cachemux::redis {

// How a command's keys are found among its arguments (argument 0 is the
// command name). A command that is not split (Merge::None) is routed by its
// first key whatever its rule says, as nutcracker does: argument 1, or for
// Eval argument 3.
enum class KeyRule : std::uint8_t {
    Proxy,  // no key: the proxy answers (proxy_commands.cpp). nutcracker
            // answered PING, QUIT and AUTH itself; the rest are cachemux's.
    OneServer,  // no key: sent whole to one server, the one an empty key hashes
                // to, as nutcracker does with COMMAND and LOLWUT (and CONFIG GET).
    First,  // argument 1 is the key routed by. Also used where redis knows a
            // second key at a fixed place (RPOPLPUSH, SMOVE, LMOVE, COPY,
            // ZRANGESTORE, GEOSEARCHSTORE: it must live on the same server)
            // and for ZDIFF/ZINTER/ZUNION, whose argument 1 is numkeys:
            // nutcracker hashes that number (checked black-box).
    All,    // every argument from 1 is a key (MGET, DEL, SDIFF, PFCOUNT, ...)
    Pairs,  // arguments 1,3,5,... are keys, each followed by a value (MSET)
    Eval,   // EVAL/EVALSHA: argument 2 is numkeys, keys follow from 3
};

// How the replies of a command split over several servers are merged.
enum class Merge : std::uint8_t {
    None,   // never split: routed by its first key
    Array,  // MGET: one array, values in key order
    Sum,    // DEL, TOUCH, UNLINK: the integers added up
    Ok,     // MSET: +OK once all said OK
};

struct Command {
    std::string_view name;  // lower case, as redis spells it in error messages ("get")
    std::int16_t arity;     // redis convention: N > 0 exactly N arguments (command
                            // included), -N at least N
    KeyRule keys;
    Merge merge;
    std::uint16_t id;       // dense index into the table (alphabetical), stable within a build
};

namespace detail {

struct Row {
    std::string_view name;
    std::int16_t arity;
    KeyRule keys;
    Merge merge;
};

inline constexpr KeyRule kProxy = KeyRule::Proxy, kOneServer = KeyRule::OneServer, kFirst = KeyRule::First,
                         kAll = KeyRule::All, kPairs = KeyRule::Pairs, kEval = KeyRule::Eval;
inline constexpr Merge mNone = Merge::None, mArray = Merge::Array, mSum = Merge::Sum,
                       mOk = Merge::Ok;

// Sorted by name (a static_assert checks it); arity from redis 7.0.15, or
// from a later 7.x where it grew (noted).
inline constexpr Row rows[] = {
    {"append", 3, kFirst, mNone},
    {"auth", -2, kProxy, mNone},
    {"bitcount", -2, kFirst, mNone},
    {"bitfield", -2, kFirst, mNone},
    {"bitpos", -3, kFirst, mNone},
    {"client", -2, kProxy, mNone},
    {"cluster", -2, kProxy, mNone},
    {"command", -1, kOneServer, mNone},
    {"config", -2, kOneServer, mNone},
    {"copy", -3, kFirst, mNone},
    {"decr", 2, kFirst, mNone},
    {"decrby", 3, kFirst, mNone},
    {"del", -2, kAll, mSum},
    {"dump", 2, kFirst, mNone},
    {"echo", 2, kProxy, mNone},
    {"eval", -3, kEval, mNone},
    {"evalsha", -3, kEval, mNone},
    {"exists", -2, kAll, mNone},
    {"expire", -3, kFirst, mNone},
    {"expireat", -3, kFirst, mNone},
    {"geoadd", -5, kFirst, mNone},
    {"geodist", -4, kFirst, mNone},
    {"geohash", -2, kFirst, mNone},
    {"geopos", -2, kFirst, mNone},
    {"georadius", -6, kFirst, mNone},
    {"georadiusbymember", -5, kFirst, mNone},
    {"geosearch", -7, kFirst, mNone},
    {"geosearchstore", -8, kFirst, mNone},
    {"get", 2, kFirst, mNone},
    {"getbit", 3, kFirst, mNone},
    {"getdel", 2, kFirst, mNone},
    {"getex", -2, kFirst, mNone},
    {"getrange", 4, kFirst, mNone},
    {"getset", 3, kFirst, mNone},
    {"hdel", -3, kFirst, mNone},
    {"hello", -1, kProxy, mNone},
    {"hexists", 3, kFirst, mNone},
    {"hget", 3, kFirst, mNone},
    {"hgetall", 2, kFirst, mNone},
    {"hincrby", 4, kFirst, mNone},
    {"hincrbyfloat", 4, kFirst, mNone},
    {"hkeys", 2, kFirst, mNone},
    {"hlen", 2, kFirst, mNone},
    {"hmget", -3, kFirst, mNone},
    {"hmset", -4, kFirst, mNone},
    {"hrandfield", -2, kFirst, mNone},
    {"hscan", -3, kFirst, mNone},
    {"hset", -4, kFirst, mNone},
    {"hsetnx", 4, kFirst, mNone},
    {"hstrlen", 3, kFirst, mNone},
    {"hvals", 2, kFirst, mNone},
    {"incr", 2, kFirst, mNone},
    {"incrby", 3, kFirst, mNone},
    {"incrbyfloat", 3, kFirst, mNone},
    {"info", -1, kProxy, mNone},
    {"lindex", 3, kFirst, mNone},
    {"linsert", 5, kFirst, mNone},
    {"llen", 2, kFirst, mNone},
    {"lmove", 5, kFirst, mNone},
    {"lolwut", -1, kOneServer, mNone},
    {"lpop", -2, kFirst, mNone},
    {"lpos", -3, kFirst, mNone},
    {"lpush", -3, kFirst, mNone},
    {"lpushx", -3, kFirst, mNone},
    {"lrange", 4, kFirst, mNone},
    {"lrem", 4, kFirst, mNone},
    {"lset", 4, kFirst, mNone},
    {"ltrim", 4, kFirst, mNone},
    {"mget", -2, kAll, mArray},
    {"mset", -3, kPairs, mOk},
    {"persist", 2, kFirst, mNone},
    {"pexpire", -3, kFirst, mNone},
    {"pexpireat", -3, kFirst, mNone},
    {"pfadd", -2, kFirst, mNone},
    {"pfcount", -2, kAll, mNone},
    {"pfmerge", -2, kAll, mNone},
    {"ping", -1, kProxy, mNone},
    {"psetex", 4, kFirst, mNone},
    {"pttl", 2, kFirst, mNone},
    {"quit", -1, kProxy, mNone},
    {"reset", 1, kProxy, mNone},
    {"restore", -4, kFirst, mNone},
    {"role", 1, kProxy, mNone},
    {"rpop", -2, kFirst, mNone},
    {"rpoplpush", 3, kFirst, mNone},
    {"rpush", -3, kFirst, mNone},
    {"rpushx", -3, kFirst, mNone},
    {"sadd", -3, kFirst, mNone},
    {"scard", 2, kFirst, mNone},
    {"sdiff", -2, kAll, mNone},
    {"sdiffstore", -3, kAll, mNone},
    {"select", 2, kProxy, mNone},
    {"set", -3, kFirst, mNone},
    {"setbit", 4, kFirst, mNone},
    {"setex", 4, kFirst, mNone},
    {"setnx", 3, kFirst, mNone},
    {"setrange", 4, kFirst, mNone},
    {"sinter", -2, kAll, mNone},
    {"sinterstore", -3, kAll, mNone},
    {"sismember", 3, kFirst, mNone},
    {"smembers", 2, kFirst, mNone},
    {"smismember", -3, kFirst, mNone},
    {"smove", 4, kFirst, mNone},
    {"sort", -2, kFirst, mNone},
    {"spop", -2, kFirst, mNone},
    {"srandmember", -2, kFirst, mNone},
    {"srem", -3, kFirst, mNone},
    {"sscan", -3, kFirst, mNone},
    {"strlen", 2, kFirst, mNone},
    {"sunion", -2, kAll, mNone},
    {"sunionstore", -3, kAll, mNone},
    {"touch", -2, kAll, mSum},
    {"ttl", 2, kFirst, mNone},
    {"type", 2, kFirst, mNone},
    {"unlink", -2, kAll, mSum},
    {"zadd", -4, kFirst, mNone},
    {"zcard", 2, kFirst, mNone},
    {"zcount", 4, kFirst, mNone},
    {"zdiff", -3, kFirst, mNone},
    {"zdiffstore", -4, kFirst, mNone},
    {"zincrby", 4, kFirst, mNone},
    {"zinter", -3, kFirst, mNone},
    {"zinterstore", -4, kFirst, mNone},
    {"zlexcount", 4, kFirst, mNone},
    {"zmscore", -3, kFirst, mNone},
    {"zpopmax", -2, kFirst, mNone},
    {"zpopmin", -2, kFirst, mNone},
    {"zrandmember", -2, kFirst, mNone},
    {"zrange", -4, kFirst, mNone},
    {"zrangebylex", -4, kFirst, mNone},
    {"zrangebyscore", -4, kFirst, mNone},
    {"zrangestore", -5, kFirst, mNone},
    {"zrank", -3, kFirst, mNone},  // 7.2: WITHSCORE
    {"zrem", -3, kFirst, mNone},
    {"zremrangebylex", 4, kFirst, mNone},
    {"zremrangebyrank", 4, kFirst, mNone},
    {"zremrangebyscore", 4, kFirst, mNone},
    {"zrevrange", -4, kFirst, mNone},
    {"zrevrangebylex", -4, kFirst, mNone},
    {"zrevrangebyscore", -4, kFirst, mNone},
    {"zrevrank", -3, kFirst, mNone},  // 7.2: WITHSCORE
    {"zscan", -3, kFirst, mNone},
    {"zscore", 3, kFirst, mNone},
    {"zunion", -3, kFirst, mNone},
    {"zunionstore", -4, kFirst, mNone},
};

constexpr std::array<Command, std::size(rows)> build_table() {
    std::array<Command, std::size(rows)> t{};
    for (std::size_t i = 0; i < std::size(rows); ++i) {
        t[i] = Command{rows[i].name, rows[i].arity, rows[i].keys, rows[i].merge,
                       static_cast<std::uint16_t>(i)};
    }
    return t;
}

}  // namespace detail

// Every command cachemux knows, ordered by name; command_table[i].id == i.
inline constexpr std::array<Command, std::size(detail::rows)> command_table = detail::build_table();
inline constexpr std::size_t command_count = command_table.size();
// The longest name ("georadiusbymember"); longer names are never commands.
inline constexpr std::size_t max_command_name = 17;

// The id of a command given its lower-case name, for use at compile time
// (e.g. `case cmd::ping:`); not a command is a compile error in constant
// evaluation.
consteval std::uint16_t command_id(std::string_view lower_name) {
    for (const Command& c : command_table) {
        if (c.name == lower_name) return c.id;
    }
    throw "not a command cachemux knows";
}

// Ids of the commands a parser treats specially.
namespace cmd {
inline constexpr std::uint16_t client = command_id("client");
inline constexpr std::uint16_t cluster = command_id("cluster");
inline constexpr std::uint16_t config = command_id("config");
inline constexpr std::uint16_t echo = command_id("echo");
inline constexpr std::uint16_t hello = command_id("hello");
inline constexpr std::uint16_t info = command_id("info");
inline constexpr std::uint16_t reset = command_id("reset");
inline constexpr std::uint16_t role = command_id("role");
inline constexpr std::uint16_t select = command_id("select");
inline constexpr std::uint16_t ping = command_id("ping");
inline constexpr std::uint16_t quit = command_id("quit");
inline constexpr std::uint16_t auth = command_id("auth");
inline constexpr std::uint16_t command = command_id("command");
inline constexpr std::uint16_t lolwut = command_id("lolwut");
inline constexpr std::uint16_t eval = command_id("eval");
inline constexpr std::uint16_t evalsha = command_id("evalsha");
inline constexpr std::uint16_t mget = command_id("mget");
inline constexpr std::uint16_t mset = command_id("mset");
inline constexpr std::uint16_t del = command_id("del");
inline constexpr std::uint16_t touch = command_id("touch");
inline constexpr std::uint16_t unlink = command_id("unlink");
}  // namespace cmd

// Case-insensitive; nullptr for a command cachemux does not know.
// No allocation: a hashed index built at compile time, one string compare.
const Command* find_command(std::string_view name);
// The command with `id` (a RequestInfo::command the parser set).
inline const Command* command_by_id(std::uint16_t id) {
    return id < command_count ? &command_table[id] : nullptr;
}

// Whether `arg` spells `lower` (lower case) in any letter case, as redis
// matches command names, subcommands and options.
constexpr bool equals_ignoring_case(std::string_view arg, std::string_view lower) {
    if (arg.size() != lower.size()) return false;
    for (std::size_t i = 0; i < arg.size(); ++i) {
        char ch = arg[i];
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        if (ch != lower[i]) return false;
    }
    return true;
}

// Whether a command with `argc` arguments (command included) has a valid count.
constexpr bool arity_ok(const Command& c, std::uint32_t argc) {
    return c.arity >= 0 ? argc == static_cast<std::uint32_t>(c.arity)
                        : argc >= static_cast<std::uint32_t>(-c.arity);
}

}  // namespace cachemux::redis
