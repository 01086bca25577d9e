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
// - Copy rules (abi::CopyRule, for pools with `replicas:`): cachemux's own
//   choice per command, written out row by row and held by the unit tests to
//   an explicit list (copy_rules_test.cpp). Redis's readonly commands are
//   reads and its write commands writes (GEORADIUS, GEORADIUSBYMEMBER and
//   SORT are write commands in redis for their STORE options, BITFIELD for
//   SET and INCRBY); of those redis flags neither, COMMAND and CONFIG GET are
//   reads, EVAL and EVALSHA writes. A write goes to every copy (WriteAll)
//   when each copy, given the same data, does the same to it; to the primary
//   alone, the others then invalidated (WritePrimary), when it pops or moves
//   data, returns a value as it changes the key (GETSET, GETDEL, GETEX,
//   SET ... GET), or may act differently on each copy (a script).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "cachemux/protocol_abi.hpp"

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
    abi::CopyRule copies;   // how a pool with copies sends it; Unclassified for KeyRule::Proxy
    std::uint16_t id;       // dense index into the table (alphabetical), stable within a build
};

namespace detail {

struct Row {
    std::string_view name;
    std::int16_t arity;
    KeyRule keys;
    Merge merge;
    abi::CopyRule copies;
};

inline constexpr KeyRule kProxy = KeyRule::Proxy, kOneServer = KeyRule::OneServer, kFirst = KeyRule::First,
                         kAll = KeyRule::All, kPairs = KeyRule::Pairs, kEval = KeyRule::Eval;
inline constexpr Merge mNone = Merge::None, mArray = Merge::Array, mSum = Merge::Sum,
                       mOk = Merge::Ok;
// Read: GET and MGET only, where nil means the key is absent, so another copy
// may have it. cProxy: the proxy answers, the command is never sent.
inline constexpr abi::CopyRule cRead = abi::CopyRule::Read, cReadPrimary = abi::CopyRule::ReadPrimary,
                               cWriteAll = abi::CopyRule::WriteAll, cWritePrimary = abi::CopyRule::WritePrimary,
                               cProxy = abi::CopyRule::Unclassified;

// Sorted by name (a static_assert checks it); arity from redis 7.0.15, or
// from a later 7.x where it grew (noted). SET is WriteAll here and
// WritePrimary when it carries GET (the parser sees that option).
inline constexpr Row rows[] = {
    {"append", 3, kFirst, mNone, cWriteAll},
    {"auth", -2, kProxy, mNone, cProxy},
    {"bitcount", -2, kFirst, mNone, cReadPrimary},
    {"bitfield", -2, kFirst, mNone, cWriteAll},
    {"bitpos", -3, kFirst, mNone, cReadPrimary},
    {"client", -2, kProxy, mNone, cProxy},
    {"cluster", -2, kProxy, mNone, cProxy},
    {"command", -1, kOneServer, mNone, cReadPrimary},
    {"config", -2, kOneServer, mNone, cReadPrimary},
    {"copy", -3, kFirst, mNone, cWriteAll},
    {"decr", 2, kFirst, mNone, cWriteAll},
    {"decrby", 3, kFirst, mNone, cWriteAll},
    {"del", -2, kAll, mSum, cWriteAll},
    {"dump", 2, kFirst, mNone, cReadPrimary},
    {"echo", 2, kProxy, mNone, cProxy},
    {"eval", -3, kEval, mNone, cWritePrimary},
    {"evalsha", -3, kEval, mNone, cWritePrimary},
    {"exists", -2, kAll, mNone, cReadPrimary},
    {"expire", -3, kFirst, mNone, cWriteAll},
    {"expireat", -3, kFirst, mNone, cWriteAll},
    {"geoadd", -5, kFirst, mNone, cWriteAll},
    {"geodist", -4, kFirst, mNone, cReadPrimary},
    {"geohash", -2, kFirst, mNone, cReadPrimary},
    {"geopos", -2, kFirst, mNone, cReadPrimary},
    {"georadius", -6, kFirst, mNone, cWriteAll},
    {"georadiusbymember", -5, kFirst, mNone, cWriteAll},
    {"geosearch", -7, kFirst, mNone, cReadPrimary},
    {"geosearchstore", -8, kFirst, mNone, cWriteAll},
    {"get", 2, kFirst, mNone, cRead},
    {"getbit", 3, kFirst, mNone, cReadPrimary},
    {"getdel", 2, kFirst, mNone, cWritePrimary},
    {"getex", -2, kFirst, mNone, cWritePrimary},
    {"getrange", 4, kFirst, mNone, cReadPrimary},
    {"getset", 3, kFirst, mNone, cWritePrimary},
    {"hdel", -3, kFirst, mNone, cWriteAll},
    {"hello", -1, kProxy, mNone, cProxy},
    {"hexists", 3, kFirst, mNone, cReadPrimary},
    {"hget", 3, kFirst, mNone, cReadPrimary},
    {"hgetall", 2, kFirst, mNone, cReadPrimary},
    {"hincrby", 4, kFirst, mNone, cWriteAll},
    {"hincrbyfloat", 4, kFirst, mNone, cWriteAll},
    {"hkeys", 2, kFirst, mNone, cReadPrimary},
    {"hlen", 2, kFirst, mNone, cReadPrimary},
    {"hmget", -3, kFirst, mNone, cReadPrimary},
    {"hmset", -4, kFirst, mNone, cWriteAll},
    {"hrandfield", -2, kFirst, mNone, cReadPrimary},
    {"hscan", -3, kFirst, mNone, cReadPrimary},
    {"hset", -4, kFirst, mNone, cWriteAll},
    {"hsetnx", 4, kFirst, mNone, cWriteAll},
    {"hstrlen", 3, kFirst, mNone, cReadPrimary},
    {"hvals", 2, kFirst, mNone, cReadPrimary},
    {"incr", 2, kFirst, mNone, cWriteAll},
    {"incrby", 3, kFirst, mNone, cWriteAll},
    {"incrbyfloat", 3, kFirst, mNone, cWriteAll},
    {"info", -1, kProxy, mNone, cProxy},
    {"lindex", 3, kFirst, mNone, cReadPrimary},
    {"linsert", 5, kFirst, mNone, cWriteAll},
    {"llen", 2, kFirst, mNone, cReadPrimary},
    {"lmove", 5, kFirst, mNone, cWritePrimary},
    {"lolwut", -1, kOneServer, mNone, cReadPrimary},
    {"lpop", -2, kFirst, mNone, cWritePrimary},
    {"lpos", -3, kFirst, mNone, cReadPrimary},
    {"lpush", -3, kFirst, mNone, cWriteAll},
    {"lpushx", -3, kFirst, mNone, cWriteAll},
    {"lrange", 4, kFirst, mNone, cReadPrimary},
    {"lrem", 4, kFirst, mNone, cWriteAll},
    {"lset", 4, kFirst, mNone, cWriteAll},
    {"ltrim", 4, kFirst, mNone, cWriteAll},
    {"mget", -2, kAll, mArray, cRead},
    {"mset", -3, kPairs, mOk, cWriteAll},
    {"persist", 2, kFirst, mNone, cWriteAll},
    {"pexpire", -3, kFirst, mNone, cWriteAll},
    {"pexpireat", -3, kFirst, mNone, cWriteAll},
    {"pfadd", -2, kFirst, mNone, cWriteAll},
    {"pfcount", -2, kAll, mNone, cReadPrimary},
    {"pfmerge", -2, kAll, mNone, cWriteAll},
    {"ping", -1, kProxy, mNone, cProxy},
    {"psetex", 4, kFirst, mNone, cWriteAll},
    {"pttl", 2, kFirst, mNone, cReadPrimary},
    {"quit", -1, kProxy, mNone, cProxy},
    {"reset", 1, kProxy, mNone, cProxy},
    {"restore", -4, kFirst, mNone, cWriteAll},
    {"role", 1, kProxy, mNone, cProxy},
    {"rpop", -2, kFirst, mNone, cWritePrimary},
    {"rpoplpush", 3, kFirst, mNone, cWritePrimary},
    {"rpush", -3, kFirst, mNone, cWriteAll},
    {"rpushx", -3, kFirst, mNone, cWriteAll},
    {"sadd", -3, kFirst, mNone, cWriteAll},
    {"scard", 2, kFirst, mNone, cReadPrimary},
    {"sdiff", -2, kAll, mNone, cReadPrimary},
    {"sdiffstore", -3, kAll, mNone, cWriteAll},
    {"select", 2, kProxy, mNone, cProxy},
    {"set", -3, kFirst, mNone, cWriteAll},
    {"setbit", 4, kFirst, mNone, cWriteAll},
    {"setex", 4, kFirst, mNone, cWriteAll},
    {"setnx", 3, kFirst, mNone, cWriteAll},
    {"setrange", 4, kFirst, mNone, cWriteAll},
    {"sinter", -2, kAll, mNone, cReadPrimary},
    {"sinterstore", -3, kAll, mNone, cWriteAll},
    {"sismember", 3, kFirst, mNone, cReadPrimary},
    {"smembers", 2, kFirst, mNone, cReadPrimary},
    {"smismember", -3, kFirst, mNone, cReadPrimary},
    {"smove", 4, kFirst, mNone, cWriteAll},
    {"sort", -2, kFirst, mNone, cWriteAll},
    {"spop", -2, kFirst, mNone, cWritePrimary},
    {"srandmember", -2, kFirst, mNone, cReadPrimary},
    {"srem", -3, kFirst, mNone, cWriteAll},
    {"sscan", -3, kFirst, mNone, cReadPrimary},
    {"strlen", 2, kFirst, mNone, cReadPrimary},
    {"sunion", -2, kAll, mNone, cReadPrimary},
    {"sunionstore", -3, kAll, mNone, cWriteAll},
    {"touch", -2, kAll, mSum, cWriteAll},
    {"ttl", 2, kFirst, mNone, cReadPrimary},
    {"type", 2, kFirst, mNone, cReadPrimary},
    {"unlink", -2, kAll, mSum, cWriteAll},
    {"zadd", -4, kFirst, mNone, cWriteAll},
    {"zcard", 2, kFirst, mNone, cReadPrimary},
    {"zcount", 4, kFirst, mNone, cReadPrimary},
    {"zdiff", -3, kFirst, mNone, cReadPrimary},
    {"zdiffstore", -4, kFirst, mNone, cWriteAll},
    {"zincrby", 4, kFirst, mNone, cWriteAll},
    {"zinter", -3, kFirst, mNone, cReadPrimary},
    {"zinterstore", -4, kFirst, mNone, cWriteAll},
    {"zlexcount", 4, kFirst, mNone, cReadPrimary},
    {"zmscore", -3, kFirst, mNone, cReadPrimary},
    {"zpopmax", -2, kFirst, mNone, cWritePrimary},
    {"zpopmin", -2, kFirst, mNone, cWritePrimary},
    {"zrandmember", -2, kFirst, mNone, cReadPrimary},
    {"zrange", -4, kFirst, mNone, cReadPrimary},
    {"zrangebylex", -4, kFirst, mNone, cReadPrimary},
    {"zrangebyscore", -4, kFirst, mNone, cReadPrimary},
    {"zrangestore", -5, kFirst, mNone, cWriteAll},
    {"zrank", -3, kFirst, mNone, cReadPrimary},  // 7.2: WITHSCORE
    {"zrem", -3, kFirst, mNone, cWriteAll},
    {"zremrangebylex", 4, kFirst, mNone, cWriteAll},
    {"zremrangebyrank", 4, kFirst, mNone, cWriteAll},
    {"zremrangebyscore", 4, kFirst, mNone, cWriteAll},
    {"zrevrange", -4, kFirst, mNone, cReadPrimary},
    {"zrevrangebylex", -4, kFirst, mNone, cReadPrimary},
    {"zrevrangebyscore", -4, kFirst, mNone, cReadPrimary},
    {"zrevrank", -3, kFirst, mNone, cReadPrimary},  // 7.2: WITHSCORE
    {"zscan", -3, kFirst, mNone, cReadPrimary},
    {"zscore", 3, kFirst, mNone, cReadPrimary},
    {"zunion", -3, kFirst, mNone, cReadPrimary},
    {"zunionstore", -4, kFirst, mNone, cWriteAll},
};

constexpr std::array<Command, std::size(rows)> build_table() {
    std::array<Command, std::size(rows)> t{};
    for (std::size_t i = 0; i < std::size(rows); ++i) {
        t[i] = Command{rows[i].name, rows[i].arity, rows[i].keys, rows[i].merge, rows[i].copies,
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
inline constexpr std::uint16_t set = command_id("set");
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
