// The harness itself: processes are bounded and cleaned up, servers start.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <thread>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

TEST_CASE("harness: run_command captures output and exit code, and kills on timeout" * doctest::test_suite("harness")) {
    auto ok = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, 5000ms);
    CHECK(ok.exit_code == 3);
    CHECK_FALSE(ok.timed_out);
    CHECK(ok.output.find("out") != std::string::npos);
    CHECK(ok.output.find("err") != std::string::npos);

    auto start = Clock::now();
    // The child's own child must die with it (process group).
    auto slow = run_command({"sh", "-c", "sleep 30 & sleep 30"}, 300ms);
    CHECK(slow.timed_out);
    CHECK(slow.exit_code == -1);
    CHECK(Clock::now() - start < 5s);

    auto missing = run_command({"/nonexistent/binary"}, 5000ms);
    CHECK(missing.exit_code == 127);
    CHECK(missing.output.find("exec failed") != std::string::npos);
}

TEST_CASE("harness: a stopped process and its group are gone" * doctest::test_suite("harness")) {
    pid_t pid;
    {
        Process p({"sh", "-c", "trap '' TERM; echo ready; sleep 30 & wait"});
        pid = p.pid();
        auto deadline = Clock::now() + 5s;
        while (p.output().find("ready") == std::string::npos && Clock::now() < deadline)
            std::this_thread::sleep_for(5ms);
        REQUIRE(p.output().find("ready") != std::string::npos);
        CHECK(p.running());
        p.stop(200ms);  // ignores SIGTERM: SIGKILL after the grace
        CHECK_FALSE(p.running());
        REQUIRE(p.status().has_value());
    }
    // No process left in the group (orphans may linger as zombies until
    // their new parent reaps them: allow a moment).
    auto deadline = Clock::now() + 3s;
    while (::kill(-pid, 0) == 0 && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    CHECK(::kill(-pid, 0) == -1);
}

TEST_CASE("harness: memcached and redis-server start on free ports" * doctest::test_suite("harness")) {
    MemcachedServer m;
    Connection mc_conn(m.port());
    CHECK(mc_conn.mc("version\r\n").rfind("VERSION ", 0) == 0);
    CHECK(mc_conn.mc(mc::set("k", "v")) == "STORED\r\n");
    CHECK(mc::holds(m.port(), "k"));
    CHECK_FALSE(mc::holds(m.port(), "other"));

    RedisServer r;
    Connection redis(r.port());
    CHECK(redis.request("PING\r\n", "\r\n") == "+PONG\r\n");
    CHECK(redis.request("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n", "\r\n") == "+OK\r\n");
    CHECK(redis.request("*2\r\n$3\r\nGET\r\n$1\r\na\r\n", "b\r\n") == "$1\r\nb\r\n");
}

TEST_CASE("harness: reads are bounded" * doctest::test_suite("harness")) {
    MemcachedServer m;
    Connection c(m.port());
    auto start = Clock::now();
    CHECK_THROWS_AS(c.read_until("never", 200ms), HarnessError);
    CHECK(Clock::now() - start < 2s);
    c.send_all("quit\r\n");
    CHECK(c.wait_closed(2000ms));
    CHECK_THROWS_AS(c.read_exact(1, 200ms), HarnessError);
}

TEST_CASE("harness: keys are legal memcached keys" * doctest::test_suite("harness")) {
    KeyOptions o;
    o.hash_tags = true;
    auto keys = make_keys(3000, 1, o);
    CHECK(keys.size() == 3000);
    std::size_t min_len = 1000, max_len = 0, high = 0, tagged = 0, bad = 0;
    for (auto& k : keys) {
        min_len = std::min(min_len, k.size());
        max_len = std::max(max_len, k.size());
        for (unsigned char ch : k) {
            bad += ch <= 0x20 || ch == 0x7f;
            high += ch >= 0x80;
        }
        tagged += k.find('{') != std::string::npos;
    }
    CHECK(bad == 0);
    CHECK(min_len == 1);
    CHECK(max_len == 250);
    CHECK(high > 0);
    CHECK(tagged > 1000);
    // ...and memcached takes them all.
    MemcachedServer m;
    Connection c(m.port());
    std::string batch;
    for (auto& k : keys) batch += mc::set(k, "x", 0, 0, true);
    c.send_all(batch);
    REQUIRE(c.mc("version\r\n").rfind("VERSION ", 0) == 0);  // all of the batch is done
    auto held = mc::holds_many(m.port(), keys);
    CHECK(std::count(held.begin(), held.end(), true) == static_cast<long>(keys.size()));
}

TEST_CASE("harness: the nutcracker under comparison is 0.5.0" * doctest::test_suite("nutcracker")) {
    auto r = run_command({nutcracker_binary(), "-V"}, 5000ms);
    INFO(r.describe());
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("nutcracker-0.5.0") != std::string::npos);
}
