// The config reader against nutcracker 0.5.0's own verdicts.
//
// Every case of the "accepted and rejected like nutcracker" table below was
// run through Debian's nutcracker 0.5.0 (`/usr/sbin/nutcracker -t -c FILE`)
// while this reader was written, and its verdict is what the table expects;
// so were the quirks tested further down (wrapping numbers, strtol()-parsed
// socket modes, the unix server name with its trailing ':', the ignored
// client_connections, the sorted servers and pools, which were observed
// through nutcracker's stats port).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"

using namespace cachemux;

namespace {

const std::string kFile = "conf/x.yml";

Config parse(const std::string& yaml) { return parse_config(yaml, kFile); }

// The message of the ConfigError parsing `yaml` throws ("" if it parses).
std::string error_of(const std::string& yaml) {
    try {
        parse(yaml);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}


const std::string kListen = "alpha:\n  listen: 127.0.0.1:22121\n";
const std::string kServers = "  servers:\n   - 127.0.0.1:11211:1\n";
const std::string kMinimal = kListen + kServers;

std::string with(const std::string& lines) { return kListen + lines + kServers; }

// ASCII text as UTF-16 with a byte order mark.
std::string utf16(const std::string& ascii, bool big_endian) {
    std::string out = big_endian ? "\xFE\xFF" : "\xFF\xFE";
    for (char c : ascii) {
        if (big_endian) out += '\0';
        out += c;
        if (!big_endian) out += '\0';
    }
    return out;
}

// Numeric addresses only: keeps the tests off DNS.
std::string offline_resolver(const std::string& host, int) {
    unsigned char buf[sizeof(in6_addr)];
    if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1) return "";
    return "not a numeric address";
}

std::string temp_file(const std::string& content) {
    char path[] = "/tmp/cachemux_config_test_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
    return path;
}

}  // namespace

TEST_CASE("a minimal pool gets nutcracker's defaults") {
    Config c = parse(kMinimal);
    CHECK(c.file == kFile);
    REQUIRE(c.pools.size() == 1);
    const PoolConfig& p = c.pools[0];
    CHECK(p.name == "alpha");
    CHECK(p.line == 1);
    CHECK(p.listen.pname == "127.0.0.1:22121");
    CHECK(p.listen.endpoint.host == "127.0.0.1");
    CHECK(p.listen.endpoint.port == 22121);
    CHECK_FALSE(p.listen.endpoint.is_unix());
    CHECK(p.listen.perm == 0);
    CHECK(p.hash == "fnv1a_64");
    CHECK(p.hash_tag.empty());
    CHECK(p.distribution == "ketama");
    CHECK(p.timeout_ms == -1);
    CHECK(p.backlog == 512);
    CHECK(p.client_connections == 0);
    CHECK_FALSE(p.flush_on_rejoin);
    CHECK_FALSE(p.redis);
    CHECK(p.redis_auth.empty());
    CHECK(p.redis_db == 0);
    CHECK_FALSE(p.preconnect);
    CHECK_FALSE(p.auto_eject_hosts);
    CHECK_FALSE(p.tcpkeepalive);
    CHECK(p.server_connections == 1);
    CHECK(p.server_retry_timeout_ms == 30000);
    CHECK(p.server_failure_limit == 2);
    REQUIRE(p.servers.size() == 1);
    CHECK(p.servers[0].pname == "127.0.0.1:11211:1");
    CHECK(p.servers[0].weight == 1);
    CHECK(p.servers[0].line == 4);
    CHECK(p.key_lines.at("listen") == 2);
    CHECK(p.key_lines.at("servers") == 3);
    CHECK(p.line_of("servers") == 3);
    CHECK(p.line_of("timeout") == 1);  // absent: the pool's line
}

TEST_CASE("every key nutcracker 0.5.0 knows is read") {
    Config c = parse(
        "beta:\n"
        "  listen: 0.0.0.0:22122\n"
        "  hash: murmur\n"
        "  hash_tag: \"{}\"\n"
        "  distribution: modula\n"
        "  timeout: 400\n"
        "  backlog: 1024\n"
        "  client_connections: 77\n"
        "  redis: true\n"
        "  redis_auth: s3cret\n"
        "  redis_db: 3\n"
        "  preconnect: true\n"
        "  auto_eject_hosts: true\n"
        "  tcpkeepalive: true\n"
        "  server_connections: 4\n"
        "  server_retry_timeout: 2000\n"
        "  server_failure_limit: 5\n"
        "  servers:\n"
        "   - 127.0.0.1:6379:1\n");
    REQUIRE(c.pools.size() == 1);
    const PoolConfig& p = c.pools[0];
    CHECK(p.name == "beta");
    CHECK(p.hash == "murmur");
    CHECK(p.hash_tag == "{}");
    CHECK(p.distribution == "modula");
    CHECK(p.timeout_ms == 400);
    CHECK(p.backlog == 1024);
    // nutcracker 0.5.0 reads client_connections and then ignores it;
    // cachemux enforces it (see PoolConfig::client_connections).
    CHECK(p.client_connections == 77);
    CHECK(p.redis);
    CHECK(p.redis_auth == "s3cret");
    CHECK(p.redis_db == 3);
    CHECK(p.preconnect);
    CHECK(p.auto_eject_hosts);
    CHECK(p.tcpkeepalive);
    CHECK(p.server_connections == 4);
    CHECK(p.server_retry_timeout_ms == 2000);
    CHECK(p.server_failure_limit == 5);
    CHECK(p.key_lines.size() == 17);
    CHECK(p.line_of("hash") == 3);
    CHECK(p.line_of("distribution") == 5);
    CHECK(p.line_of("server_failure_limit") == 17);
    // Hash and distribution names are checked later, by the core.
    CHECK(parse(with("  hash: no_such_hash\n  distribution: nope\n")).pools[0].hash == "no_such_hash");
}

TEST_CASE("quoted, block and commented values read as libyaml reads them") {
    Config c = parse(
        "alpha:\n"
        "  listen: '127.0.0.1:22121'\n"
        "  redis: >-\n"
        "    true\n"
        "  timeout: |-\n"
        "    250\n"
        "  backlog: 20 # a comment\n"
        "  ? server_failure_limit\n"
        "  : 9\n"
        "  servers:\n"
        "  - \"127.0.0.1:11211:1\"\n");
    const PoolConfig& p = c.pools[0];
    CHECK(p.redis);
    CHECK(p.timeout_ms == 250);
    CHECK(p.backlog == 20);
    CHECK(p.server_failure_limit == 9);
    CHECK(p.servers.size() == 1);
    // "~" and "null" are plain strings for nutcracker, not YAML nulls.
    c = parse(with("  redis: true\n  redis_auth: ~\n"));
    CHECK(c.pools[0].redis_auth == "~");
    c = parse(with("  redis: true\n  redis_auth: null\n"));
    CHECK(c.pools[0].redis_auth == "null");
    c = parse("null:\n  listen: 127.0.0.1:22121\n" + kServers);
    CHECK(c.pools[0].name == "null");
    // CRLF line ends and a byte order mark are fine.
    c = parse("\xEF\xBB\xBF" "alpha:\r\n  listen: 127.0.0.1:22121\r\n  servers:\r\n   - 127.0.0.1:11211:1\r\n");
    CHECK(c.pools[0].servers[0].pname == "127.0.0.1:11211:1");
}

TEST_CASE("numbers are nutcracker's nc_atoi(): digits only, wrapping at 32 bits") {
    CHECK(parse(with("  timeout: 0\n")).pools[0].timeout_ms == 0);
    CHECK(parse(with("  timeout: 2147483647\n")).pools[0].timeout_ms == 2147483647);
    CHECK(parse(with("  timeout: \"400\"\n")).pools[0].timeout_ms == 400);
    // 2^32 + 1 wraps to 1 in nutcracker's int; 2^31 wraps negative: rejected.
    CHECK(parse(with("  timeout: 4294967297\n")).pools[0].timeout_ms == 1);
    CHECK(parse(with("  timeout: 4294967296\n")).pools[0].timeout_ms == 0);
    CHECK(error_of(with("  timeout: 2147483648\n")) ==
          "conf/x.yml:3: pool 'alpha': key 'timeout': invalid number \"2147483648\" (expected a "
          "non-negative decimal integer below 2147483648)");
    for (const char* bad : {"-1", "+5", "1.5", "0x10", "abc", "~", "5 s"}) {
        CAPTURE(bad);
        CHECK(error_of(with(std::string("  timeout: ") + bad + "\n"))
                  .starts_with("conf/x.yml:3: pool 'alpha': key 'timeout': invalid number"));
    }
}

TEST_CASE("listen: host:port or a unix socket path with an optional octal mode") {
    auto listen_of = [](const std::string& value) {
        return parse("alpha:\n  listen: " + value + "\n" + kServers).pools[0].listen;
    };
    ListenConfig l = listen_of("/tmp/cachemux.sock 0666");
    CHECK(l.pname == "/tmp/cachemux.sock 0666");
    CHECK(l.endpoint.is_unix());
    CHECK(l.endpoint.unix_path == "/tmp/cachemux.sock");
    CHECK(l.endpoint.host.empty());
    CHECK(l.endpoint.port == 0);
    CHECK(l.perm == 0666);

    l = listen_of("/tmp/cachemux.sock");
    CHECK(l.endpoint.unix_path == "/tmp/cachemux.sock");
    CHECK(l.perm == 0);

    // The mode goes through strtol(..., 8) as in nutcracker: "0999" stops at
    // the first 9 and is 0, "abc" is 0 too; both are accepted.
    CHECK(listen_of("/tmp/cachemux.sock 0999").perm == 0);
    CHECK(listen_of("/tmp/cachemux.sock abc").perm == 0);
    CHECK(listen_of("/tmp/cachemux.sock 0600").perm == 0600);

    l = listen_of("::1:22121");
    CHECK(l.endpoint.host == "::1");
    CHECK(l.endpoint.port == 22121);
    CHECK(listen_of("localhost:22121").endpoint.host == "localhost");

    // sun_path holds 107 bytes and a NUL.
    CHECK(listen_of("/tmp/" + std::string(102, 'a')).endpoint.unix_path.size() == 107);
    CHECK(error_of("alpha:\n  listen: /tmp/" + std::string(103, 'a') + "\n" + kServers)
              .find("is too long (at most 107 bytes)") != std::string::npos);
}

TEST_CASE("servers: names, pnames and nutcracker's 11211 quirk") {
    Config c = parse(kListen +
                     "  servers:\n"
                     "   - 127.0.0.1:11212:1\n"         // line 4
                     "   - 127.0.0.1:11211:2\n"         // line 5
                     "   - 10.0.0.1:11211:3 cache-a\n"  // line 6
                     "   - /tmp/mc.sock:4\n"            // line 7
                     "   - /tmp/mc2.sock:5 unixy\n"     // line 8
                     "   - ::1:11213:6\n"               // line 9
                     "   - 127.0.0.9:011211:07\n");     // line 10
    const auto& servers = c.pools[0].servers;
    REQUIRE(servers.size() == 7);
    auto find = [&](int line) -> const ServerConfig& {
        for (const auto& s : servers) {
            if (s.line == line) return s;
        }
        FAIL("no server on line " << line);
        throw std::logic_error("unreachable");
    };
    const ServerConfig& s4 = find(4);
    CHECK(s4.name == "127.0.0.1:11212");
    CHECK(s4.pname == "127.0.0.1:11212:1");
    CHECK(s4.endpoint.host == "127.0.0.1");
    CHECK(s4.endpoint.port == 11212);
    CHECK(s4.weight == 1);

    const ServerConfig& s5 = find(5);
    CHECK(s5.name == "127.0.0.1");  // port 11211 is left out (libmemcached)
    CHECK(s5.pname == "127.0.0.1:11211:2");
    CHECK(s5.weight == 2);

    const ServerConfig& s6 = find(6);
    CHECK(s6.name == "cache-a");
    CHECK(s6.pname == "10.0.0.1:11211:3");
    CHECK(s6.endpoint.host == "10.0.0.1");
    CHECK(s6.endpoint.port == 11211);

    const ServerConfig& s7 = find(7);
    CHECK(s7.endpoint.is_unix());
    CHECK(s7.endpoint.unix_path == "/tmp/mc.sock");
    CHECK(s7.endpoint.port == 0);
    CHECK(s7.name == "/tmp/mc.sock:");  // nutcracker keeps the ':' (seen in its stats)
    CHECK(s7.pname == "/tmp/mc.sock:4");
    CHECK(s7.weight == 4);

    const ServerConfig& s8 = find(8);
    CHECK(s8.name == "unixy");
    CHECK(s8.pname == "/tmp/mc2.sock:5");

    const ServerConfig& s9 = find(9);
    CHECK(s9.endpoint.host == "::1");
    CHECK(s9.endpoint.port == 11213);
    CHECK(s9.name == "::1:11213");

    const ServerConfig& s10 = find(10);
    CHECK(s10.endpoint.port == 11211);
    CHECK(s10.name == "127.0.0.9");
    CHECK(s10.weight == 7);

    // A trailing blank gives an empty name, and the pname keeps the blank.
    c = parse(kListen + "  servers:\n   - \"127.0.0.1:11212:1 \"\n");
    CHECK(c.pools[0].servers[0].name.empty());
    CHECK(c.pools[0].servers[0].pname == "127.0.0.1:11212:1 ");
    // Backend host names are resolved lazily: anything goes here.
    c = parse(kListen + "  servers:\n   - no.such.host.invalid:11211:1\n   - :11212:1\n");
    CHECK(c.pools[0].servers.size() == 2);
}

TEST_CASE("servers and pools come in nutcracker's order: by name length, then bytes") {
    Config c = parse(kListen +
                     "  servers:\n"
                     "   - 127.0.0.1:11212:1\n"
                     "   - 10.0.0.2:11211:1 zz\n"
                     "   - 127.0.0.1:11211:1\n"
                     "   - 10.0.0.3:11211:1 b\n"
                     "   - 10.0.0.4:11211:1 a\n");
    std::vector<std::string> names;
    for (const auto& s : c.pools[0].servers) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"a", "b", "zz", "127.0.0.1", "127.0.0.1:11212"});

    c = parse("zeta:\n  listen: 127.0.0.1:22191\n" + kServers + "alpha:\n  listen: 127.0.0.1:22190\n" +
              kServers + "bb:\n  listen: 127.0.0.1:22189\n" + kServers);
    REQUIRE(c.pools.size() == 3);
    CHECK(c.pools[0].name == "bb");
    CHECK(c.pools[1].name == "zeta");
    CHECK(c.pools[2].name == "alpha");
    CHECK(c.pools[0].line == 9);
    CHECK(c.pools[1].line == 1);
    CHECK(c.pools[2].line == 5);
    CHECK(c.pools[2].listen.endpoint.port == 22190);
}

TEST_CASE("nutcracker's odd but accepted shapes are accepted") {
    // One list per pool is required, not that it is 'servers': a listen
    // list with a scalar servers value passes nutcracker 0.5.0.
    Config c = parse("alpha:\n  listen:\n   - 127.0.0.1:22121\n  servers: 127.0.0.1:11211:1\n");
    CHECK(c.pools[0].listen.pname == "127.0.0.1:22121");
    REQUIRE(c.pools[0].servers.size() == 1);
    c = parse(kListen + "  timeout:\n   - 5\n  servers: 127.0.0.1:11211:1\n");
    CHECK(c.pools[0].timeout_ms == 5);
    // servers before listen, redis_db without redis.
    c = parse("alpha:\n" + kServers + "  listen: 127.0.0.1:22121\n  redis_db: 2\n");
    CHECK(c.pools[0].redis_db == 2);
    // The same host:port twice under different names.
    c = parse(kListen + "  servers:\n   - 127.0.0.1:11211:1 a\n   - 127.0.0.1:11211:1 b\n");
    CHECK(c.pools[0].servers.size() == 2);
    // Two pools whose listen addresses differ only in spelling.
    c = parse(kMinimal + "beta:\n  listen: localhost:22121\n" + kServers);
    CHECK(c.pools.size() == 2);
}

TEST_CASE("errors name the file, the line and the key") {
    struct Case {
        const char* what;
        std::string yaml;
        std::string message;  // the whole message, or its start if it ends in "..."
    };
    const std::vector<Case> cases = {
        {"invalid number", with("  timeout: abc\n"),
         "conf/x.yml:3: pool 'alpha': key 'timeout': invalid number \"abc\" (expected a non-negative "
         "decimal integer below 2147483648)"},
        {"invalid boolean", with("  redis: yes\n"),
         "conf/x.yml:3: pool 'alpha': key 'redis': invalid value \"yes\" (expected true or false)"},
        {"hash tag length", with("  hash_tag: \"{\"\n"),
         "conf/x.yml:3: pool 'alpha': key 'hash_tag': invalid hash tag \"{\": it must be exactly two "
         "characters, the start and end of the tag (e.g. \"{}\")"},
        {"duplicate key", with("  timeout: 1\n  backlog: 2\n  timeout: 2\n"),
         "conf/x.yml:5: pool 'alpha': key 'timeout': duplicate key (already set on line 3)"},
        {"listen list of two", "alpha:\n  listen:\n   - 127.0.0.1:1\n   - 127.0.0.1:2\n  servers: 127.0.0.1:11211:1\n",
         "conf/x.yml:4: pool 'alpha': key 'listen': takes one value, not a list of several"},
        {"duplicate listen key", with("  listen: 127.0.0.1:22122\n"),
         "conf/x.yml:3: pool 'alpha': key 'listen': duplicate key (already set on line 2)"},
        {"unknown key", with("  bogus: 1\n"), "conf/x.yml:3: pool 'alpha': key 'bogus': unknown key (known keys: ..."},
        {"empty value", with("  hash:\n"), "conf/x.yml:3: pool 'alpha': key 'hash': empty value"},
        {"empty quoted value", with("  redis: true\n  redis_auth: \"\"\n"),
         "conf/x.yml:4: pool 'alpha': key 'redis_auth': empty value"},
        {"empty key", with("  \"\": x\n"), "conf/x.yml:3: pool 'alpha': empty key"},
        {"empty pool name", "\"\":\n  listen: 127.0.0.1:22121\n" + kServers, "conf/x.yml:1: empty pool name"},
        {"empty list item", kListen + "  servers:\n   - 127.0.0.1:11211:1\n   -\n   - 127.0.0.1:11212:1\n",
         "conf/x.yml:5: pool 'alpha': key 'servers': empty value"},
        {"redis_auth without redis", with("  redis_auth: pw\n"),
         "conf/x.yml:3: pool 'alpha': key 'redis_auth': is only valid for a redis pool (add 'redis: true')"},
        {"server_connections 0", with("  server_connections: 0\n"),
         "conf/x.yml:3: pool 'alpha': key 'server_connections': must not be 0"},
        {"missing listen", "alpha:\n  timeout: 5\n" + kServers,
         "conf/x.yml:1: pool 'alpha': missing 'listen' (e.g. 'listen: 127.0.0.1:22121')"},
        {"no servers list", kListen, "conf/x.yml:1: pool 'alpha': has no 'servers' list ..."},
        {"servers as a scalar", kListen + "  servers: 127.0.0.1:11211:1\n",
         "conf/x.yml:1: pool 'alpha': has no 'servers' list ..."},
        {"empty servers", kListen + "  servers:\n", "conf/x.yml:1: pool 'alpha': has no 'servers' list ..."},
        {"two lists", kMinimal + "  other:\n   - x\n",
         "conf/x.yml:5: pool 'alpha': key 'other': a pool may have only one list (there is already one at "
         "key 'servers', line 3)"},
        {"list without servers", "alpha:\n  listen:\n   - 127.0.0.1:22121\n  timeout: 4\n",
         "conf/x.yml:1: pool 'alpha': key 'servers': the pool has no servers"},
        {"duplicate server name", kListen + "  servers:\n   - 10.0.0.1:11211:1\n   - 10.0.0.1:11211:2\n",
         "conf/x.yml:5: pool 'alpha': key 'servers': duplicate server name \"10.0.0.1\" ..."},
        {"duplicate explicit name", kListen + "  servers:\n   - 10.0.0.1:1:1 a\n   - 10.0.0.2:2:1 b\n   - 10.0.0.3:3:1 a\n",
         "conf/x.yml:6: pool 'alpha': key 'servers': duplicate server name \"a\" (also the name of "
         "\"10.0.0.1:1:1\" on line 4; ..."},
        {"zero weight", kListen + "  servers:\n   - 127.0.0.1:11211:0\n",
         "conf/x.yml:4: pool 'alpha': key 'servers': invalid server \"127.0.0.1:11211:0\": the weight must not be 0"},
        {"weight not a number", kListen + "  servers:\n   - 127.0.0.1:11211:x\n",
         "conf/x.yml:4: pool 'alpha': key 'servers': invalid server \"127.0.0.1:11211:x\": weight \"x\" is "
         "not a number"},
        {"name with blanks", kListen + "  servers:\n   - 127.0.0.1:11211:1 a b\n",
         "conf/x.yml:4: pool 'alpha': key 'servers': invalid server \"127.0.0.1:11211:1 a b\": weight \"1 a\" "
         "is not a number"},
        {"missing weight", kListen + "  servers:\n   - 127.0.0.1:11211\n",
         "conf/x.yml:4: pool 'alpha': key 'servers': invalid server \"127.0.0.1:11211\": expected "
         "\"host:port:weight [name]\" or \"/path/to/socket:weight [name]\""},
        {"server port 0", kListen + "  servers:\n   - 127.0.0.1:0:1\n",
         "conf/x.yml:4: pool 'alpha': key 'servers': invalid server \"127.0.0.1:0:1\": invalid port \"0\" "
         "(expected 1..65535)"},
        {"server port too big", kListen + "  servers:\n   - 127.0.0.1:65536:1\n",
         "conf/x.yml:4: pool 'alpha': key 'servers': invalid server \"127.0.0.1:65536:1\": invalid port \"65536\" ..."},
        {"colon in a unix path", kListen + "  servers:\n   - /tmp/a:b.sock:1\n",
         "conf/x.yml:4: pool 'alpha': key 'servers': invalid server \"/tmp/a:b.sock:1\": a unix socket path "
         "must not contain ':' ..."},
        {"listen without port", "alpha:\n  listen: 127.0.0.1\n" + kServers,
         "conf/x.yml:2: pool 'alpha': key 'listen': invalid listen address \"127.0.0.1\" (expected "
         "\"host:port\" or \"/path/to/socket [mode]\")"},
        {"relative unix path", "alpha:\n  listen: tmp/x.sock\n" + kServers,
         "conf/x.yml:2: pool 'alpha': key 'listen': invalid listen address \"tmp/x.sock\" ..."},
        {"listen port 0", "alpha:\n  listen: 127.0.0.1:0\n" + kServers,
         "conf/x.yml:2: pool 'alpha': key 'listen': invalid port in listen address \"127.0.0.1:0\" (expected "
         "1..65535)"},
        {"listen host empty", "alpha:\n  listen: :22121\n" + kServers,
         "conf/x.yml:2: pool 'alpha': key 'listen': cannot resolve listen address \":22121\": host \"\": ..."},
        {"socket mode too big", "alpha:\n  listen: /tmp/x.sock 1777\n" + kServers,
         "conf/x.yml:2: pool 'alpha': key 'listen': invalid permissions \"1777\" in \"/tmp/x.sock 1777\" ..."},
        {"negative socket mode", "alpha:\n  listen: /tmp/x.sock -1\n" + kServers,
         "conf/x.yml:2: pool 'alpha': key 'listen': invalid permissions \"-1\" ..."},
        {"duplicate listen address", kMinimal + "beta:\n  listen: 127.0.0.1:22121\n" + kServers,
         "conf/x.yml:6: pool 'beta': key 'listen': listen address \"127.0.0.1:22121\" is already used by pool "
         "'alpha' (line 2)"},
        {"duplicate pool", kMinimal + "beta:\n  listen: 127.0.0.1:1\n" + kServers +
                               "alpha:\n  listen: 127.0.0.1:2\n" + kServers,
         "conf/x.yml:9: pool 'alpha': duplicate pool name (first defined on line 1)"},
        {"pool is a scalar", "alpha: 1\n",
         "conf/x.yml:1: pool 'alpha': must be a mapping of settings (indented 'key: value' lines), not a scalar"},
        {"pool is empty", "alpha:\n", "conf/x.yml:1: pool 'alpha': has no settings: ..."},
        {"pool is a list", "alpha:\n  - a\n", "conf/x.yml:2: pool 'alpha': must be a mapping of settings ..."},
        {"nested mapping", with("  x:\n    y: z\n"),
         "conf/x.yml:4: pool 'alpha': key 'x': nested mappings are not allowed; a value must be a scalar or a list"},
        {"list of mappings", kListen + "  servers:\n   - a: b\n",
         "conf/x.yml:4: pool 'alpha': key 'servers': list items must be scalars, not a mapping"},
        {"nested list", kListen + "  servers:\n   -\n     - 127.0.0.1:11211:1\n",
         "conf/x.yml:5: pool 'alpha': key 'servers': list items must be scalars, not a list"},
        {"top level scalar", "hello\n",
         "conf/x.yml:1: the top level must be a mapping of pool names to pool settings, not a scalar"},
        {"top level list", "- a\n- b\n",
         "conf/x.yml:1: the top level must be a mapping of pool names to pool settings, not a list"},
        {"empty file", "", "conf/x.yml:1: the configuration is empty: it must define at least one pool"},
        {"only comments", "# nothing\n\n", "conf/x.yml:1: the configuration is empty: ..."},
        {"document start", "---\n" + kMinimal, "conf/x.yml:1: document markers ('---') are not allowed; ..."},
        {"document end", kMinimal + "...\n", "conf/x.yml:5: document markers ('...') are not allowed; ..."},
        {"directive", "%YAML 1.1\n" + kMinimal,
         "conf/x.yml:1: YAML directives ('%YAML', '%TAG') are not allowed"},
        {"anchor", "alpha: &a\n  listen: 127.0.0.1:22121\n" + kServers,
         "conf/x.yml:1: anchors ('&name') are not allowed"},
        {"tag", with("  timeout: !!str 5\n"), "conf/x.yml:3: tags ('!tag') are not allowed"},
        {"non-specific tag", with("  timeout: ! 5\n"), "conf/x.yml:3: tags ('!tag') are not allowed"},
        {"flow list", kListen + "  servers: [127.0.0.1:11211:1]\n",
         "conf/x.yml:3: flow sequences ('[...]') are not allowed; write one '- item' per line"},
        {"flow mapping", "alpha: {listen: 127.0.0.1:22121}\n",
         "conf/x.yml:1: flow mappings ('{...}') are not allowed; write one 'key: value' per line"},
        {"syntax error", kListen + "   timeout: 5\n" + kServers, "conf/x.yml:3: YAML syntax error: ..."},
        {"tab indentation", "alpha:\n\tlisten: 127.0.0.1:22121\n" + kServers, "conf/x.yml:2: YAML syntax error: ..."},
        {"undefined alias", with("  timeout: *a\n"), "conf/x.yml:3: YAML syntax error: ..."},
        {"tab after '-'", kListen + "  servers:\n   -\t127.0.0.1:11211:1\n",
         "conf/x.yml:4: YAML syntax error: a tab after '-' is not allowed (use spaces)"},
        {"invalid UTF-8", with("  redis: true\n  redis_auth: a\xFF" "b\n"),
         "conf/x.yml:4: invalid text: invalid leading UTF-8 octet"},
        {"control character", with("  redis: true\n  redis_auth: a\x01" "b\n"),
         "conf/x.yml:4: invalid text: control characters are not allowed"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CAPTURE(c.yaml);
        std::string got = error_of(c.yaml);
        if (c.message.ends_with("...")) {
            std::string prefix = c.message.substr(0, c.message.size() - 3);
            CHECK_MESSAGE(got.starts_with(prefix), got);
        } else {
            CHECK(got == c.message);
        }
    }
}

TEST_CASE("accepted and rejected like nutcracker 0.5.0") {
    // Each verdict is nutcracker's own (`nutcracker -t`), checked while
    // writing this reader. Only hash and distribution names differ on
    // purpose: they are checked later, against the plugins.
    struct Case {
        const char* what;
        std::string yaml;
        bool ok;
    };
    const std::string L = kListen;
    const std::string S = kServers;
    const std::vector<Case> cases = {
        {"minimal", L + S, true},
        {"timeout 0", with("  timeout: 0\n"), true},
        {"timeout -1", with("  timeout: -1\n"), false},
        {"timeout +5", with("  timeout: +5\n"), false},
        {"timeout 2^31-1", with("  timeout: 2147483647\n"), true},
        {"timeout 2^31", with("  timeout: 2147483648\n"), false},
        {"timeout 2^32", with("  timeout: 4294967296\n"), true},
        {"timeout 2^32+1", with("  timeout: 4294967297\n"), true},
        {"timeout quoted", with("  timeout: \"400\"\n"), true},
        {"timeout empty", with("  timeout:\n"), false},
        {"timeout ~", with("  timeout: ~\n"), false},
        {"timeout float", with("  timeout: 1.5\n"), false},
        {"timeout hex", with("  timeout: 0x10\n"), false},
        {"timeout twice", with("  timeout: 1\n  timeout: 2\n"), false},
        {"timeout as a literal block", with("  timeout: |\n    5\n"), false},
        {"timeout as a stripped literal", with("  timeout: |-\n    5\n"), true},
        {"timeout after a tab", with("  timeout:\t5\n"), true},
        {"timeout with a comment", with("  timeout: 5 # five\n"), true},
        {"timeout:5", with("  timeout:5\n"), false},
        {"server_connections 0", with("  server_connections: 0\n"), false},
        {"client_connections 5", with("  client_connections: 5\n"), true},
        {"client_connections abc", with("  client_connections: abc\n"), false},
        {"redis yes", with("  redis: yes\n"), false},
        {"redis True", with("  redis: True\n"), false},
        {"redis 'true'", with("  redis: 'true'\n"), true},
        {"redis folded", with("  redis: >-\n    true\n"), true},
        {"redis_auth without redis", with("  redis_auth: x\n"), false},
        {"redis_auth with redis", with("  redis: true\n  redis_auth: x\n"), true},
        {"redis_auth empty", with("  redis_auth: \"\"\n"), false},
        {"redis_auth empty, redis", with("  redis: true\n  redis_auth: \"\"\n"), false},
        {"redis_auth ~", with("  redis: true\n  redis_auth: ~\n"), true},
        {"redis_auth null", with("  redis: true\n  redis_auth: null\n"), true},
        {"redis_auth ---", with("  redis_auth: ---\n  redis: true\n"), true},
        {"multi-line plain redis_auth", with("  redis_auth: abc\n    def\n  redis: true\n"), true},
        {"quoted value with a '%' line", with("  redis_auth: \"abc\n%def\"\n  redis: true\n"), true},
        {"redis_db without redis", with("  redis_db: 3\n"), true},
        {"tcpkeepalive", with("  tcpkeepalive: true\n"), true},
        {"hash_tag {}", with("  hash_tag: \"{}\"\n"), true},
        {"hash_tag one char", with("  hash_tag: \"{\"\n"), false},
        {"hash_tag three chars", with("  hash_tag: \"{}}\"\n"), false},
        {"hash_tag one two-byte char", with("  hash_tag: \"\xC3\xA9\"\n"), true},
        {"hash_tag empty", with("  hash_tag: \"\"\n"), false},
        {"hash twice", with("  hash: md5\n  hash: md5\n"), false},
        {"unknown key", with("  bogus: 1\n"), false},
        {"merge key", with("  <<: x\n"), false},
        {"explicit key", with("  ? timeout\n  : 5\n"), true},
        {"complex key", with("  ? - a\n  : b\n"), false},
        {"empty key", with("  \"\": x\n"), false},
        {"no listen", "alpha:\n" + S, false},
        {"no servers", L, false},
        {"servers empty", L + "  servers:\n", false},
        {"servers scalar only", L + "  servers: 127.0.0.1:11211:1\n", false},
        {"servers twice", L + S + S, false},
        {"listen list, servers scalar", "alpha:\n  listen:\n   - 127.0.0.1:22121\n  servers: 127.0.0.1:11211:1\n", true},
        {"listen list of two", "alpha:\n  listen:\n   - 127.0.0.1:22121\n   - 127.0.0.1:22122\n  servers: 127.0.0.1:11211:1\n", false},
        {"timeout list, servers scalar", L + "  timeout:\n   - 5\n  servers: 127.0.0.1:11211:1\n", true},
        {"servers scalar and another list", L + "  servers: 127.0.0.1:11211:1\n  other:\n   - 1\n", false},
        {"two lists", L + S + "  other:\n   - x\n", false},
        {"servers first", "alpha:\n" + S + "  listen: 127.0.0.1:22121\n", true},
        {"list at the key's indentation", L + "  servers:\n  - 127.0.0.1:11211:1\n", true},
        {"listen twice", with("  listen: 127.0.0.1:22122\n"), false},
        {"same pool twice", L + S + L + S, false},
        {"same listen, two pools", L + S + "beta:\n  listen: 127.0.0.1:22121\n" + S, false},
        {"same address spelled differently", L + S + "beta:\n  listen: localhost:22121\n" + S, true},
        {"two pools", L + S + "beta:\n  listen: 127.0.0.1:22122\n" + S, true},
        {"a pool named twice among three",
         "a:\n  listen: 127.0.0.1:1\n" + S + "b:\n  listen: 127.0.0.1:2\n" + S + "a:\n  listen: 127.0.0.1:3\n" + S,
         false},
        {"same server twice", L + "  servers:\n   - 127.0.0.1:11211:1\n   - 127.0.0.1:11211:2\n", false},
        {"same name twice", L + "  servers:\n   - 127.0.0.1:11211:1 a\n   - 127.0.0.2:11211:1 a\n", false},
        {"same server, two names", L + "  servers:\n   - 127.0.0.1:11211:1 a\n   - 127.0.0.1:11211:1 b\n", true},
        {"11211 and 11212 on one host", L + "  servers:\n   - a:11211:1\n   - a:11212:1\n", true},
        {"same unix socket twice", L + "  servers:\n   - /tmp/a:1\n   - /tmp/a:2\n", false},
        {"weight 0", L + "  servers:\n   - 127.0.0.1:11211:0\n", false},
        {"weight x", L + "  servers:\n   - 127.0.0.1:11211:x\n", false},
        {"weight wraps to 1", L + "  servers:\n   - 127.0.0.1:11211:4294967297\n", true},
        {"no weight", L + "  servers:\n   - 127.0.0.1:11211\n", false},
        {"port 0", L + "  servers:\n   - 127.0.0.1:0:1\n", false},
        {"port 65536", L + "  servers:\n   - 127.0.0.1:65536:1\n", false},
        {"port 65535", L + "  servers:\n   - 127.0.0.1:65535:1\n", true},
        {"port wrapping to 11211", L + "  servers:\n   - 127.0.0.1:4294978507:1\n", true},
        {"zero-padded port and weight", L + "  servers:\n   - 127.0.0.1:011211:01\n", true},
        {"unresolvable server", L + "  servers:\n   - no.such.host.invalid:11211:1\n", true},
        {"server without host", L + "  servers:\n   - :11211:1\n", true},
        {"unix server", L + "  servers:\n   - /tmp/mc.sock:1\n", true},
        {"named unix server", L + "  servers:\n   - /tmp/mc.sock:1 foo\n", true},
        {"unix server with ':'", L + "  servers:\n   - /tmp/m:c.sock:1\n", false},
        {"server \"\"", L + "  servers:\n   - \"\"\n", false},
        {"server empty", L + "  servers:\n   -\n", false},
        {"server with a trailing blank", L + "  servers:\n   - \"127.0.0.1:11211:1 \"\n", true},
        {"server name with blanks", L + "  servers:\n   - 127.0.0.1:11211:1 a b\n", false},
        {"ipv6 server", L + "  servers:\n   - ::1:11211:1\n", true},
        {"server with a NUL byte", L + "  servers:\n   - \"127.0.0.1:11211:1\\0x\"\n", false},
        {"pool name empty", "\"\":\n  listen: 127.0.0.1:22121\n" + S, false},
        {"pool name null", "null:\n  listen: 127.0.0.1:22121\n" + S, true},
        {"pool name with a blank", "\"al pha\":\n  listen: 127.0.0.1:22121\n" + S, true},
        {"pool scalar", "alpha: x\n", false},
        {"pool empty", "alpha:\n", false},
        {"pool list", "alpha:\n  - a\n", false},
        {"top scalar", "hello\n", false},
        {"top list", "- a\n", false},
        {"mapping as a pool name", "? a: b\n: c\n", false},
        {"empty file", "", false},
        {"only a comment", "# hi\n", false},
        {"document start", "---\n" + L + S, false},
        {"document start, comment", "--- # c\n" + L + S, false},
        {"document end", L + S + "...\n", false},
        {"directive", "%YAML 1.1\n---\n" + L + S, false},
        {"directive alone", "%YAML 1.1\n" + L + S, false},
        {"anchor", "alpha: &a\n  listen: 127.0.0.1:22121\n" + S, false},
        {"alias", with("  timeout: *a\n"), false},
        {"tag", with("  timeout: !!str 5\n"), false},
        {"non-specific tag", with("  timeout: ! 5\n"), false},
        {"flow list", L + "  servers: [127.0.0.1:11211:1]\n", false},
        {"flow mapping", "alpha: {listen: 127.0.0.1:22121}\n", false},
        {"JSON", "{\"alpha\": {\"listen\": \"127.0.0.1:22121\"}}\n", false},
        {"nested mapping", with("  x:\n    y: z\n"), false},
        {"list of mappings", L + "  servers:\n   - a: b\n", false},
        {"nested list", L + "  servers:\n   -\n     - 127.0.0.1:11211:1\n", false},
        {"tab indentation", "alpha:\n\tlisten: 127.0.0.1:22121\n" + S, false},
        {"bad indentation", L + "   timeout: 5\n" + S, false},
        {"stray ']'", L + S + "  ]\n", false},
        {"CRLF", "alpha:\r\n  listen: 127.0.0.1:22121\r\n  servers:\r\n   - 127.0.0.1:11211:1\r\n", true},
        {"CR only", "alpha:\r  listen: 127.0.0.1:22121\r  servers:\r   - 127.0.0.1:11211:1\r", true},
        {"tab after '-'", L + "  servers:\n   -\t127.0.0.1:11211:1\n", false},
        {"space and tab after '-'", L + "  servers:\n   - \t127.0.0.1:11211:1\n", false},
        {"tab after '?'", with("  ? \ttimeout\n  : 5\n"), false},
        {"tab after a value ending in '-'", with("  redis: true\n  redis_auth: a -\t\n"), true},
        {"tab after ':'", with("  timeout:\t 5\n"), true},
        {"tab before ':'", with("  timeout\t: 5\n"), true},
        {"tab-indented line", with("  \ttimeout: 5\n"), false},
        {"tab on a blank line", L + "\t\n" + S, false},
        {"trailing tab", with("  timeout: 5\t\n"), true},
        {"tab inside a value", with("  redis: true\n  redis_auth: a\tb\n"), true},
        {"NEL breaks a line", with("  redis: true\n  redis_auth: a\xC2\x85" "b\n"), false},
        {"NEL in a folded value", with("  redis: true\n  redis_auth: a\xC2\x85    b\n"), true},
        {"LS breaks a line", with("  redis: true\n  redis_auth: a\xE2\x80\xA8" "b\n"), false},
        {"invalid UTF-8", with("  redis: true\n  redis_auth: a\xFF" "b\n"), false},
        {"invalid UTF-8 in a comment", L + "  # \xFF\n" + S, false},
        {"overlong UTF-8", with("  redis: true\n  redis_auth: a\xC0\xAF" "b\n"), false},
        {"UTF-8 surrogate", with("  redis: true\n  redis_auth: a\xED\xA0\x80" "b\n"), false},
        {"control character", with("  redis: true\n  redis_auth: a\x01" "b\n"), false},
        {"control character in a comment", L + "  # \x01\n" + S, false},
        {"DEL", with("  redis: true\n  redis_auth: a\x7F" "b\n"), false},
        {"C1 control", with("  redis: true\n  redis_auth: a\xC2\x80" "b\n"), false},
        {"U+FFFE", with("  redis: true\n  redis_auth: a\xEF\xBF\xBE" "b\n"), false},
        {"NUL byte", with(std::string("  timeout: 5") + '\0' + "\n"), false},
        {"no-break space", with("  redis: true\n  redis_auth: a\xC2\xA0" "b\n"), true},
        {"emoji", with("  redis: true\n  redis_auth: a\xF0\x9F\x98\x80" "b\n"), true},
        {"UTF-16LE with BOM", utf16(L + S, false), true},
        {"UTF-16BE with BOM", utf16(L + S, true), true},
        {"UTF-16LE without BOM", utf16(L + S, false).substr(2), false},
        {"byte order mark", "\xEF\xBB\xBF" + L + S, true},
        {"listen :port", "alpha:\n  listen: :22121\n" + S, false},
        {"listen localhost", "alpha:\n  listen: localhost:22121\n" + S, true},
        {"listen without port", "alpha:\n  listen: 127.0.0.1\n" + S, false},
        {"listen port 0", "alpha:\n  listen: 127.0.0.1:0\n" + S, false},
        {"listen ::1", "alpha:\n  listen: ::1:22121\n" + S, true},
        {"listen 0.0.0.0", "alpha:\n  listen: 0.0.0.0:22121\n" + S, true},
        {"listen unix", "alpha:\n  listen: /tmp/x.sock\n" + S, true},
        {"listen unix 0666", "alpha:\n  listen: /tmp/x.sock 0666\n" + S, true},
        {"listen unix 0999", "alpha:\n  listen: /tmp/x.sock 0999\n" + S, true},
        {"listen unix abc", "alpha:\n  listen: /tmp/x.sock abc\n" + S, true},
        {"listen unix 1777", "alpha:\n  listen: /tmp/x.sock 1777\n" + S, false},
        {"listen unix -1", "alpha:\n  listen: /tmp/x.sock -1\n" + S, false},
        {"listen unix huge mode", "alpha:\n  listen: /tmp/x.sock 7777777777777777777777777\n" + S, false},
        {"listen unix mode wrapping to 1", "alpha:\n  listen: /tmp/x.sock 40000000001\n" + S, true},
        {"listen unix trailing blank", "alpha:\n  listen: \"/tmp/x.sock \"\n" + S, true},
        {"listen unix 107 bytes", "alpha:\n  listen: /tmp/" + std::string(102, 'a') + "\n" + S, true},
        {"listen unix 108 bytes", "alpha:\n  listen: /tmp/" + std::string(103, 'a') + "\n" + S, false},
        {"listen relative path", "alpha:\n  listen: tmp/x.sock\n" + S, false},
    };
    for (const Case& c : cases) {
        CAPTURE(c.what);
        CAPTURE(c.yaml);
        std::string err = error_of(c.yaml);
        CHECK_MESSAGE(err.empty() == c.ok, err);
    }
}

TEST_CASE("load_config reads a file and names it in errors") {
    std::string path = temp_file(kMinimal);
    Config c = load_config(path);
    CHECK(c.file == path);
    CHECK(c.pools.size() == 1);
    std::remove(path.c_str());

    path = temp_file(with("  backlog: x\n"));
    try {
        load_config(path);
        FAIL("accepted a bad backlog");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).starts_with(path + ":3: pool 'alpha': key 'backlog': invalid number"));
    }
    std::remove(path.c_str());

    CHECK_THROWS_AS(load_config("/nonexistent/cachemux.yml"), ConfigOpenError);
    CHECK_THROWS_WITH(load_config("/nonexistent/cachemux.yml"),
                      "/nonexistent/cachemux.yml: cannot open configuration file: No such file or directory");
    // A directory opens but does not read: not an "open" error.
    try {
        load_config("/tmp");
        FAIL("read a directory");
    } catch (const ConfigOpenError&) {
        FAIL("a directory is not an open error");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) == "/tmp: cannot read configuration file: Is a directory");
    }
}

TEST_CASE("listen host names go through the resolver") {
    std::vector<std::pair<std::string, int>> asked;
    auto resolver = [&](const std::string& host, int port) -> std::string {
        asked.emplace_back(host, port);
        return host == "cache.example" ? "" : "no such host";
    };
    Config c = parse_config("alpha:\n  listen: cache.example:22121\n" + kServers +
                                "beta:\n  listen: /tmp/beta.sock\n" + kServers,
                            kFile, resolver);
    CHECK(c.pools.size() == 2);
    // Unix sockets and backend servers are not resolved.
    REQUIRE(asked.size() == 1);
    CHECK(asked[0] == std::pair<std::string, int>{"cache.example", 22121});
    try {
        parse_config("alpha:\n  listen: other.example:1\n" + kServers, kFile, resolver);
        FAIL("resolved an unknown host");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) == "conf/x.yml:2: pool 'alpha': key 'listen': cannot resolve listen address "
                                       "\"other.example:1\": host \"other.example\": no such host");
    }
    CHECK(resolve_with_getaddrinfo("127.0.0.1", 22121).empty());
    CHECK(resolve_with_getaddrinfo("::1", 22121).empty());
    CHECK_FALSE(resolve_with_getaddrinfo("", 22121).empty());
}

TEST_CASE("config_error words later errors like the parser's") {
    Config c = parse(with("  hash: nope\n"));
    ConfigError e = config_error(c, c.pools[0], "hash", "unknown hash \"nope\"");
    CHECK(std::string(e.what()) == "conf/x.yml:3: pool 'alpha': key 'hash': unknown hash \"nope\"");
    e = config_error(c, c.pools[0], "distribution", "unknown distribution");
    CHECK(std::string(e.what()) == "conf/x.yml:1: pool 'alpha': key 'distribution': unknown distribution");
}

TEST_CASE("no input crashes the reader: garbage only ever gives a ConfigError") {
    const std::string base = kListen +
                             "  hash: fnv1a_64\n"
                             "  hash_tag: \"{}\"\n"
                             "  timeout: 400\n"
                             "  redis: true\n"
                             "  redis_auth: secret\n"
                             "  servers:\n"
                             "   - 127.0.0.1:6379:1 one\n"
                             "   - /tmp/r.sock:1\n"
                             "beta:\n"
                             "  listen: /tmp/beta.sock 0600\n" +
                             kServers;
    const std::vector<std::string> pieces = {":",  "-",   "#",    "'",    "\"",  "[",    "]",   "{", "}",
                                             ",",  "&",   "*",    "!",    "|",   ">",    "%",   "?", "@",
                                             "`",  " ",   "\t",   "\n",   "~",   ".",    "0",   "/", "\\",
                                             "\r", "---", "...",  "null", "\n  ", "\n   - ", ": ", "\xEF\xBB\xBF",
                                             std::string(1, '\0'), "\xFF", "\xC3", "-\t", "\xC2\x85", "\xFF\xFE"};
    std::mt19937 rng(20240611);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    int accepted_count = 0;
    for (int round = 0; round < 3000; ++round) {
        std::string text;
        if (round % 4 == 0) {
            // Raw bytes.
            std::size_t len = pick(200);
            for (std::size_t i = 0; i < len; ++i) text += static_cast<char>(rng() & 0xff);
        } else {
            // A valid configuration with a few random edits.
            text = base;
            for (std::size_t edits = 1 + pick(4); edits > 0; --edits) {
                std::size_t at = pick(text.size() + 1);
                switch (pick(3)) {
                case 0: text.insert(at, pieces[pick(pieces.size())]); break;
                case 1: text.erase(at, pick(5)); break;
                default: text.insert(at, text.substr(pick(text.size()), pick(30))); break;
                }
            }
        }
        CAPTURE(text);
        try {
            parse_config(text, kFile, offline_resolver);
            ++accepted_count;
        } catch (const ConfigError& e) {
            CHECK(std::string(e.what()).starts_with("conf/x.yml:"));
        }
    }
    CHECK(accepted_count > 0);  // the edits do not break every file

    // Deep nesting is refused, not a stack overflow.
    CHECK(error_of(std::string(100000, '[')).starts_with("conf/x.yml:1: YAML syntax error"));
    CHECK(error_of(std::string(20000, '-') + " x").starts_with("conf/x.yml:"));
    // yaml-cpp 0.7 loops forever on a stray ',' unless stopped (its #1040).
    CHECK(error_of(",") == "conf/x.yml:1: YAML syntax error: unexpected text after the document (a stray ','?)");
    CHECK(error_of("\n\n,\n").starts_with("conf/x.yml:3: YAML syntax error"));
}

TEST_CASE("flush_on_rejoin: off by default, memcache pools with auto_eject_hosts only") {
    CHECK_FALSE(parse(kMinimal).pools[0].flush_on_rejoin);
    CHECK(parse(with("  auto_eject_hosts: true\n  flush_on_rejoin: true\n")).pools[0].flush_on_rejoin);
    CHECK_FALSE(parse(with("  flush_on_rejoin: false\n")).pools[0].flush_on_rejoin);
    CHECK(error_of(with("  auto_eject_hosts: true\n  flush_on_rejoin: yes\n")) ==
          "conf/x.yml:4: pool 'alpha': key 'flush_on_rejoin': invalid value \"yes\" (expected true or false)");
    CHECK(error_of(with("  redis: true\n  auto_eject_hosts: true\n  flush_on_rejoin: true\n")) ==
          "conf/x.yml:5: pool 'alpha': key 'flush_on_rejoin': is refused on a redis pool: flushing a "
          "rejoining redis server would destroy its data (the option is for memcached pools)");
    CHECK(error_of(with("  flush_on_rejoin: true\n")) ==
          "conf/x.yml:3: pool 'alpha': key 'flush_on_rejoin': needs 'auto_eject_hosts: true': without "
          "ejection a server never leaves the ring, so it never rejoins");
}
