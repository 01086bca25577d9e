// Faults under steady load (issue 6, item 5).
//
// Several clients pipeline sets, gets and multi-key gets through the proxy
// (tests/support/load.hpp) while a backend is killed and restarted on the
// same port, or stopped (SIGSTOP) and resumed.  Every client must get exactly
// one reply per request, each fitting its request, none meant for another
// client, and keep its connection; the server must leave the ring and come
// back within the configured times; keys must move off the failed server and
// back; the proxy's memory must come back to its level before the fault.
//
// Then the faults of one connection: a server that closes mid-pipeline,
// resets, or sends a malformed reply (a fake server in a thread, since no
// real one misbehaves on demand) costs each request in flight on that
// connection one error reply, in order, and the next request reconnects; and
// clients that vanish with many requests in flight leak nothing and do not
// disturb the others.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>

#include "backend_servers.hpp"
#include "harness.hpp"
#include "load.hpp"

using namespace harness;
using namespace std::chrono_literals;
using load::Protocol;

namespace {

// The pool's liveness settings for every fault below.  timeout: a stopped
// server's requests fail after 400 ms; two failures in a row eject it; it is
// tried again after one second.
constexpr int kTimeoutMs = 400;
constexpr int kFailureLimit = 2;
constexpr int kRetryMs = 1000;
// Scheduling slack on a loaded 2-core machine, added to every upper bound.
constexpr Millis kSlack{1000};

constexpr Millis kWarmup{700};
constexpr Millis kAfterHeal{800};

long long ms(Clock::duration d) { return std::chrono::duration_cast<Millis>(d).count(); }

// The steady load of every fault case, for `kind` on `port`.
load::Options load_options(ProxyKind kind, Protocol protocol, int port) {
    load::Options lo;
    lo.protocol = protocol;
    lo.port = port;
    lo.max_duration = 30s;
    if (kind == ProxyKind::Nutcracker) {
        // nutcracker 0.5.0 closes a client's connection when a fragment of
        // its multi-key get fails (each client lost its connection and the
        // 24 requests in flight on it within milliseconds of the fault, with
        // memcached and with redis), and merges memcache multi-get values in
        // server order; so it is compared on single-key requests only.
        lo.multigets_in_10 = 0;
        lo.multiget_in_order = false;
    }
    return lo;
}

// Starts `load` and fails the test case unless it runs by the end of the warm-up.
void start_and_warm_up(load::Load& load, const std::string& what) {
    load.start();
    std::this_thread::sleep_for(kWarmup);
    if (load.replies() <= 500)
        FAIL(what << ": the load does not run (" << load.replies() << " replies)\n" << load::summary(load.stop()));
}

// ------------------------------------------------------------ backends

// A memcached or redis-server that can be killed and started again on its port.
struct Backend {
    explicit Backend(Protocol p) : protocol(p) {
        if (p == Protocol::Memcache) {
            memcached = std::make_unique<MemcachedServer>();
            port = memcached->port();
        } else {
            redis = std::make_unique<RedisServer>();
            port = redis->port();
        }
    }
    Process& process() { return memcached ? memcached->process() : redis->process(); }
    void kill() {
        process().signal(SIGKILL);
        REQUIRE(process().wait_exit(5000ms).has_value());
    }
    // On the main thread only: a child dies with the thread that started it
    // (PR_SET_PDEATHSIG).
    void restart() {
        if (protocol == Protocol::Memcache) {
            memcached.reset();
            memcached = MemcachedServer::on_port(port);
        } else {
            redis.reset();
            redis = RedisServer::on_port(port);
        }
    }
    // The value held for `key`, asked directly (bounded).
    std::optional<std::string> get(const std::string& key) const {
        if (protocol == Protocol::Memcache) return mc::get_direct(port, key);
        Connection c(port);
        std::string r = resp::call(c, resp::cmd("GET", key), 2000ms);
        if (r == "$-1\r\n") return std::nullopt;
        auto eol = r.find("\r\n");
        if (r.empty() || r[0] != '$' || eol == std::string::npos)
            throw HarnessError("GET " + key + " answered " + escape(r));
        return r.substr(eol + 2, r.size() - eol - 4);
    }
    // Whether each key is held here (pipelined).
    std::vector<bool> holds_many(const std::vector<std::string>& keys) const {
        if (protocol == Protocol::Memcache) return mc::holds_many(port, keys);
        Connection c(port);
        std::string batch;
        for (const auto& k : keys) batch += resp::cmd("EXISTS", k);
        c.send_all(batch);
        std::vector<bool> held;
        for (std::size_t i = 0; i < keys.size(); ++i) held.push_back(resp::read_reply(c, 5000ms) == ":1\r\n");
        return held;
    }

    Protocol protocol;
    int port = 0;
    std::unique_ptr<MemcachedServer> memcached;
    std::unique_ptr<RedisServer> redis;
};

// A set through the proxy; true if stored, false on an error reply.
bool set_through(Protocol p, Connection& c, const std::string& key, const std::string& value) {
    if (p == Protocol::Memcache) {
        std::string r = c.mc(mc::set(key, value), 5000ms);
        if (r == "STORED\r\n") return true;
        if (r.rfind("SERVER_ERROR ", 0) == 0) return false;
        throw HarnessError("set " + key + " answered " + escape(r));
    }
    std::string r = resp::call(c, resp::cmd("SET", key, value), 5000ms);
    if (r == "+OK\r\n") return true;
    if (r.rfind("-", 0) == 0) return false;
    throw HarnessError("SET " + key + " answered " + escape(r));
}

PoolSpec fault_pool(Protocol p, const std::vector<std::unique_ptr<Backend>>& backends, bool eject) {
    PoolSpec pool;
    pool.name = "faulty";
    for (const auto& b : backends) {
        ServerSpec s;
        s.port = b->port;
        pool.servers.push_back(s);
    }
    // ketama with equal weights: an ejected server's keys move, no other key
    // does.  md5 spreads keys as alike as "probe:1", "probe:2" (fnv1a_64 puts
    // them on one short arc of the ring).
    pool.set("hash", "md5").set("distribution", "ketama");
    pool.set("timeout", std::to_string(kTimeoutMs));
    pool.set("auto_eject_hosts", eject ? "true" : "false");
    pool.set("server_failure_limit", std::to_string(kFailureLimit));
    pool.set("server_retry_timeout", std::to_string(kRetryMs));
    if (p == Protocol::Redis) pool.set("redis", "true");
    return pool;
}

// Index of the backend holding each key (asked directly), -1 if none or several.
std::vector<int> owners(const std::vector<std::unique_ptr<Backend>>& backends, const std::vector<std::string>& keys,
                        int skip = -1) {
    return sole_holders(backends.size(), keys.size(), [&](std::size_t b) {
        return static_cast<int>(b) == skip ? std::vector<bool>{} : backends[b]->holds_many(keys);
    });
}

// Which backend (not `skip`) holds exactly `value` for `key`; -1 if none, -2 if several.
int holder_of(const std::vector<std::unique_ptr<Backend>>& backends, const std::string& key,
              const std::string& value, int skip = -1) {
    int found = -1;
    for (std::size_t b = 0; b < backends.size(); ++b) {
        if (static_cast<int>(b) == skip) continue;
        if (backends[b]->get(key) == value) found = found == -1 ? static_cast<int>(b) : -2;
    }
    return found;
}

// One reply per request on every client, each fitting its request, and no
// client's connection closed.
void check_counts(const std::string& phase, const std::vector<load::ClientResult>& results) {
    bool clean = true, counted = true, open = true, ran = true;
    for (const auto& r : results) {
        clean = clean && r.failure.empty();
        counted = counted && r.replies == r.sent;
        open = open && !r.closed_by_proxy;
        ran = ran && r.sent > 100;  // the load really ran
    }
    CHECK_MESSAGE((clean && counted && open && ran),
                  phase << ": " << std::string(clean ? "" : "a client failed; ")
                        << std::string(counted ? "" : "replies != requests; ")
                        << std::string(open ? "" : "connection closed by the proxy; ")
                        << std::string(ran ? "" : "load did not run; ")
                        << "\n" << load::summary(results));
}

// After a fault healed and the same load ran again, the proxy's resident
// memory must be back near where it was before.  Buffers (16 KiB mbufs) and
// request objects live on free lists: nutcracker never gives them back, and
// cachemux frees only spares beyond recent use plus a margin, once a second;
// so RSS after a fault is at most its high-water mark, which the fault may
// raise by what the requests queued for the failed server needed (at most
// clients x window small requests, well under 1 MiB) plus allocator noise.
// A leak of the failed requests or of their buffers pins an mbuf each:
// hundreds to thousands per fault, i.e. several MiB.  8 MiB (or half again
// the size, for a proxy that starts big) is far above the first and below
// the second.
void check_memory(const std::string& what, std::size_t before_kib, std::size_t after_kib,
                  const std::string& before = "before the fault", const std::string& after = "after") {
    MESSAGE(what << ": proxy RSS " << before_kib << " KiB " << before << ", " << after_kib << " KiB " << after);
    CHECK(before_kib > 0);
    // A sanitizer keeps shadow memory for every page the proxy touched, which
    // it never gives back (ThreadSanitizer doubles the RSS): the plain build
    // holds the tight bound, a sanitized one a loose one.
    const std::size_t allowed = kSanitized ? before_kib * 2 + 16 * 1024 : std::max(before_kib + 8 * 1024, before_kib * 3 / 2);
    CHECK(after_kib <= allowed);
}

enum class Fault { Kill, Stop };

// ------------------------------------------------ a backend fails under load

void fault_under_load(ProxyKind kind, Protocol protocol, Fault fault) {
    const char* name = protocol == Protocol::Memcache ? "memcached" : "redis-server";
    const std::string what = std::string(to_string(kind)) + ", " + name + (fault == Fault::Kill ? " killed" : " stopped");
    if (protocol == Protocol::Redis) resp::require_redis_plugin(kind);
    std::vector<std::unique_ptr<Backend>> backends;
    for (int i = 0; i < 3; ++i) backends.push_back(std::make_unique<Backend>(protocol));
    const int x = 1;  // the server that fails
    Proxy proxy = start_proxy(kind, fault_pool(protocol, backends, true));
    const pid_t proxy_pid = proxy.process().pid();

    // Probe keys, set through the proxy: where each lives before the fault.
    std::vector<std::string> probes;
    for (int i = 0; i < 40; ++i) probes.push_back("probe:" + std::to_string(i));
    Connection pc(proxy.port());
    for (const auto& k : probes) REQUIRE(set_through(protocol, pc, k, "before"));
    const std::vector<int> home = owners(backends, probes);
    std::vector<std::size_t> on_x;
    for (std::size_t i = 0; i < probes.size(); ++i) {
        REQUIRE_MESSAGE(home[i] >= 0, probes[i] << " is on no single backend");
        if (home[i] == x) on_x.push_back(i);
    }
    REQUIRE(on_x.size() >= 3);
    REQUIRE(on_x.size() < probes.size());
    const std::string& x_probe = probes[on_x[0]];
    int serial = 0;
    auto fresh = [&] { return "v" + std::to_string(++serial); };

    load::Options lo = load_options(kind, protocol, proxy.port());
    lo.clients = 5;
    lo.window = 24;
    load::Load load(lo);
    start_and_warm_up(load, what);
    const std::size_t rss_before = load::rss_kib(proxy_pid);
    // Where the load's keys live, for telling its requests apart by server.
    const std::vector<std::string> load_keys = load.all_keys();
    const std::vector<int> load_owner = owners(backends, load_keys);

    // --- the fault
    struct Resume {  // a stopped server goes on if the test stops early
        Backend& b;
        bool stopped;
        ~Resume() {
            if (stopped) b.process().signal(SIGCONT);
        }
    } resume{*backends[x], fault == Fault::Stop};
    const auto t_fault = Clock::now();
    if (fault == Fault::Kill) backends[x]->kill();
    else freeze(backends[x]->process());

    // Ejected: a key of the failed server is stored again (elsewhere).  The
    // ejection happened after the last failing probe was sent and before the
    // first succeeding one was answered (t_ejected_by); a request sent after
    // that surely met a ring without the server.
    std::optional<Clock::time_point> t_ejected;
    Clock::time_point t_ejected_by;
    Clock::time_point prev_probe_sent = t_fault;  // the last probe that failed was sent then
    while (Clock::now() < t_fault + 10s) {
        auto sent = Clock::now();
        if (set_through(protocol, pc, x_probe, fresh())) {
            t_ejected = sent;
            t_ejected_by = Clock::now();
            break;
        }
        prev_probe_sent = sent;
        std::this_thread::sleep_for(20ms);
    }
    REQUIRE_MESSAGE(t_ejected.has_value(), what << ": the failed server's keys still fail 10 s after the fault");
    const long long eject_ms = ms(*t_ejected - t_fault);
    MESSAGE(what << ": ejected " << eject_ms << " ms after the fault");
    // Ejected within failure_limit timeouts (a stopped server) plus one retry interval.
    CHECK(eject_ms <= kTimeoutMs * kFailureLimit + kRetryMs + kSlack.count());
    // A stopped server fails only by timing out: failure_limit timeouts (the
    // first one may have started a little before the fault) before it leaves.
    // Workers count failures together, and each has its own connection
    // timing out at the same time, so N workers need 1/N of the rounds.
    const int workers = kind == ProxyKind::Cachemux ? cachemux_workers() : 1;
    const int rounds = (kFailureLimit + workers - 1) / workers;
    if (fault == Fault::Stop) CHECK(eject_ms >= kTimeoutMs * (rounds - 1) + kTimeoutMs / 2);

    // While it is out: its keys land on the other servers, and no other key moves.
    // (A set may meet the proxy's retry of the dead server: try it again.)
    for (std::size_t i = 0; i < probes.size(); ++i) {
        std::string v = fresh();
        bool stored = false;
        for (int attempt = 0; attempt < 50 && !stored; ++attempt) {
            stored = set_through(protocol, pc, probes[i], v);
            if (!stored) std::this_thread::sleep_for(20ms);
        }
        REQUIRE_MESSAGE(stored, probes[i] << " never stored while the server was out");
        int where = holder_of(backends, probes[i], v, x);
        if (home[i] == x) CHECK_MESSAGE(where >= 0, probes[i] << " (of the failed server) held by " << where);
        else CHECK_MESSAGE(where == home[i], probes[i] << " moved from " << home[i] << " to " << where);
    }

    // --- heal, while the server is out of the ring: after the proxy's first
    // retry of it (a stopped server costs failure_limit timeouts to eject
    // again, a dead one nothing), so that it rejoins at the next retry.
    std::this_thread::sleep_until(*t_ejected + Millis(kRetryMs) +
                                  Millis(fault == Fault::Stop ? kTimeoutMs * kFailureLimit : 0) + 300ms);
    const auto t_heal = Clock::now();
    if (fault == Fault::Kill) backends[x]->restart();
    else backends[x]->process().signal(SIGCONT);

    // Rejoined: a key of the server is stored on it again (rejoined before
    // that probe was answered: t_rejoined_by).
    std::optional<Clock::time_point> t_rejoined;
    Clock::time_point t_rejoined_by;
    while (Clock::now() < t_heal + 10s) {
        auto sent = Clock::now();
        std::string v = fresh();
        if (set_through(protocol, pc, x_probe, v) && backends[x]->get(x_probe) == v) {
            t_rejoined = sent;
            t_rejoined_by = Clock::now();
            break;
        }
        std::this_thread::sleep_for(20ms);
    }
    REQUIRE_MESSAGE(t_rejoined.has_value(), what << ": the server never rejoined (10 s)");
    const long long rejoin_ms = ms(*t_rejoined - t_heal);
    MESSAGE(what << ": rejoined " << rejoin_ms << " ms after it came back");
    // The proxy tries it again within one retry timeout.
    CHECK(rejoin_ms <= kRetryMs + kSlack.count());

    std::this_thread::sleep_for(kAfterHeal);
    const std::size_t rss_after = load::rss_kib(proxy_pid);
    const auto& results = load.stop();
    check_counts(what, results);

    // Its keys are back home, and so is everything else.
    for (std::size_t i = 0; i < probes.size(); ++i) {
        std::string v = fresh();
        REQUIRE(set_through(protocol, pc, probes[i], v));
        CHECK_MESSAGE(holder_of(backends, probes[i], v) == home[i], probes[i] << " not back on " << home[i]);
    }

    // What the load saw, by the server of each single-key request.
    long long first_x_error = -1, last_x_error = -1, retry_burst = -1;
    std::optional<Clock::time_point> last_eject;  // the last error for its keys before it came back
    std::size_t x_errors = 0, other_errors = 0, other_requests = 0, late_x_errors = 0;
    for (const auto& r : results) {
        for (const auto& ev : r.events) {
            if (ev.op == load::Op::MultiGet) continue;
            int owner = load_owner[r.client * lo.keys + ev.key];
            if (owner < 0) continue;
            if (owner != x) {
                ++other_requests;
                other_errors += ev.error;
                continue;
            }
            if (!ev.error) continue;
            ++x_errors;
            long long at = ms(ev.replied - t_fault);
            if (first_x_error < 0 || at < first_x_error) first_x_error = at;
            last_x_error = std::max(last_x_error, at);
            // Sent after the ejection and before it came back: the proxy trying it again.
            if (ev.sent > t_ejected_by && ev.sent < t_heal) {
                long long s = ms(ev.sent - t_fault);
                if (retry_burst < 0 || s < retry_burst) retry_burst = s;
            }
            if (ev.sent > t_rejoined_by) ++late_x_errors;
            if (ev.replied < t_heal && (!last_eject || ev.replied > *last_eject)) last_eject = ev.replied;
        }
    }
    MESSAGE(what << ": " << x_errors << " error replies for the failed server's keys (first " << first_x_error
                 << " ms, last " << last_x_error << " ms after the fault; proxy retried it " << retry_burst
                 << " ms after the fault), " << other_errors << " errors in " << other_requests
                 << " requests for the other servers' keys");
    CHECK(x_errors > 0);
    // The other servers' keys never notice.
    CHECK(other_errors == 0);
    // Back on the ring, it answers.
    CHECK(late_x_errors == 0);
    // Out of the ring for a whole retry timeout: the first retry is no sooner
    // than server_retry_timeout after the ejection (which happened after the
    // last failing probe was sent).
    if (retry_burst >= 0) CHECK(retry_burst >= ms(prev_probe_sent - t_fault) + kRetryMs - 250 * kSlackFactor);
    // Healed while out of the ring, it rejoins one retry timeout after it
    // was last ejected (its last error replies), not sooner, not much later.
    // (Healed in the middle of a retry, it stays at once: nothing to time.)
    if (rejoin_ms >= 200 && last_eject && *last_eject > t_ejected_by) {
        long long out_for = ms(*t_rejoined - *last_eject);
        MESSAGE(what << ": back on the ring " << out_for << " ms after its last ejection (server_retry_timeout "
                     << kRetryMs << " ms)");
        // With several workers the last error may come after the ejection:
        // a request another worker sent to the server just before it left
        // fails up to one timeout later.
        const int late_errors_ms = workers > 1 ? kTimeoutMs : 0;
        CHECK(out_for >= kRetryMs - 250 - late_errors_ms);
        CHECK(out_for <= kRetryMs + kSlack.count());
    } else {
        MESSAGE(what << ": healed during a retry; rejoined at once");
    }

    check_memory(what, rss_before, rss_after);
}

}  // namespace

// nutcracker runs the first and the last (one of each fault, one of each
// protocol; the other two pass against it as well, but cost 10 s).
static void memcached_killed(ProxyKind kind) { fault_under_load(kind, Protocol::Memcache, Fault::Kill); }
static void redis_stopped(ProxyKind kind) { fault_under_load(kind, Protocol::Redis, Fault::Stop); }

HARNESS_PROXY_TEST("fault: memcached killed under load, restarted on its port", memcached_killed)

HARNESS_CACHEMUX_TEST("fault: memcached stopped under load, resumed") {
    fault_under_load(ProxyKind::Cachemux, Protocol::Memcache, Fault::Stop);
}

HARNESS_CACHEMUX_TEST("fault: redis-server killed under load, restarted on its port") {
    fault_under_load(ProxyKind::Cachemux, Protocol::Redis, Fault::Kill);
}

HARNESS_PROXY_TEST("fault: redis-server stopped under load, resumed", redis_stopped)

// ------------------------------------- auto_eject_hosts: false, under load

// Without ejection a dead server's keys fail, promptly, for as long as it is
// dead; no other key notices; once it is back the next request reconnects.
static void killed_without_ejection(ProxyKind kind) {
    const std::string what = std::string(to_string(kind)) + ", no ejection, memcached killed";
    std::vector<std::unique_ptr<Backend>> backends;
    for (int i = 0; i < 3; ++i) backends.push_back(std::make_unique<Backend>(Protocol::Memcache));
    const int x = 1;
    Proxy proxy = start_proxy(kind, fault_pool(Protocol::Memcache, backends, false));

    const load::Options lo = load_options(kind, Protocol::Memcache, proxy.port());
    load::Load load(lo);
    start_and_warm_up(load, what);
    const std::vector<std::string> load_keys = load.all_keys();
    const std::vector<int> load_owner = owners(backends, load_keys);
    // A probe key of the server that dies, found through the proxy.
    Connection pc(proxy.port());
    std::string x_key;
    for (int i = 0; i < 200 && x_key.empty(); ++i) {
        std::string k = "probe:" + std::to_string(i);
        REQUIRE(set_through(Protocol::Memcache, pc, k, "v"));
        if (backends[x]->get(k)) x_key = k;
    }
    REQUIRE_FALSE(x_key.empty());

    backends[x]->kill();
    const auto t_kill = Clock::now();
    std::this_thread::sleep_for(1200ms);
    CHECK_FALSE(set_through(Protocol::Memcache, pc, x_key, "dead"));  // an error, not a hang

    const auto t_restart = Clock::now();  // dead until here
    backends[x]->restart();
    const auto t_heal = Clock::now();  // listening from (a little before) here
    std::optional<Clock::time_point> t_back;
    for (int serial = 0; Clock::now() < t_heal + 5s; std::this_thread::sleep_for(20ms)) {
        auto sent = Clock::now();
        std::string v = "back" + std::to_string(++serial);
        if (set_through(Protocol::Memcache, pc, x_key, v) && backends[x]->get(x_key) == v) {
            t_back = sent;
            break;
        }
    }
    REQUIRE_MESSAGE(t_back.has_value(), what << ": the restarted server never served its keys again");
    MESSAGE(what << ": served again " << ms(*t_back - t_heal) << " ms after the restart");
    CHECK(*t_back - t_heal <= kSlack);  // the next request reconnects: no retry timeout to wait for
    std::this_thread::sleep_for(300ms);
    const auto& results = load.stop();
    check_counts(what, results);

    std::size_t x_ok_dead = 0, x_errors = 0, other_errors = 0, late_x_errors = 0;
    long long slowest_error = 0;
    for (const auto& r : results) {
        for (const auto& ev : r.events) {
            if (ev.op == load::Op::MultiGet) continue;
            int owner = load_owner[r.client * lo.keys + ev.key];
            if (owner < 0) continue;
            if (owner != x) {
                other_errors += ev.error;
                continue;
            }
            // (Sent a little before the restart, it may reach the server once the new one
            // listens; under a sanitizer the proxy's queue can hold it for most of a second.)
            if (ev.sent > t_kill && ev.sent < t_restart - (kSanitized ? kSlack : Millis(100))) {
                ev.error ? ++x_errors : ++x_ok_dead;
                if (ev.error) slowest_error = std::max(slowest_error, ms(ev.replied - ev.sent));
            }
            if (ev.sent > *t_back && ev.error) ++late_x_errors;
        }
    }
    MESSAGE(what << ": " << x_errors << " error replies for its keys while it was dead (slowest "
                 << slowest_error << " ms), " << x_ok_dead << " other replies; " << other_errors
                 << " errors for the other servers' keys");
    CHECK(x_errors > 0);
    CHECK(x_ok_dead == 0);         // no ejection: nothing else could have answered them
    // Refused, not left hanging: bounded like the other timings here, with
    // slack for a loaded machine (a sanitizer run stretched it to 1011 ms).
    CHECK(slowest_error < kTimeoutMs + 2 * kSlack.count());
    CHECK(other_errors == 0);
    CHECK(late_x_errors == 0);
}
HARNESS_PROXY_TEST("fault: auto_eject_hosts false, memcached killed under load: its keys fail, others do not",
                   killed_without_ejection)

// ------------------------------------------- clients that vanish mid-flight

// Clients that send 1000 pipelined requests (a third of them 2 KiB sets) and
// vanish: reset after the first reply, half-closed and gone before any, or
// reset before any.  The proxy must drop what they left in flight and the
// counted load on other connections must not notice at all.  Nothing leaks:
// RSS does not grow from the 6th to the 30th such client (keeping what each
// left in flight would add ~1-2 MiB a client), and two seconds after the
// last one (two of cachemux's once-a-second trims of its free lists) it is
// back within bounds of its level before the first.
//
// cachemux only: nutcracker 0.5.0 passes everything but the memory bounds;
// its RSS climbs in steps of several MiB (47 -> 73 MiB over 54 such clients)
// and never comes down.  (Measured for cachemux: 5.5 MiB before the first
// client, ~9-10.5 MiB right after the last, ~8.5 MiB two seconds later; gdb
// on the idle proxy shows every Request back on its free list.)
static void vanishing_clients(ProxyKind kind) {
    const std::string what = std::string(to_string(kind)) + ", vanishing clients";
    std::vector<std::unique_ptr<Backend>> backends;
    for (int i = 0; i < 3; ++i) backends.push_back(std::make_unique<Backend>(Protocol::Memcache));
    Proxy proxy = start_proxy(kind, fault_pool(Protocol::Memcache, backends, false));
    const pid_t proxy_pid = proxy.process().pid();

    std::vector<std::string> gone_keys;
    for (int i = 0; i < 200; ++i) gone_keys.push_back("gone:k" + std::to_string(i));
    const std::string big(2048, 'g');
    {
        Connection c(proxy.port());
        std::string batch;
        for (const auto& k : gone_keys) batch += mc::set(k, big);
        c.send_all(batch);
        for (std::size_t i = 0; i < gone_keys.size(); ++i) REQUIRE(c.read_until("\r\n", 5000ms) == "STORED\r\n");
    }
    std::string burst;
    for (int j = 0; j < 1000; ++j) {
        const std::string& k = gone_keys[static_cast<std::size_t>(j) % gone_keys.size()];
        if (j % 3 == 0) burst += mc::set(k, big);
        else if (j % 3 == 1) burst += "get " + k + "\r\n";
        else burst += mc::get({k, gone_keys[(j + 1) % 200], gone_keys[(j + 7) % 200], gone_keys[(j + 13) % 200]});
    }

    load::Options lo;
    lo.port = proxy.port();
    lo.max_duration = 30s;
    lo.multiget_in_order = kind == ProxyKind::Cachemux;
    load::Load load(lo);
    load.start();
    std::this_thread::sleep_for(500ms);
    const std::size_t rss_steady = load::rss_kib(proxy_pid);

    // A multi-get over keys of every server: its reply comes after every
    // request already on any server connection, so after it, whatever a
    // vanished client left in flight is finished (rounds do not pile up).
    Connection marker(proxy.port());
    const std::string settle = mc::get(std::vector<std::string>(gone_keys.begin(), gone_keys.begin() + 30));
    auto vanish = [&](int i) {
        {
            Connection c(proxy.port());
            c.send_all(burst);
            switch (i % 3) {
            case 0:  // reset (unread replies) once the proxy is answering
                c.read_until(mc::reply_length, 5000ms);
                break;
            case 1:  // half-close, then gone before any reply
                c.shutdown_write();
                break;
            case 2: {  // reset at once
                linger l{1, 0};
                ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
                break;
            }
            }
        }  // gone
        marker.send_all(settle);
        CHECK(mc::parse_values(marker.read_until(mc::reply_length, 5000ms)).size() == 30);
    };
    for (int i = 0; i < 6; ++i) vanish(i);
    std::this_thread::sleep_for(300ms);
    const std::size_t rss_warm = load::rss_kib(proxy_pid);
    for (int i = 6; i < 30; ++i) vanish(i);
    std::this_thread::sleep_for(300ms);
    const std::size_t rss_end = load::rss_kib(proxy_pid);
    std::this_thread::sleep_for(2200ms);
    const std::size_t rss_settled = load::rss_kib(proxy_pid);

    const auto& results = load.stop();
    check_counts(what, results);
    std::uint64_t errors = 0;
    for (const auto& r : results) errors += r.errors;
    CHECK_MESSAGE(errors == 0, what << ": the other clients got " << errors << " error replies");
    // Still serving, with every value intact.
    Connection c(proxy.port());
    CHECK(escape(c.mc("get " + gone_keys[5] + "\r\n")) == escape(mc::value(gone_keys[5], big) + "END\r\n"));
    CHECK(proxy.process().running());
    check_memory(what, rss_warm, rss_end, "after 6 vanished clients", "after 30");
    check_memory(what, rss_steady, rss_settled, "before the first", "2.5 s after the last");
}
HARNESS_CACHEMUX_TEST("fault: clients that vanish with 1000 requests in flight leak nothing, disturb no one") {
    vanishing_clients(ProxyKind::Cachemux);
}

// ------------------------------------------------ a server that misbehaves

namespace {

// A server of the test's own on a loopback port, for faults no real server
// commits on demand.  One thread accepts connections and hands each, in
// turn, to `handler(self, fd, n)` (n: how many it accepted before); the fd
// is closed after the handler unless the handler closed it (fd = -1).
// Everything it waits for is bounded, and it stops with the object.
class FakeServer {
public:
    using Handler = std::function<void(FakeServer&, int& fd, int index)>;

    explicit FakeServer(Handler handler) : handler_(std::move(handler)) {
        for (int attempt = 0; attempt < 20 && listen_fd_ < 0; ++attempt) {
            int port = free_port();
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) break;
            int one = 1;
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(static_cast<std::uint16_t>(port));
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 16) == 0) {
                listen_fd_ = fd;
                port_ = port;
            } else {
                ::close(fd);
            }
        }
        if (listen_fd_ < 0) throw HarnessError("fake server: no port to listen on");
        thread_ = std::thread([this] { run(); });
    }
    ~FakeServer() {
        stop_ = true;
        thread_.join();
        ::close(listen_fd_);
    }
    FakeServer(const FakeServer&) = delete;
    FakeServer& operator=(const FakeServer&) = delete;

    int port() const { return port_; }
    int accepted() const { return accepted_; }
    bool stopping() const { return stop_; }
    // The first thing that went wrong in the server thread ("" if nothing).
    std::string problem() {
        std::lock_guard<std::mutex> lock(mu_);
        return problem_;
    }
    void note(const std::string& p) {
        std::lock_guard<std::mutex> lock(mu_);
        if (problem_.empty()) problem_ = p;
    }

private:
    void run() {
        while (!stop_) {
            pollfd p{listen_fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) continue;
            int index = accepted_++;
            try {
                handler_(*this, fd, index);
            } catch (const std::exception& e) {
                note(std::string("connection ") + std::to_string(index) + ": " + e.what());
            }
            if (fd >= 0) ::close(fd);
        }
    }

    Handler handler_;
    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    std::mutex mu_;
    std::string problem_;
    std::thread thread_;
};

// Reads into `buf` once (waiting up to `deadline`, or until the server
// stops).  False on EOF, reset or timeout.
bool fake_read(FakeServer& self, int fd, std::string& buf, Clock::time_point deadline) {
    while (!self.stopping() && Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        char tmp[16384];
        ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
        if (n <= 0) return false;
        buf.append(tmp, static_cast<std::size_t>(n));
        return true;
    }
    return false;
}

void fake_send(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n <= 0) throw HarnessError(std::string("fake server: send: ") + std::strerror(errno));
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

// The key of the first complete request in `buf` (a memcache "get <key>", a
// redis GET), removed from `buf`; nullopt while incomplete. cachemux opens
// each redis connection with INFO server (to learn the version); that one is
// answered into `greeting` as a redis would, and the next request taken.
std::optional<std::string> take_request(Protocol p, std::string& buf, std::string& greeting) {
    if (p == Protocol::Memcache) {
        auto eol = buf.find("\r\n");
        if (eol == std::string::npos) return std::nullopt;
        std::string line = buf.substr(0, eol);
        buf.erase(0, eol + 2);
        if (line.rfind("get ", 0) != 0) throw HarnessError("fake server: unexpected request " + escape(line));
        return line.substr(4);
    }
    std::size_t n = resp::reply_length(buf);  // a command is a RESP array of bulk strings
    if (n == 0) return std::nullopt;
    std::string command = buf.substr(0, n);
    buf.erase(0, n);
    if (command == resp::cmd("INFO", "server")) {
        greeting += "$37\r\n# Server\r\nredis_version:7.0.15-fake\r\n\r\n";
        return take_request(p, buf, greeting);
    }
    // "*2\r\n$3\r\nGET\r\n$<len>\r\n<key>\r\n": the key is the last bulk string.
    auto end = command.size() - 2;
    auto start = command.rfind("\r\n", end - 1) + 2;
    if (command.find("GET") == std::string::npos) throw HarnessError("fake server: unexpected " + escape(command));
    return command.substr(start, end - start);
}

// The reply to a get of `key`: its value is the key itself.
std::string fake_answer(Protocol p, const std::string& key) {
    if (p == Protocol::Memcache) return mc::value(key, key) + "END\r\n";
    return "$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
}

// Answers every request until the peer closes or the server stops.
void fake_serve(FakeServer& self, int fd, Protocol p) {
    std::string buf;
    while (fake_read(self, fd, buf, Clock::now() + 60s)) {
        std::string out;
        while (auto key = take_request(p, buf, out)) out += fake_answer(p, *key);
        fake_send(fd, out);
    }
}

enum class Misdeed {
    Malformed,    // a reply no parser can take (memcache: a VALUE line with no byte count; redis: "?garbage")
    UnknownLine,  // memcache: a line that is no memcached reply ("GARBAGE"), then the real replies
    BadDataEnd,   // memcache: a value block not ended by "\r\n", then the real replies
    Close,        // closes mid-pipeline
    Reset,        // resets mid-pipeline (SO_LINGER 0)
    Truncated,    // half a reply, then closes
};
const char* to_string(Misdeed m) {
    switch (m) {
    case Misdeed::Malformed: return "malformed reply";
    case Misdeed::UnknownLine: return "unknown reply line";
    case Misdeed::BadDataEnd: return "value block without its \\r\\n";
    case Misdeed::Close: return "close";
    case Misdeed::Reset: return "reset";
    case Misdeed::Truncated: return "truncated reply, then close";
    }
    return "?";
}

// Two clients pipeline 6 gets each onto the one server; it answers the first
// 5 it received, then misbehaves.  Each client must get, in order, a value
// for each of its requests answered and then one error reply for each of the
// rest, and nothing else; and the next request of each must work (the proxy
// reconnects).
void misbehaving_server(ProxyKind kind, Protocol protocol, Misdeed misdeed) {
    const std::string what = std::string(to_string(kind)) + ", " +
                             (protocol == Protocol::Memcache ? "memcache" : "redis") + ", " + to_string(misdeed);
    INFO(what);
    if (protocol == Protocol::Redis) resp::require_redis_plugin(kind);
    constexpr std::size_t kPerClient = 6;
    constexpr std::size_t kAnswered = 5;
    std::atomic<bool> misbehave{false};     // the clients have the 5 values: now
    std::atomic<bool> proxy_closed{false};  // the proxy dropped the connection after the malformed reply

    FakeServer fake([&](FakeServer& self, int& fd, int index) {
        if (index > 0) return fake_serve(self, fd, protocol);
        std::string buf;
        std::vector<std::string> keys;
        std::string out;  // the greeting's reply first, if any
        auto deadline = Clock::now() + 5s;
        while (keys.size() < 2 * kPerClient) {
            if (auto key = take_request(protocol, buf, out)) keys.push_back(*key);
            else if (!fake_read(self, fd, buf, deadline))
                throw HarnessError("only " + std::to_string(keys.size()) + " requests arrived");
        }
        for (std::size_t i = 0; i < kAnswered; ++i) out += fake_answer(protocol, keys[i]);
        fake_send(fd, out);
        // Misbehave once those replies have reached the clients (a reset
        // would otherwise discard them on the way).
        for (auto until = Clock::now() + 5s; !misbehave && Clock::now() < until;) std::this_thread::sleep_for(5ms);
        const std::string next = fake_answer(protocol, keys[kAnswered]);
        switch (misdeed) {
        case Misdeed::Malformed:
        case Misdeed::UnknownLine:
        case Misdeed::BadDataEnd: {
            std::string bad;
            if (misdeed == Misdeed::Malformed) {
                bad = protocol == Protocol::Memcache ? "VALUE " + keys[kAnswered] + " 0\r\n" : "?garbage\r\n";
            } else {
                // A server out of step: the bad reply, then every reply owed
                // as if nothing happened.  A proxy that takes the bad one as
                // a reply hands each later one to the request after its own.
                const std::string& k = keys[kAnswered];
                bad = misdeed == Misdeed::UnknownLine
                          ? "GARBAGE\r\n" + fake_answer(protocol, k)
                          : "VALUE " + k + " 0 " + std::to_string(k.size()) + "\r\n" + k + "XXEND\r\n";
                for (std::size_t i = kAnswered + 1; i < keys.size(); ++i) bad += fake_answer(protocol, keys[i]);
            }
            fake_send(fd, bad);
            // The proxy must give up on this connection; if it does not
            // within a second, close it for it, so the test ends promptly.
            std::string ignored;
            auto until = Clock::now() + 1s;
            while (fake_read(self, fd, ignored, until)) {
            }
            proxy_closed = Clock::now() < until;
            break;
        }
        case Misdeed::Close:
            ::close(fd);
            fd = -1;
            break;
        case Misdeed::Reset: {
            linger l{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            ::close(fd);
            fd = -1;
            break;
        }
        case Misdeed::Truncated:
            fake_send(fd, next.substr(0, next.size() / 2));
            std::this_thread::sleep_for(50ms);
            ::close(fd);
            fd = -1;
            break;
        }
    });

    PoolSpec pool;
    pool.name = "misbehaving";
    ServerSpec server;
    server.port = fake.port();
    pool.servers.push_back(server);
    if (protocol == Protocol::Redis) pool.set("redis", "true");
    // No pool timeout: a proxy that ignores the misdeed leaves the clients
    // waiting (and their bounded reads fail), never answers for it by a timer.
    // One worker: both clients' requests share the one server connection.
    ProxyOptions one_connection;
    if (kind == ProxyKind::Cachemux) one_connection.extra_args = {"--workers", "1"};
    Proxy proxy = start_proxy(kind, pool, one_connection);

    const std::string names[2] = {"a", "b"};
    std::vector<std::unique_ptr<Connection>> clients;
    std::vector<std::string> bufs(2);
    std::vector<std::vector<std::string>> replies(2);
    auto get = [&](const std::string& key) {
        return protocol == Protocol::Memcache ? "get " + key + "\r\n" : resp::cmd("GET", key);
    };
    auto framer = protocol == Protocol::Memcache ? std::function<std::size_t(std::string_view)>(mc::reply_length)
                                                 : std::function<std::size_t(std::string_view)>(resp::reply_length);
    for (int c = 0; c < 2; ++c) {
        clients.push_back(std::make_unique<Connection>(proxy.port()));
        std::string batch;
        for (std::size_t i = 0; i < kPerClient; ++i) batch += get(names[c] + std::to_string(i));
        clients[c]->send_all(batch);
    }
    // Reads whatever replies have come (up to `wait` per client).
    auto collect = [&](Millis wait) {
        for (int c = 0; c < 2; ++c) {
            bufs[c] += clients[c]->read_for(wait);
            while (std::size_t n = framer(bufs[c])) {
                replies[c].push_back(bufs[c].substr(0, n));
                bufs[c].erase(0, n);
            }
        }
    };
    auto is_error = [&](const std::string& r) {
        std::string prefix = protocol == Protocol::Memcache ? "SERVER_ERROR " : "-ERR ";
        return r.rfind(prefix, 0) == 0 && r.find("\r\n") == r.size() - 2;
    };
    auto got = [&] { return replies[0].size() + replies[1].size(); };
    for (auto until = Clock::now() + 5s; got() < kAnswered && Clock::now() < until;) collect(20ms);
    REQUIRE_MESSAGE(got() == kAnswered, "before the misdeed: " << got() << " replies, fake server: " << fake.problem());
    misbehave = true;
    for (auto until = Clock::now() + 5s; got() < 2 * kPerClient && Clock::now() < until;) collect(20ms);
    collect(100ms);  // anything more would be a reply too many

    std::size_t values = 0, errors = 0;
    for (int c = 0; c < 2; ++c) {
        // Its own values, each in its place, then only error replies.
        std::string listing, wrong;
        bool failed = false;
        for (std::size_t i = 0; i < replies[c].size(); ++i) {
            const std::string key = names[c] + std::to_string(i);
            listing += "  " + names[c] + std::to_string(i) + ": " + escape(replies[c][i]) + "\n";
            if (!failed && replies[c][i] == fake_answer(protocol, key)) {
                ++values;
            } else if (is_error(replies[c][i])) {
                failed = true;
                ++errors;
            } else if (wrong.empty()) {
                wrong = "reply " + std::to_string(i) + " is neither its value nor an error";
            }
        }
        CHECK_MESSAGE((wrong.empty() && replies[c].size() == kPerClient && bufs[c].empty() &&
                       !clients[c]->closed()),
                      "client " << names[c] << ": " << (wrong.empty() ? "" : wrong + "; ") << replies[c].size()
                                << " replies to " << kPerClient << " requests"
                                << std::string(clients[c]->closed() ? "; closed by the proxy" : "") << "\n"
                                << listing << "  and unframed: " << escape(bufs[c]));
    }
    CHECK(values == kAnswered);
    CHECK(errors == 2 * kPerClient - kAnswered);
    if (misdeed == Misdeed::Malformed || misdeed == Misdeed::UnknownLine || misdeed == Misdeed::BadDataEnd)
        CHECK_MESSAGE(proxy_closed.load(), "the proxy kept the connection after the malformed reply");

    // The next request of each client works: the proxy connects again.
    for (int c = 0; c < 2; ++c) {
        std::string key = names[c] + std::string("next");
        clients[c]->send_all(get(key));
        CHECK(escape(clients[c]->read_until(framer, 5000ms)) == escape(fake_answer(protocol, key)));
    }
    CHECK(fake.accepted() >= 2);
    CHECK_MESSAGE(fake.problem().empty(), fake.problem());
}

}  // namespace

static void memcached_misbehaves(ProxyKind kind) {
    for (Misdeed m : {Misdeed::Malformed, Misdeed::Close, Misdeed::Reset, Misdeed::Truncated})
        misbehaving_server(kind, Protocol::Memcache, m);
}
static void redis_misbehaves(ProxyKind kind) {
    for (Misdeed m : {Misdeed::Malformed, Misdeed::Close, Misdeed::Reset, Misdeed::Truncated})
        misbehaving_server(kind, Protocol::Redis, m);
}
static void memcached_unknown_line(ProxyKind kind) { misbehaving_server(kind, Protocol::Memcache, Misdeed::UnknownLine); }
static void memcached_bad_data_end(ProxyKind kind) { misbehaving_server(kind, Protocol::Memcache, Misdeed::BadDataEnd); }

HARNESS_PROXY_TEST("fault: a memcached that closes, resets or garbles mid-pipeline: one error per request in flight",
                   memcached_misbehaves)
HARNESS_PROXY_TEST("fault: a redis server that closes, resets or garbles mid-pipeline: one error per request in flight",
                   redis_misbehaves)
// These two FAIL against cachemux (a proxy bug, not fixed here): its memcache
// response parser (plugins/memcache/response_parser.cpp) takes any line as a
// whole reply, and skips the two bytes after a value block without checking
// that they are "\r\n".  So the bad reply reaches the client as if it were
// one and the server connection stays up.  After "GARBAGE" every later reply
// on that connection goes to the request after its own: client b's "get b0"
// is answered with client a's value for a5.  nutcracker 0.5.0 takes both as
// a parse error, closes the connection and fails each request in flight,
// which is what these expect.
HARNESS_PROXY_TEST("fault: a memcached that sends an unknown reply line: one error per request in flight",
                   memcached_unknown_line)
HARNESS_PROXY_TEST("fault: a memcached that sends a value block without its CRLF: one error per request in flight",
                   memcached_bad_data_end)
