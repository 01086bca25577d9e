// The redis command table's copy rules (how a pool with `replicas:` sends
// each command), held row by row to the classification written out here: a
// new command, or a changed rule, fails until this list says so too.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "command_table.hpp"

using namespace cachemux;
using namespace cachemux::redis;

namespace {

// nil means the key is absent, so another copy may still have it.
constexpr std::string_view kRead[] = {"get", "mget"};

// Changes nothing; the primary answers, another copy only on an error (a
// nil field, an empty range or a SCAN cursor says nothing about the other
// copies). COMMAND, CONFIG GET and LOLWUT are keyless and go to one server.
constexpr std::string_view kReadPrimary[] = {
    "bitcount", "bitpos", "command", "config", "dump", "exists", "geodist", "geohash", "geopos",
    "geosearch", "getbit", "getrange", "hexists", "hget", "hgetall", "hkeys", "hlen", "hmget",
    "hrandfield", "hscan", "hstrlen", "hvals", "lindex", "llen", "lolwut", "lpos", "lrange",
    "pfcount", "pttl", "scard", "sdiff", "sinter", "sismember", "smembers", "smismember",
    "srandmember", "sscan", "strlen", "sunion", "ttl", "type", "zcard", "zcount", "zdiff",
    "zinter", "zlexcount", "zmscore", "zrandmember", "zrange", "zrangebylex", "zrangebyscore",
    "zrank", "zrevrange", "zrevrangebylex", "zrevrangebyscore", "zrevrank", "zscan", "zscore",
    "zunion",
};

// Every copy: given the same data, each does the same to it. Among them
// GEORADIUS, GEORADIUSBYMEMBER and SORT, reads unless they STORE (the parser
// does not look at their options), and BITFIELD, whose GET is a read.
constexpr std::string_view kWriteAll[] = {
    "append", "bitfield", "copy", "decr", "decrby", "del", "expire", "expireat", "geoadd",
    "georadius", "georadiusbymember", "geosearchstore", "hdel", "hincrby", "hincrbyfloat", "hmset",
    "hset", "hsetnx", "incr", "incrby", "incrbyfloat", "linsert", "lpush", "lpushx", "lrem", "lset",
    "ltrim", "mset", "persist", "pexpire", "pexpireat", "pfadd", "pfmerge", "psetex", "restore",
    "rpush", "rpushx", "sadd", "sdiffstore", "set", "setbit", "setex", "setnx", "setrange",
    "sinterstore", "smove", "sort", "srem", "sunionstore", "touch", "unlink", "zadd", "zdiffstore",
    "zincrby", "zinterstore", "zrangestore", "zrem", "zremrangebylex", "zremrangebyrank",
    "zremrangebyscore", "zunionstore",
};

// The primary alone, then the key invalidated on the other copies: pops and
// moves, a value returned as the key changes (GETSET, GETDEL, GETEX; SET ...
// GET is the parser's call, SET itself is WriteAll), and scripts.
constexpr std::string_view kWritePrimary[] = {
    "eval", "evalsha", "getdel", "getex", "getset", "lmove", "lpop", "rpop", "rpoplpush",
    "spop", "zpopmax", "zpopmin",
};

// Answered by the proxy, never sent: no rule.
constexpr std::string_view kProxyAnswered[] = {
    "auth", "client", "cluster", "echo", "hello", "info", "ping", "quit", "reset", "role", "select",
};

std::map<std::string_view, abi::CopyRule> expected_rules() {
    std::map<std::string_view, abi::CopyRule> out;
    auto add = [&](const auto& names, abi::CopyRule rule) {
        for (std::string_view n : names) {
            CAPTURE(n);
            CHECK(out.emplace(n, rule).second);  // in one list only
        }
    };
    add(kRead, abi::CopyRule::Read);
    add(kReadPrimary, abi::CopyRule::ReadPrimary);
    add(kWriteAll, abi::CopyRule::WriteAll);
    add(kWritePrimary, abi::CopyRule::WritePrimary);
    add(kProxyAnswered, abi::CopyRule::Unclassified);
    return out;
}

}  // namespace

TEST_CASE("every command's copy rule is the one this test writes out") {
    const auto expected = expected_rules();
    CHECK(expected.size() == command_count);
    for (const Command& c : command_table) {
        CAPTURE(c.name);
        auto it = expected.find(c.name);
        REQUIRE(it != expected.end());
        CHECK(c.copies == it->second);
    }
    for (const auto& [name, rule] : expected) {
        CAPTURE(name);
        CHECK(find_command(name) != nullptr);
    }
}

TEST_CASE("no command sent to a server is unclassified; none the proxy answers has a rule") {
    for (const Command& c : command_table) {
        CAPTURE(c.name);
        if (c.keys == KeyRule::Proxy) {
            CHECK(c.copies == abi::CopyRule::Unclassified);
        } else {
            CHECK(c.copies != abi::CopyRule::Unclassified);
        }
    }
}

TEST_CASE("split commands have rules the core can apply per fragment") {
    // MGET's fragments are reads that may fail over on a miss; DEL, TOUCH,
    // UNLINK and MSET go to every copy of each fragment's server.
    for (const Command& c : command_table) {
        if (c.merge == Merge::None) continue;
        CAPTURE(c.name);
        CHECK((c.copies == abi::CopyRule::Read || c.copies == abi::CopyRule::WriteAll));
    }
}
