// `replicas:` and its policies (`write`, `read`, `read_failover`, `backfill_ttl`): cachemux's
// own keys, read beside nutcracker's without changing how nutcracker's are
// read (config_test.cpp holds those against nutcracker 0.5.0's verdicts).
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <string>
#include <vector>

#include "config/config.hpp"

using namespace cachemux;

namespace {

const std::string kFile = "conf/x.yml";

// Numeric addresses only: keeps the tests off DNS.
std::string offline_resolver(const std::string& host, int) {
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1) return "";
    return "not a numeric address";
}

Config parse(const std::string& yaml) { return parse_config(yaml, kFile, offline_resolver); }

// The message of the ConfigError parsing `yaml` throws ("" if it parses).
std::string error_of(const std::string& yaml) {
    try {
        parse(yaml);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

// Lines 1-5; `replicas:` is line 6 in replicated(), its items from line 7.
const std::string kHead =
    "alpha:\n"
    "  listen: 127.0.0.1:22121\n"
    "  timeout: 400\n"
    "  servers:\n"
    "   - 127.0.0.1:11211:1 a\n";
// Lines 7-8 after replicated()'s `replicas:`.
const std::string kOneCopy =
    "   - servers:\n"
    "      - 127.0.0.1:11212:1 b\n";

std::string replicated(const std::string& items, const std::string& after = "") {
    return kHead + "  replicas:\n" + items + after;
}

std::vector<std::string> names(const std::vector<ServerConfig>& servers) {
    std::vector<std::string> out;
    for (const ServerConfig& s : servers) out.push_back(s.name);
    return out;
}

const std::string kTooManyReplicas =
    "too many replicas: at most 7 (8 copies with 'servers'), since every write goes to each copy, which "
    "bounds its fan-out, and the core keeps a request's copy index in a byte";

}  // namespace

TEST_CASE("replicas: each copy is read like 'servers' and sorted as nutcracker sorts it") {
    Config c = parse(
        "sessions:\n"                          // 1
        "  listen: 127.0.0.1:22121\n"          // 2
        "  hash: fnv1a_64\n"                   // 3
        "  distribution: ketama\n"             // 4
        "  timeout: 400\n"                     // 5
        "  servers:\n"                         // 6
        "   - 127.0.0.1:11212:1 a2\n"          // 7
        "   - 127.0.0.1:11211:1 a1\n"          // 8
        "  replicas:\n"                        // 9
        "   - servers:\n"                      // 10
        "      - 127.0.0.1:11214:2 b10\n"      // 11
        "      - 127.0.0.1:11213:1 b9\n"       // 12
        "      - 127.0.0.1:11216:1 b\n"        // 13
        "   - servers:\n"                      // 14
        "      - 127.0.0.1:11215:3\n"          // 15
        "      - /tmp/c.sock:2\n"              // 16
        "      - 10.0.0.9:11211:1\n"           // 17
        "  write: one\n"                       // 18
        "  read: spread\n"                     // 19
        "  read_failover: error\n");           // 20
    REQUIRE(c.pools.size() == 1);
    const PoolConfig& p = c.pools[0];
    CHECK(p.copies() == 3);
    REQUIRE(p.replicas.size() == 2);
    CHECK(names(p.servers) == std::vector<std::string>{"a1", "a2"});
    // Shorter names first, then bytewise: "b10" after "b9".
    CHECK(names(p.replicas[0]) == std::vector<std::string>{"b", "b9", "b10"});
    // Unnamed servers get nutcracker's names: "/path:" for a unix socket,
    // the host alone for port 11211, else "host:port".
    CHECK(names(p.replicas[1]) == std::vector<std::string>{"10.0.0.9", "/tmp/c.sock:", "127.0.0.1:11215"});

    const ServerConfig& b10 = p.replicas[0][2];
    CHECK(b10.pname == "127.0.0.1:11214:2");
    CHECK(b10.endpoint.host == "127.0.0.1");
    CHECK(b10.endpoint.port == 11214);
    CHECK(b10.weight == 2);
    CHECK(b10.line == 11);
    CHECK(p.replicas[0][0].line == 13);
    const ServerConfig& sock = p.replicas[1][1];
    CHECK(sock.endpoint.is_unix());
    CHECK(sock.endpoint.unix_path == "/tmp/c.sock");
    CHECK(sock.weight == 2);
    CHECK(sock.line == 16);
    const ServerConfig& unnamed = p.replicas[1][2];
    CHECK(unnamed.pname == "127.0.0.1:11215:3");
    CHECK(unnamed.endpoint.port == 11215);
    CHECK(unnamed.weight == 3);
    CHECK(p.replicas[1][0].endpoint.port == 11211);

    CHECK(p.copy_write == PoolConfig::CopyWrite::One);
    CHECK(p.copy_read == PoolConfig::CopyRead::Spread);
    CHECK_FALSE(p.read_failover_on_miss);
    CHECK(p.line_of("replicas") == 9);
    CHECK(p.line_of("write") == 18);
    CHECK(p.line_of("read_failover") == 20);
    // Memcache without auto_eject_hosts: no copy is ever ejected, none flushed.
    CHECK_FALSE(p.flush_on_rejoin);
}

TEST_CASE("replicas: the policies' defaults, and a plain pool has one copy") {
    const PoolConfig p = parse(replicated(kOneCopy)).pools[0];
    CHECK(p.copies() == 2);
    CHECK(p.copy_write == PoolConfig::CopyWrite::All);
    CHECK(p.copy_read == PoolConfig::CopyRead::Primary);
    CHECK(p.read_failover_on_miss);

    const PoolConfig plain = parse(kHead).pools[0];
    CHECK(plain.replicas.empty());
    CHECK(plain.copies() == 1);
    CHECK(plain.copy_write == PoolConfig::CopyWrite::All);
    CHECK(plain.copy_read == PoolConfig::CopyRead::Primary);
    CHECK(plain.read_failover_on_miss);
    CHECK(plain.key_lines.count("replicas") == 0);

    // Each policy word, one at a time.
    auto with_policy = [](const std::string& line) { return parse(replicated(kOneCopy, line)).pools[0]; };
    CHECK(with_policy("  write: all\n").copy_write == PoolConfig::CopyWrite::All);
    CHECK(with_policy("  write: one\n").copy_write == PoolConfig::CopyWrite::One);
    CHECK(with_policy("  read: primary\n").copy_read == PoolConfig::CopyRead::Primary);
    CHECK(with_policy("  read: spread\n").copy_read == PoolConfig::CopyRead::Spread);
    CHECK(with_policy("  read_failover: miss\n").read_failover_on_miss);
    CHECK_FALSE(with_policy("  read_failover: error\n").read_failover_on_miss);
    CHECK(p.backfill_ttl_s == 300);
    CHECK(with_policy("  backfill_ttl: 0\n").backfill_ttl_s == 0);
    CHECK(with_policy("  backfill_ttl: 86400\n").backfill_ttl_s == 86400);
    // Up to 7 replicas, 8 copies.
    std::string seven;
    for (int i = 0; i < 7; ++i) seven += "   - servers:\n      - 127.0.0.1:" + std::to_string(11300 + i) + ":1\n";
    CHECK(parse(replicated(seven)).pools[0].copies() == 8);
}

TEST_CASE("replicas: the policies' errors") {
    struct Case {
        const char* what;
        std::string yaml;
        std::string message;
    };
    const std::string at = "conf/x.yml:9: pool 'alpha': key ";
    const std::vector<Case> cases = {
        {"write value", replicated(kOneCopy, "  write: both\n"),
         at + "'write': invalid value \"both\" (expected all or one)"},
        {"read value", replicated(kOneCopy, "  read: any\n"),
         at + "'read': invalid value \"any\" (expected primary or spread)"},
        {"read_failover value", replicated(kOneCopy, "  read_failover: true\n"),
         at + "'read_failover': invalid value \"true\" (expected miss or error)"},
        {"values are case-sensitive, as nutcracker's booleans are", replicated(kOneCopy, "  write: All\n"),
         at + "'write': invalid value \"All\" (expected all or one)"},
        {"write without replicas", kHead + "  write: one\n",
         "conf/x.yml:6: pool 'alpha': key 'write': applies only to a pool with replicas: add a 'replicas:' "
         "list of further copies, or remove the key"},
        {"read without replicas", kHead + "  read: primary\n",
         "conf/x.yml:6: pool 'alpha': key 'read': applies only to a pool with replicas: add a 'replicas:' "
         "list of further copies, or remove the key"},
        {"read_failover without replicas", kHead + "  backlog: 5\n  read_failover: miss\n",
         "conf/x.yml:7: pool 'alpha': key 'read_failover': applies only to a pool with replicas: add a "
         "'replicas:' list of further copies, or remove the key"},
        {"backfill_ttl value", replicated(kOneCopy, "  backfill_ttl: soon\n"),
         at + "'backfill_ttl': invalid number \"soon\" (expected a non-negative decimal integer below 2147483648)"},
        {"backfill_ttl without replicas", kHead + "  backfill_ttl: 60\n",
         "conf/x.yml:6: pool 'alpha': key 'backfill_ttl': applies only to a pool with replicas: add a "
         "'replicas:' list of further copies, or remove the key"},
        {"write empty", replicated(kOneCopy, "  write:\n"), at + "'write': empty value"},
        {"write twice", replicated(kOneCopy, "  write: all\n  read: spread\n  write: one\n"),
         "conf/x.yml:11: pool 'alpha': key 'write': duplicate key (already set on line 9)"},
        {"replicas twice", replicated(kOneCopy, "  replicas:\n" + kOneCopy),
         "conf/x.yml:9: pool 'alpha': key 'replicas': duplicate key (already set on line 6)"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CAPTURE(c.yaml);
        CHECK(error_of(c.yaml) == c.message);
    }
}

TEST_CASE("replicas: anything but '- servers:' items with server lines is refused, naming the line") {
    struct Case {
        const char* what;
        std::string yaml;
        std::string message;
    };
    const std::string at = "conf/x.yml:";
    const std::string key = ": pool 'alpha': key 'replicas': ";
    const std::string not_a_replica =
        "a replica must be a mapping holding its server list (write '- servers:' and the copy's server "
        "lines under it), not ";
    const std::vector<Case> cases = {
        {"a scalar", kHead + "  replicas: 127.0.0.1:11212:1\n",
         at + "6" + key + "must be a list of copies, each '- servers:' with that copy's server lines under "
                          "it, not a scalar"},
        {"empty", kHead + "  replicas:\n",
         at + "6" + key + "is empty: list the further copies of the pool, each as '- servers:' with that "
                          "copy's server lines under it"},
        {"a mapping", kHead + "  replicas:\n    servers:\n     - 127.0.0.1:11212:1\n",
         at + "7" + key + "must be a list of copies, each '- servers:' with that copy's server lines under "
                          "it, not a mapping"},
        {"a list of server lines", replicated("   - 127.0.0.1:11212:1\n"), at + "7" + key + not_a_replica + "a scalar"},
        {"an empty item", replicated(kOneCopy + "   -\n"), at + "9" + key + not_a_replica + "an empty item"},
        {"a list in a list", replicated("   -\n     - 127.0.0.1:11212:1\n"), at + "8" + key + not_a_replica + "a list"},
        {"another key beside servers", replicated(kOneCopy + "     weight: 2\n"),
         at + "9" + key + "unknown key \"weight\" in a replica: a replica has only 'servers', its own server "
                          "list (the pool's other settings apply to every copy)"},
        {"no servers", replicated("   - listen: 127.0.0.1:22122\n"),
         at + "7" + key + "unknown key \"listen\" in a replica: a replica has only 'servers', its own server "
                          "list (the pool's other settings apply to every copy)"},
        {"servers twice in a replica", replicated(kOneCopy + "     servers:\n      - 127.0.0.1:11213:1\n"),
         at + "9" + key + "a replica has one 'servers' list (there is already one on line 7)"},
        {"servers a scalar", replicated("   - servers: 127.0.0.1:11212:1\n"),
         at + "7" + key + "a replica's 'servers' must be a list of server lines, one '- host:port:weight "
                          "[name]' per line, not a scalar"},
        {"servers a mapping", replicated("   - servers:\n       x: y\n"),
         at + "8" + key + "a replica's 'servers' must be a list of server lines, one '- host:port:weight "
                          "[name]' per line, not a mapping"},
        {"servers empty", replicated(kOneCopy + "   - servers:\n"),
         at + "9" + key + "a replica's 'servers' is empty: every copy needs at least one server "
                          "('- host:port:weight [name]' lines under it)"},
        {"a server line that is a mapping", replicated("   - servers:\n      - a: b\n"),
         at + "8" + key + "server lines must be scalars, not a mapping"},
        {"a server line that is a list", replicated("   - servers:\n      -\n        - 127.0.0.1:1:1\n"),
         at + "9" + key + "server lines must be scalars, not a list"},
        {"an empty server line", replicated("   - servers:\n      - 127.0.0.1:11212:1\n      -\n"),
         at + "9" + key + "empty value"},
        // The lines are `servers:` lines, with their errors.
        {"weight 0", replicated("   - servers:\n      - 127.0.0.1:11212:0\n"),
         at + "8" + key + "invalid server \"127.0.0.1:11212:0\": the weight must not be 0"},
        {"no weight", replicated("   - servers:\n      - 127.0.0.1:11212\n"),
         at + "8" + key + "invalid server \"127.0.0.1:11212\": expected \"host:port:weight [name]\" or "
                          "\"/path/to/socket:weight [name]\""},
        {"port 0", replicated(kOneCopy + "   - servers:\n      - 127.0.0.1:0:1 c\n"),
         at + "10" + key + "invalid server \"127.0.0.1:0:1 c\": invalid port \"0\" (expected 1..65535)"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CAPTURE(c.yaml);
        CHECK(error_of(c.yaml) == c.message);
    }
}

TEST_CASE("replicas: a timeout, at most 7, and server names unique across the copies") {
    struct Case {
        const char* what;
        std::string yaml;
        std::string message;
    };
    std::string eight;
    for (int i = 0; i < 8; ++i) eight += "   - servers:\n      - 127.0.0.1:" + std::to_string(11300 + i) + ":1\n";
    const std::string no_timeout =
        "alpha:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1 a\n  replicas:\n" + kOneCopy;
    const std::string cross_copy =
        "; the stats list every copy's servers under the pool, so names must differ across 'servers' and "
        "every replica: give the servers distinct names with 'host:port:weight name')";
    const std::vector<Case> cases = {
        {"no timeout", no_timeout,
         "conf/x.yml:5: pool 'alpha': key 'replicas': needs 'timeout' (in milliseconds, e.g. 'timeout: 400'): "
         "a write goes to every copy, and without a timeout one copy that stops answering would hang every "
         "write (nutcracker's default is to wait forever)"},
        {"timeout 0", no_timeout + "  timeout: 0\n",
         "conf/x.yml:8: pool 'alpha': key 'timeout': must be above 0 in a pool with replicas (line 5): 0 "
         "waits forever, and a write goes to every copy, so one copy that stops answering would hang every "
         "write"},
        {"8 replicas", replicated(eight), "conf/x.yml:21: pool 'alpha': key 'replicas': " + kTooManyReplicas},
        {"a replica reuses a name of 'servers'", replicated(kOneCopy + "   - servers:\n      - 10.0.0.1:1:1 a\n"),
         "conf/x.yml:10: pool 'alpha': key 'replicas': duplicate server name \"a\" in replica 2 (also the "
         "name of \"127.0.0.1:11211:1\" on line 5, in 'servers'" + cross_copy},
        // The same address under another name is accepted, as within one
        // pool (nutcracker's "same server, two names").
        {"the same address in two copies", replicated("   - servers:\n      - 127.0.0.1:11211:2\n"), ""},
        // Unnamed, both are "127.0.0.1" (port 11211 is left out of the name).
        {"the same unnamed address in two copies",
         "alpha:\n  listen: 127.0.0.1:22121\n  timeout: 400\n  servers:\n   - 127.0.0.1:11211:1\n"
         "  replicas:\n   - servers:\n      - 127.0.0.1:11211:2\n",
         "conf/x.yml:8: pool 'alpha': key 'replicas': duplicate server name \"127.0.0.1\" in replica 1 (also "
         "the name of \"127.0.0.1:11211:1\" on line 5, in 'servers'" + cross_copy},
        {"two replicas share a name", replicated(kOneCopy + "   - servers:\n      - 10.0.0.1:1:1 c\n"
                                                             "      - 10.0.0.2:2:1 b\n"),
         "conf/x.yml:11: pool 'alpha': key 'replicas': duplicate server name \"b\" in replica 2 (also the "
         "name of \"127.0.0.1:11212:1\" on line 8, in replica 1" + cross_copy},
        {"a name twice in one replica", replicated("   - servers:\n      - 10.0.0.1:1:1 b\n      - 10.0.0.2:2:1 b\n"),
         "conf/x.yml:9: pool 'alpha': key 'replicas': duplicate server name \"b\" in replica 1 (also the "
         "name of \"10.0.0.1:1:1\" on line 8, in replica 1" + cross_copy},
        // The later line is reported, whichever copy it is in.
        {"replicas written before servers",
         "alpha:\n  listen: 127.0.0.1:22121\n  timeout: 400\n  replicas:\n" + kOneCopy +
             "  servers:\n   - 10.0.0.1:1:1 b\n",
         "conf/x.yml:8: pool 'alpha': key 'servers': duplicate server name \"b\" in 'servers' (also the name "
         "of \"127.0.0.1:11212:1\" on line 6, in replica 1" + cross_copy},
        // Within 'servers' the message is the one nutcracker's pools get.
        {"a name twice in servers",
         "alpha:\n  listen: 127.0.0.1:22121\n  timeout: 400\n  servers:\n   - 127.0.0.1:11211:1 a\n"
         "   - 127.0.0.2:11211:1 a\n  replicas:\n" + kOneCopy,
         "conf/x.yml:6: pool 'alpha': key 'servers': duplicate server name \"a\" (also the name of "
         "\"127.0.0.1:11211:1\" on line 5; give the servers distinct names with 'host:port:weight name')"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CAPTURE(c.yaml);
        CHECK(error_of(c.yaml) == c.message);
    }
    // Only the 8th replica is refused: the same pool with 7 loads.
    std::string seven = eight.substr(0, eight.rfind("   - servers:"));
    CHECK(error_of(replicated(seven)).empty());
    CHECK(error_of(no_timeout + "  timeout: 1\n").empty());
}

TEST_CASE("replicas: nutcracker's structure rules still hold for every other key") {
    // A second list under another key, with and without replicas.
    const std::string two_lists =
        "conf/x.yml:9: pool 'alpha': key 'other': a pool may have only one list (there is already one at "
        "key 'servers', line 4)";
    CHECK(error_of(replicated(kOneCopy, "  other:\n   - x\n")) == two_lists);
    CHECK(error_of(kHead + "  other:\n   - x\n") ==
          "conf/x.yml:6: pool 'alpha': key 'other': a pool may have only one list (there is already one at "
          "key 'servers', line 4)");
    // `replicas` is not the pool's one list: a listen list and a scalar
    // `servers` (nutcracker's odd accepted shape) still load beside it.
    Config c = parse("alpha:\n  listen:\n   - 127.0.0.1:22121\n  timeout: 400\n  servers: 127.0.0.1:11211:1 a\n"
                     "  replicas:\n" + kOneCopy);
    CHECK(c.pools[0].servers.size() == 1);
    CHECK(c.pools[0].replicas.size() == 1);
    // Nor does it stand in for the servers list.
    CHECK(error_of("alpha:\n  listen: 127.0.0.1:22121\n  timeout: 400\n  replicas:\n" + kOneCopy) ==
          "conf/x.yml:1: pool 'alpha': has no 'servers' list (a '- host:port:weight' item per line)");
    // A nested mapping under another key.
    CHECK(error_of(replicated(kOneCopy, "  x:\n    y: z\n")) ==
          "conf/x.yml:10: pool 'alpha': key 'x': nested mappings are not allowed; a value must be a scalar or "
          "a list");
    // Mappings in the servers list: refused as in nutcracker, even though a
    // replica's items are mappings.
    CHECK(error_of("alpha:\n  listen: 127.0.0.1:22121\n  timeout: 400\n  servers:\n   - servers:\n"
                   "      - 127.0.0.1:11211:1\n") ==
          "conf/x.yml:5: pool 'alpha': key 'servers': list items must be scalars, not a mapping");
    // A misspelt `replicas` gets nutcracker's rules.
    CHECK(error_of(kHead + "  replica:\n" + kOneCopy) ==
          "conf/x.yml:6: pool 'alpha': key 'replica': a pool may have only one list (there is already one at "
          "key 'servers', line 4)");
    // The unknown-key error lists the new keys after nutcracker's.
    CHECK(error_of(kHead + "  copies: 2\n") ==
          "conf/x.yml:6: pool 'alpha': key 'copies': unknown key (known keys: listen, hash, hash_tag, "
          "distribution, timeout, backlog, client_connections, redis, tcpkeepalive, redis_auth, redis_db, "
          "preconnect, auto_eject_hosts, server_connections, server_retry_timeout, server_failure_limit, "
          "flush_on_rejoin, protocol, servers, replicas, write, read, read_failover, backfill_ttl)");
}

TEST_CASE("replicas: flush_on_rejoin defaults to true in a memcache pool with auto_eject_hosts") {
    const std::string eject = "  auto_eject_hosts: true\n";
    CHECK(parse(replicated(kOneCopy, eject)).pools[0].flush_on_rejoin);
    CHECK(parse(replicated(kOneCopy, eject + "  flush_on_rejoin: true\n")).pools[0].flush_on_rejoin);
    CHECK(parse(replicated(kOneCopy, eject + "  protocol: memcache\n")).pools[0].flush_on_rejoin);
    // Not without replicas, nor without ejection (a copy never leaves).
    CHECK_FALSE(parse(kHead + eject).pools[0].flush_on_rejoin);
    CHECK_FALSE(parse(replicated(kOneCopy)).pools[0].flush_on_rejoin);
    CHECK_FALSE(parse(replicated(kOneCopy, "  flush_on_rejoin: false\n")).pools[0].flush_on_rejoin);
    CHECK_FALSE(parse(replicated(kOneCopy, "  auto_eject_hosts: false\n")).pools[0].flush_on_rejoin);
    CHECK(error_of(replicated(kOneCopy, eject + "  flush_on_rejoin: false\n")) ==
          "conf/x.yml:10: pool 'alpha': key 'flush_on_rejoin': cannot be false in a memcache pool with "
          "replicas and 'auto_eject_hosts: true': a copy that rejoins after an ejection missed the writes and "
          "deletes made while it was out, so it must be emptied first, or it would serve values older than "
          "its outage");
    // The old rule stands: the option needs ejection.
    CHECK(error_of(replicated(kOneCopy, "  flush_on_rejoin: true\n")) ==
          "conf/x.yml:9: pool 'alpha': key 'flush_on_rejoin': needs 'auto_eject_hosts: true': without "
          "ejection a server never leaves the ring, so it never rejoins");
}

TEST_CASE("replicas: a redis pool may have replicas, and never flushes") {
    const std::string redis = "  redis: true\n  auto_eject_hosts: true\n";
    const PoolConfig p = parse(replicated(kOneCopy, redis + "  write: one\n")).pools[0];
    CHECK(p.redis);
    CHECK(p.protocol == "redis");
    CHECK(p.copies() == 2);
    CHECK(p.copy_write == PoolConfig::CopyWrite::One);
    CHECK_FALSE(p.flush_on_rejoin);
    CHECK_FALSE(parse(replicated(kOneCopy, "  protocol: redis\n  auto_eject_hosts: true\n")).pools[0].flush_on_rejoin);
    CHECK_FALSE(parse(replicated(kOneCopy, redis + "  flush_on_rejoin: false\n")).pools[0].flush_on_rejoin);
    CHECK(error_of(replicated(kOneCopy, redis + "  flush_on_rejoin: true\n")) ==
          "conf/x.yml:11: pool 'alpha': key 'flush_on_rejoin': is refused on a redis pool: flushing a "
          "rejoining redis server would destroy its data (the option is for memcached pools)");
    // Redis pools need the timeout too.
    CHECK(error_of("alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1 a\n"
                   "  replicas:\n   - servers:\n      - 127.0.0.1:6380:1 b\n")
              .starts_with("conf/x.yml:6: pool 'alpha': key 'replicas': needs 'timeout'"));
}
