// Real clients through pools with replicas: libmemcached's memccapable,
// python3-redis and pymemcache. A client must not be able to tell two
// copies from one server, and afterwards the copies, asked directly, must
// hold the same data.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "backend_servers.hpp"
#include "harness.hpp"
#include "memccapable.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// One pool of two copies, one server each: s1 the primary, s2 the other.
PoolSpec two_copies(const BackendServers& b) {
    PoolSpec pool;
    pool.servers = b.specs(0, 1, "s");
    pool.set("hash", "fnv1a_64").set("distribution", "ketama").set("timeout", "1000");
    if (b.protocol == Protocol::Redis) pool.set("redis", "true");
    pool.set("replicas", "\n   - servers:\n      - " + b.specs(1, 2, "s")[0].line());
    return pool;
}

// The strings of a RESP array of bulk strings (KEYS' reply).
std::vector<std::string> bulk_array(const std::string& reply) {
    REQUIRE_MESSAGE(!reply.empty(), "empty reply");
    REQUIRE_MESSAGE(reply[0] == '*', escape(reply));
    std::vector<std::string> out;
    std::size_t at = reply.find("\r\n") + 2;
    for (long n = std::stol(reply.substr(1)); n > 0; --n) {
        REQUIRE(reply.compare(at, 1, "$") == 0);
        std::size_t eol = reply.find("\r\n", at);
        std::size_t len = std::stoul(reply.substr(at + 1, eol - at - 1));
        out.push_back(reply.substr(eol + 2, len));
        at = eol + 2 + len + 2;
    }
    return out;
}

// A value's content as redis-server `c` reads it back: sets and hashes
// sorted, since their order (and DUMP's bytes) follow each server's own
// randomly seeded hash table.
std::string redis_content(Connection& c, const std::string& key, const std::string& type) {
    auto sorted = [](std::vector<std::string> v, std::size_t group) {
        std::vector<std::string> items;
        for (std::size_t i = 0; i + group <= v.size(); i += group) {
            std::string item;
            for (std::size_t j = 0; j < group; ++j) item += escape(v[i + j]) + "|";
            items.push_back(item);
        }
        std::sort(items.begin(), items.end());
        std::string out;
        for (const std::string& item : items) out += item + ";";
        return out;
    };
    if (type == "+string\r\n") return resp::call(c, resp::cmd("GET", key));
    if (type == "+list\r\n") return resp::call(c, resp::cmd("LRANGE", key, "0", "-1"));
    if (type == "+zset\r\n") return resp::call(c, resp::cmd("ZRANGE", key, "0", "-1", "WITHSCORES"));
    if (type == "+set\r\n") return sorted(bulk_array(resp::call(c, resp::cmd("SMEMBERS", key))), 1);
    if (type == "+hash\r\n") return sorted(bulk_array(resp::call(c, resp::cmd("HGETALL", key))), 2);
    return resp::call(c, resp::cmd("DUMP", key));
}

// Every key a redis-server holds -> its type, its content and whether it
// has a TTL; the TTLs themselves into `ttls`.
std::map<std::string, std::string> redis_dataset(int port, std::map<std::string, long long>& ttls) {
    Connection c(port);
    std::map<std::string, std::string> data;
    for (const std::string& key : bulk_array(resp::call(c, resp::cmd("KEYS", "*")))) {
        std::string type = resp::call(c, resp::cmd("TYPE", key));
        long long ttl = std::stoll(resp::call(c, resp::cmd("TTL", key)).substr(1));
        ttls[key] = ttl;
        data[key] = type + redis_content(c, key, type) + (ttl >= 0 ? "ttl" : "no ttl");
    }
    return data;
}

std::string url_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Every item a memcached holds -> "flags value", listed by
// `lru_crawler metadump all` (which names every live item) and read back.
std::map<std::string, std::string> memcached_dataset(int port) {
    Connection c(port);
    c.send_all("lru_crawler metadump all\r\n");
    std::string dump = c.read_until("END\r\n", 10000ms);
    std::vector<std::string> keys;
    static const std::regex line(R"((^|\n)key=(\S+) )");
    for (std::sregex_iterator it(dump.begin(), dump.end(), line), end; it != end; ++it)
        keys.push_back(url_decode((*it)[2].str()));
    std::map<std::string, std::string> data;
    for (std::size_t i = 0; i < keys.size(); i += 50) {
        std::vector<std::string> some(keys.begin() + i, keys.begin() + std::min(keys.size(), i + 50));
        for (const mc::Item& item : mc::parse_values(c.mc(mc::get(some), 10000ms)))
            data[item.key] = std::to_string(item.flags) + " " + item.data;
    }
    return data;
}

// The keys of two datasets that are not the same in both.
template <class Map>
std::vector<std::string> differing(const Map& a, const Map& b) {
    std::vector<std::string> out;
    for (const auto& [k, v] : a)
        if (auto it = b.find(k); it == b.end() || it->second != v) out.push_back(k);
    for (const auto& [k, v] : b)
        if (a.find(k) == a.end()) out.push_back(k);
    return out;
}

CommandResult run_python(const std::string& script, int port) {
    return run_command({python3(), source_dir() + "/tests/integration/" + script, std::to_string(port)}, 120000ms);
}

}  // namespace

HARNESS_CACHEMUX_TEST("replicas: memccapable passes as many ASCII tests through two copies as through a plain pool") {
    // The plain pool's count is measured here, not assumed, so the test
    // holds a replicated pool to whatever the plain one does today.
    BackendServers plain_backends(Protocol::Memcache, 1);
    PoolSpec plain;
    plain.servers = plain_backends.specs(0, 1, "s");
    plain.set("timeout", "1000");
    Proxy plain_proxy = start_proxy(ProxyKind::Cachemux, plain);
    auto want = memccapable::run(plain_proxy.port());
    INFO("plain pool: " << want.run.describe());
    REQUIRE_FALSE(want.run.timed_out);
    REQUIRE(want.verdict.size() == memccapable::kAsciiTests.size());

    BackendServers b(Protocol::Memcache, 2);
    Proxy cm = start_proxy(ProxyKind::Cachemux, two_copies(b));
    auto got = memccapable::run(cm.port());
    INFO("replicated pool: " << got.run.describe());
    CHECK_FALSE(got.run.timed_out);
    CHECK(got.verdict.size() == memccapable::kAsciiTests.size());
    MESSAGE("memccapable: plain pool " << want.passed() << "/" << memccapable::kAsciiTests.size()
                                       << " (failing: " << memccapable::join(want.failed()) << "), two copies "
                                       << got.passed() << " (failing: " << memccapable::join(got.failed()) << ")");
    CHECK(got.passed() == want.passed());
    CHECK(got.failed() == want.failed());
    CHECK(got.run.exit_code == want.run.exit_code);
}

HARNESS_CACHEMUX_TEST("replicas, redis: python3-redis through two copies, and both redis-servers end holding the same data") {
    BackendServers b(Protocol::Redis, 2);
    resp::require_redis_plugin(ProxyKind::Cachemux);
    Proxy cm = start_proxy(ProxyKind::Cachemux, two_copies(b));
    auto r = run_python("replicas_redis_client.py", cm.port());
    INFO(r.describe());
    CHECK(r.ok());
    CHECK(r.output.find("FAIL") == std::string::npos);
    CHECK(std::regex_search(r.output, std::regex(R"(redis-py replicas: (\d+) of \1 checks passed)")));

    std::map<std::string, long long> ttl0, ttl1;
    auto d0 = redis_dataset(b.port(0), ttl0);
    auto d1 = redis_dataset(b.port(1), ttl1);
    // 150 kept keys, counters, a hash, a list, a set, the pipeline's keys.
    CHECK(d0.size() > 150);
    auto diff = differing(d0, d1);
    CHECK_MESSAGE(diff.empty(), diff.size() << " keys differ between the copies, the first: "
                                            << (diff.empty() ? "" : escape(diff[0])));
    CHECK(d0.size() == d1.size());
    // The EXPIREs reached both: the same TTL, give or take the run's seconds.
    for (const auto& [k, t] : ttl0) {
        CAPTURE(k);
        if (t >= 0 && ttl1.count(k) != 0) CHECK(std::abs(t - ttl1[k]) <= 5);
    }
}

HARNESS_CACHEMUX_TEST("replicas: pymemcache through two copies, and both memcached servers end holding the same items") {
    BackendServers b(Protocol::Memcache, 2);
    Proxy cm = start_proxy(ProxyKind::Cachemux, two_copies(b));
    auto r = run_python("pymemcache_client.py", cm.port());
    INFO(r.describe());
    CHECK(r.ok());
    CHECK(r.output.find("FAIL") == std::string::npos);
    CHECK(std::regex_search(r.output, std::regex(R"(pymemcache: (\d+) of \1 checks passed)")));

    auto d0 = memcached_dataset(b.port(0));
    auto d1 = memcached_dataset(b.port(1));
    // 400 of set_many's keys, 300 kept keys, the counter, the big value.
    CHECK(d0.size() >= 702);
    auto diff = differing(d0, d1);
    CHECK_MESSAGE(diff.empty(), diff.size() << " keys differ between the copies, the first: "
                                            << (diff.empty() ? "" : escape(diff[0])));
    CHECK(d0.size() == d1.size());
    // What the script left, on each copy.
    for (const auto* d : {&d0, &d1}) {
        CHECK(d->count("py:add") == 0);
        CHECK(d->count("py:many:0") == 0);
        CHECK(d->count("py:many:499") == 1);
        CHECK(d->count("py:big") == 1);
    }
}
