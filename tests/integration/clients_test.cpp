// Real clients through the proxy: python3 pymemcache and libmemcached's memcslap.
#include <doctest/doctest.h>

#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

static void pymemcache_client(ProxyKind kind) {
    ProxiedMemcached px(kind, 3);
    auto r = run_command({python3(), source_dir() + "/tests/integration/pymemcache_client.py", std::to_string(px.port())},
                         120000ms);
    INFO(r.describe());
    CHECK(r.ok());
    CHECK(r.output.find("FAIL") == std::string::npos);
    CHECK(std::regex_search(r.output, std::regex(R"(pymemcache: (\d+) of \1 checks passed)")));

    // The keys it left behind are spread over the backends, each on exactly one.
    std::vector<std::string> keys;
    for (std::uint64_t i = 0; i < 300; ++i)  // keep_key() in pymemcache_client.py
        keys.push_back("py:keep:" + std::to_string((i * 2654435761ULL) % 4294967296ULL) + ":" + std::to_string(i));
    std::vector<int> where(keys.size(), -1);
    int servers_used = 0;
    for (std::size_t b = 0; b < px.backends.size(); ++b) {
        auto held = mc::holds_many(px.backends[b]->port(), keys);
        bool any = false;
        for (std::size_t i = 0; i < keys.size(); ++i)
            if (held[i]) {
                where[i] = where[i] == -1 ? static_cast<int>(b) : -2;
                any = true;
            }
        servers_used += any;
    }
    CHECK(servers_used >= 2);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        INFO("key " << keys[i]);
        CHECK(where[i] >= 0);
        if (where[i] >= 0) CHECK(mc::get_direct(px.backends[where[i]]->port(), keys[i]) == std::to_string(i));
    }
}
HARNESS_PROXY_TEST("clients: python3 pymemcache", pymemcache_client)

static void memcslap_client(ProxyKind kind) {
    ProxiedMemcached px(kind, 3);
    const int concurrency = 4, executions = 2000;
    for (const char* test : {"set", "get", "mget"}) {
        INFO("memcslap --test=" << test);
        auto r = run_command({"memcslap", "--servers=127.0.0.1:" + std::to_string(px.port()),
                              "--concurrency=" + std::to_string(concurrency),
                              "--execute-number=" + std::to_string(executions), std::string("--test=") + test},
                             120000ms);
        INFO(r.describe());
        CHECK(r.ok());
        // memcslap reports a failed operation as "Fatal error for key ..." (or an
        // "error" line) yet still exits 0.
        CHECK(r.output.find("rror") == std::string::npos);
        std::smatch m;
        std::regex line(std::string("Time to ") + test + R"(\s+(\d+) keys by\s+(\d+) threads)");
        REQUIRE(std::regex_search(r.output, m, line));
        CHECK(std::stoi(m[2]) == concurrency);
        // Every operation succeeds (gets all hit: memcslap loads its keys first).
        CHECK(std::stoi(m[1]) == concurrency * executions);
    }
}
HARNESS_PROXY_TEST("clients: memcslap", memcslap_client)
