// replicas: under faults. repcached's promise, kept by the proxy: with two
// memcached copies, one dying (SIGKILL) or hanging (SIGSTOP) under steady
// reads loses no key, and a copy coming back never serves a value older
// than its outage. And a stopped copy that is not ejected costs a
// pipelined client a timeout, never a reply out of step.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "backend_servers.hpp"
#include "harness.hpp"
#include "settle.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

constexpr int kTimeoutMs = 300;

// Two copies of one memcached each: a1 the primary, b2 the other.
PoolSpec two_copies(const BackendServers& b) {
    PoolSpec pool;
    pool.servers = b.specs(0, 1, "a");
    pool.set("hash", "fnv1a_64").set("distribution", "ketama").set("timeout", std::to_string(kTimeoutMs));
    pool.set("replicas", "\n   - servers:\n      - " + b.specs(1, 2, "b")[0].line());
    return pool;
}

std::vector<std::string> outage_keys(std::size_t n) {
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < n; ++i)
        keys.push_back("rk:" + std::to_string((i * 2654435761ULL) % 4294967296ULL) + ":" + std::to_string(i));
    return keys;
}

// Key i's value as of write round `version`: "v<version>-<i>".
std::string value_of(int version, std::size_t i) { return "v" + std::to_string(version) + "-" + std::to_string(i); }

// What a reader saw. `sent` and `replies` count requests; the rest count
// keys read: a key that comes back neither as its own value (of any
// version), nor missing, nor in a SERVER_ERROR, is `wrong`.
struct ReadTally {
    std::uint64_t sent = 0, replies = 0, hits = 0, misses = 0, errors = 0, stale = 0, wrong = 0;
    std::string first_bad;  // the first miss, stale, wrong or error reply
    std::string failure;    // what ended the reader early (a reply that never came)
    std::string stray;      // bytes after the last reply
};

// Reads `keys` through the proxy on its own thread, round and round, a
// window of 16 keys at a time: as 16 pipelined one-key gets, then as one
// multi-get (whose keys fail over one by one), until stopped (or a
// minute, or a million requests, passed). A hit of a version older than
// the floor in force when the request was sent is stale: the floor rises
// once a newer round of writes has been acknowledged.
class Reader {
public:
    Reader(int port, const std::vector<std::string>& keys) : c_(port), keys_(keys) {
        thread_ = std::thread([this] { run(); });
    }
    ~Reader() { stop(); }
    void set_floor(int version) { floor_.store(version); }
    std::uint64_t replies() const { return progress_.load(); }
    // Waits until `more` replies beyond now have come (bounded).
    void wait_replies(std::uint64_t more) const {
        std::uint64_t want = replies() + more;
        for (auto deadline = Clock::now() + 10s; replies() < want && Clock::now() < deadline;)
            std::this_thread::sleep_for(10ms);
    }
    ReadTally stop() {
        stop_.store(true);
        if (thread_.joinable()) thread_.join();
        return tally_;
    }

private:
    static constexpr std::size_t kWindow = 16;

    void run() {
        try {
            std::size_t next = 0;
            bool multi = false;
            for (auto deadline = Clock::now() + 60s; !stop_.load() && Clock::now() < deadline && tally_.sent < 1000000;
                 multi = !multi) {
                const int floor = floor_.load();
                std::vector<std::size_t> asked;
                for (std::size_t n = 0; n < kWindow; ++n, next = (next + 1) % keys_.size()) asked.push_back(next);
                multi ? read_multi(asked, floor) : read_singles(asked, floor);
            }
            tally_.stray = c_.read_for(200ms);
        } catch (const std::exception& e) {
            tally_.failure = e.what();
        }
    }
    void read_singles(const std::vector<std::size_t>& asked, int floor) {
        std::string batch;
        for (std::size_t i : asked) batch += mc::get({keys_[i]});
        c_.send_all(batch);
        tally_.sent += asked.size();
        for (std::size_t i : asked) {
            std::string reply = c_.read_mc_reply();
            replied();
            if (reply == "END\r\n") sort(i, std::nullopt, reply, floor);
            else if (reply.rfind("VALUE ", 0) == 0) sort(i, mc::parse_values(reply).at(0), reply, floor);
            else sort(i, std::nullopt, reply, floor, true);
        }
    }
    // One multi-get: the keys in the request's order, each a hit or absent.
    void read_multi(const std::vector<std::size_t>& asked, int floor) {
        std::vector<std::string> names;
        for (std::size_t i : asked) names.push_back(keys_[i]);
        c_.send_all(mc::get(names));
        ++tally_.sent;
        std::string reply = c_.read_mc_reply();
        replied();
        if (reply.rfind("SERVER_ERROR", 0) == 0) {
            for (std::size_t i : asked) sort(i, std::nullopt, reply, floor, true);
            return;
        }
        std::vector<mc::Item> items = mc::parse_values(reply);
        std::size_t at = 0;
        for (std::size_t i : asked) {
            if (at < items.size() && items[at].key == keys_[i]) sort(i, items[at++], reply, floor);
            else sort(i, std::nullopt, reply, floor);
        }
        if (at != items.size()) {
            mc::Item extra;
            extra.key = "(an item not asked for, or out of order)";
            sort(asked[0], extra, reply, floor);
        }
    }
    void replied() { progress_.store(++tally_.replies); }
    // Key i read as `item` (nullopt: a miss, or an error if `error`).
    void sort(std::size_t i, const std::optional<mc::Item>& item, const std::string& reply, int floor = 0,
              bool error = false) {
        int v = item ? version_of(i, *item) : 0;
        std::uint64_t& count = error ? tally_.errors
                               : !item ? tally_.misses
                               : v == 0 ? tally_.wrong
                               : v < floor ? tally_.stale
                                           : tally_.hits;
        ++count;
        if (&count != &tally_.hits && tally_.first_bad.empty()) tally_.first_bad = keys_[i] + " -> " + escape(reply);
    }
    // The round that wrote key i's value `item`; 0 if none did.
    int version_of(std::size_t i, const mc::Item& item) const {
        for (int v = 1; v <= 9; ++v)
            if (item.key == keys_[i] && item.flags == 0 && item.data == value_of(v, i)) return v;
        return 0;
    }

    Connection c_;
    const std::vector<std::string>& keys_;
    std::atomic<bool> stop_{false};
    std::atomic<int> floor_{1};
    std::atomic<std::uint64_t> progress_{0};
    ReadTally tally_;
    std::thread thread_;
};

// Writes round `version` of every key, pipelined; the replies that were
// not STORED (every request gets one reply, or this throws).
std::size_t write_round(Connection& c, const std::vector<std::string>& keys, int version) {
    std::string batch;
    for (std::size_t i = 0; i < keys.size(); ++i) batch += mc::set(keys[i], value_of(version, i));
    c.send_all(batch);
    std::size_t not_stored = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) not_stored += c.read_mc_reply() != "STORED\r\n";
    return not_stored;
}

// How many of `keys` the server on `port` holds at round `version` (asked directly).
std::size_t held_at(int port, const std::vector<std::string>& keys, int version) {
    Connection c(port);
    std::size_t n = 0;
    for (std::size_t i = 0; i < keys.size(); i += 50) {
        std::vector<std::string> some(keys.begin() + i, keys.begin() + std::min(keys.size(), i + 50));
        for (const mc::Item& item : mc::parse_values(c.mc(mc::get(some))))
            for (std::size_t j = i; j < i + some.size(); ++j)
                if (item.key == keys[j] && item.data == value_of(version, j)) ++n;
    }
    return n;
}

long long ejects(const Proxy& cm) { return require_json_number(stats_json(cm), {"alpha"}, "server_ejects"); }

// Lines of the proxy's log saying `what` of the server on `port` (the log
// names a server by its "host:port:weight").
std::size_t logged(const Proxy& cm, int port, const std::string& what) {
    const std::string out = cm.output(), line = "server '127.0.0.1:" + std::to_string(port) + ":1' " + what;
    std::size_t n = 0;
    for (auto at = out.find(line); at != std::string::npos; at = out.find(line, at + 1)) ++n;
    return n;
}

// Kill: SIGKILL, later a new memcached on its port. Stop: SIGSTOP until
// ejected, SIGCONT before its first probe. LongStop: SIGSTOP through
// several retry times, so that probes time out while it is stopped.
enum class Fault { Kill, Stop, LongStop };

// The repcached scenario: 500 keys at v1 on both copies, a reader reading
// them all along; the victim copy fails, v2 is written while it is out,
// it comes back and rejoins, v3 is written. No read may miss, and none may
// return a version older than the last round acknowledged before it was
// sent; afterwards both copies hold v3.
void repcached_outage(std::size_t victim, Fault fault) {
    BackendServers b(Protocol::Memcache, 2);
    const std::string victim_name = victim == 0 ? "a1" : "b2";
    const int victim_port = b.port(victim);
    PoolSpec pool = two_copies(b);
    // Stopped, the victim must resume before its first probe (so that what
    // it still holds is v1, and only the rejoin's flush can empty it): a
    // retry time well past the v2 round.
    const int retry_ms = fault == Fault::Stop ? 2500 : 1000;
    pool.set("auto_eject_hosts", "true").set("server_failure_limit", "1");
    pool.set("server_retry_timeout", std::to_string(retry_ms));
    // Under read: primary no read reaches the second copy while the
    // primary holds the key; spread has it answer about half the keys, so
    // that its outage and its rejoin are seen by the reader too.
    if (victim == 1) pool.set("read", "spread");
    Proxy cm = start_proxy(ProxyKind::Cachemux, pool);
    Connection c(cm.port());
    const auto keys = outage_keys(500);
    REQUIRE(write_round(c, keys, 1) == 0);
    REQUIRE(held_at(b.port(0), keys, 1) == keys.size());
    REQUIRE(held_at(b.port(1), keys, 1) == keys.size());

    Reader reader(cm.port(), keys);
    reader.wait_replies(500);
    const long long ejects_before = ejects(cm);
    if (fault == Fault::Kill)
        b.mc[victim]->process().signal(SIGKILL);
    else freeze(b.mc[victim]->process());
    // Reads may not reach the victim at once (under read: primary, never
    // the second copy): a write to both copies ejects either.
    const std::string trigger = c.mc(mc::set("rk:trigger", "x"));
    CHECK(settle([&] { return ejects(cm) > ejects_before; }, true) == true);
    const std::uint64_t at_fault = reader.replies();
    reader.wait_replies(500);
    MESSAGE("victim " << victim_name << ": the write that met the fault answered " << escape(trigger));

    CHECK(write_round(c, keys, 2) == 0);  // the live copy alone: STORED
    reader.set_floor(2);
    reader.wait_replies(500);
    if (fault != Fault::Stop) {
        // Out for a while: the probes at each retry time meet a refused
        // connection, or time out, under reads.
        std::this_thread::sleep_for(Millis(retry_ms * 5 / 2));
        CHECK(logged(cm, victim_port, "ejected") >= 3);
    }
    if (fault == Fault::Kill) {
        b.mc[victim].reset();
        b.mc[victim] = MemcachedServer::on_port(victim_port);
    } else {
        b.mc[victim]->process().signal(SIGCONT);
        // It still holds v1: only the rejoin's flush stands between it and a stale read.
        // (After a long stop, the flushes of the probes that timed out run as it resumes.)
        if (fault == Fault::Stop) CHECK(held_at(victim_port, keys, 1) > 0);
    }
    CHECK(settle([&] { return logged(cm, victim_port, "flushed, back on the ring") > 0; }, true,
                 Millis(retry_ms + 5000)) == true);
    reader.wait_replies(1000);
    CHECK(held_at(victim_port, keys, 1) == 0);

    CHECK(write_round(c, keys, 3) == 0);  // both copies again
    reader.set_floor(3);
    reader.wait_replies(1000);
    const ReadTally t = reader.stop();
    MESSAGE("victim " << victim_name << std::string(fault == Fault::Kill ? " killed" : " stopped") << ": "
                      << t.sent << " requests, " << t.replies << " replies, " << t.replies - at_fault
                      << " since the fault; keys: " << t.hits << " hits, " << t.misses << " misses, " << t.errors << " errors, " << t.stale
                      << " stale, " << t.wrong << " wrong; first bad: " << t.first_bad);
    CHECK(t.failure == "");
    CHECK(t.replies == t.sent);
    CHECK(t.stray == "");
    CHECK(t.misses == 0);
    CHECK(t.stale == 0);
    CHECK(t.wrong == 0);
    CHECK(t.replies > at_fault + 2000);
    CHECK(held_at(b.port(0), keys, 3) == keys.size());
    CHECK(held_at(b.port(1), keys, 3) == keys.size());
    CHECK(c.read_for(100ms) == "");
}

}  // namespace

HARNESS_CACHEMUX_TEST("replicas: repcached scenario: the primary SIGKILLed under reads, restarted, rejoins") {
    repcached_outage(0, Fault::Kill);
}

HARNESS_CACHEMUX_TEST("replicas: repcached scenario: the second copy SIGKILLed under reads, restarted, rejoins") {
    repcached_outage(1, Fault::Kill);
}

HARNESS_CACHEMUX_TEST("replicas: repcached scenario: the primary SIGSTOPped until ejected, resumed, flushed as it rejoins") {
    repcached_outage(0, Fault::Stop);
}

HARNESS_CACHEMUX_TEST("replicas: repcached scenario: the second copy SIGSTOPped until ejected, resumed, flushed as it rejoins") {
    repcached_outage(1, Fault::Stop);
}

HARNESS_CACHEMUX_TEST("replicas: repcached scenario: the primary SIGSTOPped through several retry times, resumed, rejoins") {
    repcached_outage(0, Fault::LongStop);
}

HARNESS_CACHEMUX_TEST("replicas: a noreply pipeline with a stopped copy (not ejected): the owed replies, no stray bytes") {
    for (std::size_t victim : {0, 1}) {
        CAPTURE(victim);
        BackendServers b(Protocol::Memcache, 2);
        PoolSpec pool = two_copies(b);
        pool.set("auto_eject_hosts", "false");
        Proxy cm = start_proxy(ProxyKind::Cachemux, pool);
        Connection c(cm.port());
        REQUIRE(c.mc(mc::set("cnt", "0")) == "STORED\r\n");  // both server connections open
        freeze(b.mc[victim]->process());

        // 40 noreply sets, and among them noreply incr, touch and delete;
        // after every tenth set a get of it and a set that answers: the
        // client is owed 8 replies, in this order.
        std::string batch, want;
        for (int i = 0; i < 40; ++i) {
            const std::string k = "nk" + std::to_string(i);
            batch += mc::set(k, "x", 0, 0, true);
            if (i % 10 == 4) batch += "incr cnt 1 noreply\r\ntouch " + k + " 1000 noreply\r\ndelete gone noreply\r\n";
            if (i % 10 == 9) {
                batch += mc::get({k}) + mc::set("r" + std::to_string(i), "y");
                want += mc::value(k, "x") + "END\r\n" + "SERVER_ERROR Connection timed out\r\n";
            }
        }
        const auto start = Clock::now();
        c.send_all(batch);
        std::string got;
        for (int i = 0; i < 8; ++i) got += c.read_mc_reply(Millis(4 * kTimeoutMs + 3000));
        const auto took = std::chrono::duration_cast<Millis>(Clock::now() - start);
        MESSAGE("victim " << victim << ": 8 replies in " << took.count() << " ms");
        CHECK(got == want);
        CHECK(took < Millis(4 * kTimeoutMs + 3000));
        CHECK(c.read_for(Millis(2 * kTimeoutMs)) == "");
        // Its late answers to the timed-out requests must not reach the client either.
        b.mc[victim]->process().signal(SIGCONT);
        CHECK(c.read_for(500ms) == "");
        // In step: the next request gets its own reply.
        CHECK(c.mc(mc::get({"nk3"})) == mc::value("nk3", "x") + "END\r\n");
        CHECK(c.mc(mc::set("after", "z")) == "STORED\r\n");
        for (int i = 0; i < 40; ++i) CHECK(mc::get_direct(b.port(1 - victim), "nk" + std::to_string(i)) == "x");
        CHECK(mc::get_direct(b.port(1 - victim), "cnt") == "4");
        CHECK(c.read_for(100ms) == "");
    }
}

HARNESS_CACHEMUX_TEST("replicas: incr with a stopped copy: write: all answers its timeout, write: one the number") {
    for (const std::string write : {"all", "one"}) {
        for (std::size_t victim : {0, 1}) {
            CAPTURE(write);
            CAPTURE(victim);
            BackendServers b(Protocol::Memcache, 2);
            PoolSpec pool = two_copies(b);
            pool.set("auto_eject_hosts", "false").set("write", write);
            Proxy cm = start_proxy(ProxyKind::Cachemux, pool);
            Connection c(cm.port());
            REQUIRE(c.mc(mc::set("n", "10")) == "STORED\r\n");
            freeze(b.mc[victim]->process());
            const std::string want = write == "all" ? "SERVER_ERROR Connection timed out\r\n" : "15\r\n";
            const auto start = Clock::now();
            CHECK(c.mc("incr n 5\r\n", Millis(kTimeoutMs + 3000)) == want);
            // (write: one still waits for every copy: the reply comes at the timeout.)
            MESSAGE("write: " << write << ", copy " << victim << " stopped: the reply after "
                              << std::chrono::duration_cast<Millis>(Clock::now() - start).count() << " ms");
            CHECK(mc::get_direct(b.port(1 - victim), "n") == "15");
            b.mc[victim]->process().signal(SIGCONT);
            // The stopped copy ran the incr late, and was sent a delete
            // since its write may have been applied: 15 or nothing, never 10.
            auto late = settle([&] { return mc::get_direct(b.port(victim), "n"); }, std::nullopt, 1000ms);
            CHECK((late == std::nullopt || late == "15"));
            CHECK(c.read_for(200ms) == "");
        }
    }
}
