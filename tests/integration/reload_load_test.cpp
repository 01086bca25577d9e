// SIGUSR1 reloads under steady load: the -c file is read again and applied
// live while clients keep talking to the proxy.
//
// 50 reloads alternate between two configurations: B adds a server to each
// of a memcache and a redis pool, adds a third pool (gamma, whose clients are
// closed, after their replies, when it goes away) and moves the memcache pool
// to another port. Every reply is checked against its own request (see
// pair_client.hpp), no client of a surviving pool is cut off, no error reply
// but gamma's own "pool removed" for what was written as it went, and
// afterwards the proxy holds as many fds as before and its memory did not
// grow with the reloads.
//
// The other reload_load cases: reload_load_listener_test (an unchanged
// listen keeps its socket), reload_load_stats_test (counters across
// reloads), reload_load_owed_test (a removed pool's replies still owed).
//
// Every loop is bounded in count and time; no doctest assertion runs on a
// client thread (results are plain data the main thread asserts on).
#include <doctest/doctest.h>

#include <ctime>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "backend_servers.hpp"
#include "backend_stats.hpp"
#include "harness.hpp"
#include "listener_probe.hpp"
#include "load.hpp"
#include "pair_client.hpp"
#include "proc_view.hpp"
#include "reloader.hpp"
#include "settle.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

long long ms(Clock::duration d) { return std::chrono::duration_cast<Millis>(d).count(); }

constexpr std::size_t kClients = 4;  // persistent clients per protocol
constexpr std::size_t kKeys = 32;    // keys per client
constexpr int kReloads = 50;

// ------------------------------------------------------------ the two configurations

// md5 + ketama, equal weights: an added server takes a share of the ring
// from each of the others, no other key moves.
PoolSpec ketama_pool(const std::string& name, std::vector<ServerSpec> servers, bool redis) {
    PoolSpec p;
    p.name = name;
    p.servers = std::move(servers);
    p.set("hash", "md5").set("distribution", "ketama").set("timeout", "2000");
    if (redis) p.set("redis", "true");
    return p;
}

// A: memcache pool "mcp" on s1..s3, redis pool "rdp" on r1, r2.
// B: s4 and r3 added, "mcp" on another port, a third pool "gamma"
//    (memcache, on s1 and s2 under other names) on its own port.
struct Configs {
    BackendServers mcb{Protocol::Memcache, 4}, rdb{Protocol::Redis, 3};
    std::vector<PoolSpec> a = {ketama_pool("mcp", mcb.specs(0, 3, "s"), false),
                               ketama_pool("rdp", rdb.specs(0, 2, "r"), true)};
    std::vector<PoolSpec> b;
    int mc_port_a = 0, rd_port = 0, mc_port_b = 0, gamma_port = 0;

    // B, once the proxy runs A (and so A's ports are known).
    void started(const Proxy& proxy) {
        a = proxy.pools();
        mc_port_a = a[0].port;
        rd_port = a[1].port;
        mc_port_b = free_port();
        gamma_port = free_port();
        b = {ketama_pool("mcp", mcb.specs(0, 4, "s"), false), ketama_pool("rdp", rdb.specs(0, 3, "r"), true)};
        b[0].port = mc_port_b;
        b[1].port = rd_port;
        PoolSpec gamma = ketama_pool("gamma", mcb.specs(0, 2, "g"), false);
        gamma.port = gamma_port;
        b.push_back(gamma);
    }
    int mc_port(bool under_b) const { return under_b ? mc_port_b : mc_port_a; }
};

// ------------------------------------------------------------ the clients' keys

struct KeySplit {
    std::vector<std::string> stable, moving;  // see pair_client.hpp
};

std::vector<std::string> keys_of(const std::string& tag, std::size_t c) {
    std::vector<std::string> v;
    for (std::size_t k = 0; k < kKeys; ++k) v.push_back(tag + ":c" + std::to_string(c) + ":k" + std::to_string(k));
    return v;
}

// Each client's keys split by whether A (on port_a) and B (on port_b) put
// them on the same server.
std::vector<KeySplit> split_keys(const BackendServers& be, int port_a, int port_b, const std::string& tag) {
    std::vector<std::string> all;
    for (std::size_t c = 0; c < kClients; ++c) {
        auto k = keys_of(tag, c);
        all.insert(all.end(), k.begin(), k.end());
    }
    auto under_a = owners_via(be, port_a, all);
    auto under_b = owners_via(be, port_b, all);
    std::vector<KeySplit> out(kClients);
    for (std::size_t i = 0; i < all.size(); ++i) {
        REQUIRE_MESSAGE(under_a[i] >= 0, all[i] << " on no single server under A");
        REQUIRE_MESSAGE(under_b[i] >= 0, all[i] << " on no single server under B");
        auto& s = out[i / kKeys];
        (under_a[i] == under_b[i] ? s.stable : s.moving).push_back(all[i]);
    }
    return out;
}

struct ClientKeys {
    std::vector<KeySplit> mc, rd;
    const std::vector<KeySplit>& of(Protocol p) const { return p == Protocol::Memcache ? mc : rd; }
};

// Where each key lives under A: the proxy under test; under B: a proxy of
// B's two pools on ports of its own (routing depends only on the servers,
// their names and the hash and distribution).
ClientKeys split_client_keys(const Configs& cf) {
    std::vector<PoolSpec> probe_pools = {cf.b[0], cf.b[1]};
    for (auto& p : probe_pools) {
        p.listen.clear();
        p.port = 0;
    }
    Proxy probe(ProxyKind::Cachemux, probe_pools);
    ClientKeys keys{split_keys(cf.mcb, cf.mc_port_a, probe.port(0), "rlm"),
                    split_keys(cf.rdb, cf.rd_port, probe.port(1), "rlr")};
    std::size_t mc_moving = 0, rd_moving = 0;
    for (std::size_t c = 0; c < kClients; ++c) {
        REQUIRE(keys.mc[c].stable.size() >= 8);
        REQUIRE(keys.rd[c].stable.size() >= 8);
        REQUIRE(!keys.mc[c].moving.empty());
        REQUIRE(!keys.rd[c].moving.empty());
        mc_moving += keys.mc[c].moving.size();
        rd_moving += keys.rd[c].moving.size();
    }
    MESSAGE("keys moving between A and B: memcache " << mc_moving << " of " << kClients * kKeys << ", redis "
                                                     << rd_moving << " of " << kClients * kKeys);
    return keys;
}

// ------------------------------------------------------------ the persistent clients

using Clients = std::vector<std::unique_ptr<PairClient>>;

// Waits (bounded) until `c` has been served a batch; REQUIREs it.
void await_served(const PairClient& c, std::uint64_t batches, Millis bound) {
    for (auto deadline = Clock::now() + bound; c.batches() < batches && !c.finished() && Clock::now() < deadline;)
        std::this_thread::sleep_for(1ms);
    REQUIRE_MESSAGE(c.batches() >= batches, c.options().name << " is not served");
}

// kClients per protocol, memcache and redis in turn, on the surviving pools.
void start_persistent_clients(Clients& clients, const Configs& cf, const ClientKeys& keys) {
    for (std::size_t c = 0; c < kClients; ++c) {
        for (Protocol p : {Protocol::Memcache, Protocol::Redis}) {
            PairOptions o;
            o.protocol = p;
            o.port = p == Protocol::Memcache ? cf.mc_port_a : cf.rd_port;
            o.name = std::string(p == Protocol::Memcache ? "memcache" : "redis") + " client " + std::to_string(c);
            o.stable = keys.of(p)[c].stable;
            o.moving = keys.of(p)[c].moving;
            o.seed = static_cast<std::uint32_t>(c * 2 + (p == Protocol::Redis));
            clients.push_back(std::make_unique<PairClient>(o));
        }
    }
    // Started one at a time, each served before the next, so that the proxy
    // hands them to the workers in turn (workers_test's idiom) in this order:
    // mc, rd, rd, mc, mc, rd, rd, mc puts both protocols on each of two workers.
    for (std::size_t idx : {0, 1, 3, 2, 4, 5, 7, 6}) {
        clients[idx]->start();
        await_served(*clients[idx], 1, 3s);
    }
    // Every client served a while, so every worker holds its connections to
    // every server of A before the fds are counted.
    for (auto deadline = Clock::now() + 5s; Clock::now() < deadline; std::this_thread::sleep_for(20ms)) {
        bool all = true;
        for (auto& c : clients) all = all && c->batches() >= 20;
        if (all) break;
    }
    for (auto& c : clients) REQUIRE_MESSAGE(c->batches() >= 20, c->options().name << " does not run");
}

// Every worker holds its connections to every server of A before the fds
// are counted (the probes of the reload rounds would open the missing ones
// later): a few short clients, one after another so that each worker gets
// some, each touching every key.
void touch_every_server(const Configs& cf, const ClientKeys& keys, int workers) {
    for (int n = 0; n < 2 * workers; ++n) {
        for (Protocol p : {Protocol::Memcache, Protocol::Redis}) {
            Connection w(p == Protocol::Memcache ? cf.mc_port_a : cf.rd_port);
            std::string batch;
            std::size_t count = 0;
            for (const auto& split : keys.of(p))
                for (const auto* ks : {&split.stable, &split.moving})
                    for (const auto& k : *ks) {
                        batch += get_request(p, k);
                        ++count;
                    }
            w.send_all(batch);
            for (std::size_t j = 0; j < count; ++j)
                w.read_until([p](std::string_view b) { return reply_length(p, b); }, 5000ms);
        }
    }
}

// With several workers, each serves some of the persistent clients.
void check_spread(const Proxy& proxy, int workers) {
    if (workers <= 1) return;
    std::string m = metrics(proxy);
    std::ostringstream spread;
    for (int w = 0; w < workers; ++w) {
        auto v = metric(m, "cachemux_worker_client_connections{worker=\"" + std::to_string(w) + "\"}");
        spread << " worker " << w << ": " << (v ? *v : -1);
        CHECK_MESSAGE((v && *v >= 1), "worker " << w << " serves no client");
    }
    MESSAGE("persistent clients per worker:" << spread.str());
}

std::uint64_t total_batches(const Clients& clients) {
    std::uint64_t n = 0;
    for (auto& c : clients) n += c->batches();
    return n;
}

// ------------------------------------------------------------ before the reloads

// What the proxy and the servers only B has look like before the reloads.
struct Baseline {
    std::size_t fds = 0;
    std::map<int, std::string> fd_list;
    std::set<unsigned long> rd_listen;
    int rd_listen_fd = -1;
    std::uint64_t batches = 0;
    // memcached counts its listener and this question; redis this one.
    long long s4_conns = 0, s4_sets = 0, r3_clients = 0, r3_commands = 0;
};

Baseline take_baseline(Proxy& proxy, const Configs& cf, const Clients& clients) {
    const pid_t pid = proxy.process().pid();
    Baseline b;
    b.fds = fd_count(pid);
    b.fd_list = fd_targets(pid);
    b.rd_listen = listen_inodes(cf.rd_port);
    REQUIRE(b.rd_listen.size() == 1);
    b.rd_listen_fd = fd_of_inode(pid, *b.rd_listen.begin());
    CHECK(b.rd_listen_fd >= 0);
    b.batches = total_batches(clients);
    b.s4_conns = memcached_stat(cf.mcb.port(3), "curr_connections");
    b.s4_sets = memcached_stat(cf.mcb.port(3), "cmd_set");
    b.r3_clients = redis_info(cf.rdb.port(2), "connected_clients");
    b.r3_commands = redis_info(cf.rdb.port(2), "total_commands_processed");
    return b;
}

// ------------------------------------------------------------ the reload rounds

// What gamma's clients did over all its periods.
struct GammaTally {
    int periods = 0;
    std::uint64_t batches = 0, unanswered = 0, removal_errors = 0, idle_closes = 0;
};

// One reload a round, A and B in turn, and what each must change at once.
class ReloadRounds {
public:
    ReloadRounds(Proxy& proxy, const Configs& cf, Reloader& reloader, std::size_t fds_before)
        : fds_max(fds_before), proxy_(proxy), cf_(cf), reloader_(reloader) {}

    void round(int i);
    // The slowest of each step, to tell where time went if the loop is slow.
    std::string slowest_steps() const;

    std::size_t rss_10 = 0, rss_50 = 0;
    long long refuse_ms_max = 0;
    std::size_t fds_max;
    GammaTally gamma;

private:
    Clock::time_point step(const char* name, Clock::time_point since);
    void gamma_arrives(int i);
    void gamma_goes(int i);
    void check_gamma_client(int i, PairClient& g, bool finished);

    Proxy& proxy_;
    const Configs& cf_;
    Reloader& reloader_;
    Clients gamma_clients_;
    StopAll stop_gamma_{&gamma_clients_};
    std::map<std::string, long long> slowest_;
    std::mt19937 rng_{2024};
};

Clock::time_point ReloadRounds::step(const char* name, Clock::time_point since) {
    long long& v = slowest_[name];
    v = std::max(v, ms(Clock::now() - since));
    return Clock::now();
}

std::string ReloadRounds::slowest_steps() const {
    std::ostringstream steps;
    for (const auto& [name, v] : slowest_) steps << " " << name << " " << v << " ms;";
    return steps.str();
}

void ReloadRounds::round(int i) {
    const bool to_b = i % 2 == 1;
    CAPTURE(i);
    auto t = Clock::now();
    std::string why = reloader_.reload(to_b ? cf_.b : cf_.a);
    t = step("reload", t);
    REQUIRE_MESSAGE(why.empty(), "reload " << i << " (to " << (to_b ? "B" : "A") << "): " << why);
    const int now_port = cf_.mc_port(to_b), old_port = cf_.mc_port(!to_b);
    // The memcache pool listens on its new address (at once) and no longer on
    // the old one; new connections there are served.
    CHECK_MESSAGE(port_open(now_port), "reload " << i << ": nothing listens on the pool's new port " << now_port);
    std::string served = serves(Protocol::Memcache, now_port, "probe:" + std::to_string(i));
    CHECK_MESSAGE(served.empty(), "reload " << i << ": a new client on " << now_port << ": " << served);
    t = step("new-port probe", t);
    long long refused = wait_refused(old_port, 1000ms);
    step("old port refused", t);
    CHECK_MESSAGE(refused >= 0, "reload " << i << ": the old port " << old_port << " still accepts 1 s later");
    refuse_ms_max = std::max(refuse_ms_max, refused);
    if (to_b) gamma_arrives(i);
    else gamma_goes(i);
    const pid_t pid = proxy_.process().pid();
    fds_max = std::max(fds_max, fd_count(pid));
    if (i == 10) rss_10 = load::rss_kib(pid);
    if (i == kReloads) rss_50 = load::rss_kib(pid);
    std::this_thread::sleep_for(Millis(50 + rng_() % 51));
}

// gamma exists: two clients connect and are served.
void ReloadRounds::gamma_arrives(int i) {
    const auto t = Clock::now();
    CHECK_MESSAGE(port_open(cf_.gamma_port), "reload " << i << ": gamma does not listen");
    const std::vector<std::string> gamma_keys = keys_of("rlg", 0);  // gamma is the same pool each time
    for (int g = 0; g < 2; ++g) {
        PairOptions o;
        o.protocol = Protocol::Memcache;
        o.port = cf_.gamma_port;
        o.name = "gamma client " + std::to_string(i) + "." + std::to_string(g);
        o.stable = gamma_keys;
        o.pairs = 2;
        o.pause = 2ms;
        o.removed_pool = true;
        o.max_duration = 10s;
        o.seed = static_cast<std::uint32_t>(1000 + i * 2 + g);
        gamma_clients_.push_back(std::make_unique<PairClient>(o));
        gamma_clients_.back()->start();
    }
    for (auto deadline = Clock::now() + 3s; Clock::now() < deadline; std::this_thread::sleep_for(2ms)) {
        bool all = true;
        for (auto& g : gamma_clients_) all = all && (g->batches() >= 1 || g->finished());
        if (all) break;
    }
    step("gamma clients served", t);
}

// gamma is gone: its listener refuses, and each of its clients was closed
// after its replies (soon, not at some timeout).
void ReloadRounds::gamma_goes(int i) {
    auto t = Clock::now();
    CHECK_MESSAGE(wait_refused(cf_.gamma_port, 1000ms) >= 0, "reload " << i << ": gamma still listens");
    for (auto deadline = Clock::now() + 3s; Clock::now() < deadline; std::this_thread::sleep_for(2ms)) {
        bool all = true;
        for (auto& g : gamma_clients_) all = all && g->finished();
        if (all) break;
    }
    ++gamma.periods;
    t = step("gamma clients closed", t);
    for (auto& g : gamma_clients_) {
        const bool finished = g->finished();
        g->stop();
        check_gamma_client(i, *g, finished);
    }
    gamma_clients_.clear();
    step("gamma clients joined", t);
}

void ReloadRounds::check_gamma_client(int i, PairClient& g, bool finished) {
    const auto& r = g.result();
    CHECK_MESSAGE(finished, "reload " << i << ": " << g.options().name
                                      << " not closed 3 s after its pool went away: " << describe(g));
    // Every request answered once, but for the last batch if it raced the close.
    CHECK_MESSAGE((r.failure.empty() && r.closed && r.batches >= 1 && r.errors == 0 &&
                   r.replies + r.unanswered == r.requests),
                  "reload " << i << ": " << describe(g));
    // What the worker had not read at the switch is answered "pool removed
    // by a configuration reload" (since the drain reads it), and what came
    // after the close is not answered at all: either only for a batch written
    // as the pool went away. One written well before the SIGUSR1 had been
    // read, and was owed its real replies.
    const auto near = reloader_.last_signal() - 20ms * kSlackFactor;
    if (r.removal_errors > 0)
        CHECK_MESSAGE(r.removal_error_sent >= near,
                      "reload " << i << ": " << g.options().name << " was answered '" << kPoolRemovedError
                                << "' for a batch written " << ms(reloader_.last_signal() - r.removal_error_sent)
                                << " ms before the SIGUSR1: " << describe(g));
    if (r.unanswered > 0)
        CHECK_MESSAGE(r.unanswered_sent >= near,
                      "reload " << i << ": " << g.options().name << " got no reply to a batch written "
                                << ms(reloader_.last_signal() - r.unanswered_sent)
                                << " ms before the SIGUSR1: " << describe(g));
    gamma.batches += r.batches;
    gamma.unanswered += r.unanswered;
    gamma.removal_errors += r.removal_errors;
    gamma.idle_closes += r.closed_idle;
}

// ------------------------------------------------------------ after the reloads

// The removed servers' connections close once idle (~1 s), the load keeps
// running meanwhile; then the fd count is back where it was.
struct Settled {
    std::size_t fds_end = 0, fds = 0;
    long long settle_ms = 0;
    std::map<int, std::string> fd_list;
    long long s4_conns = 0, r3_clients = 0, s4_sets = 0, r3_commands = 0;
    std::size_t rss = 0;
};

Settled settle_after(Proxy& proxy, const Configs& cf, const Baseline& base) {
    const pid_t pid = proxy.process().pid();
    Settled s;
    const auto t = Clock::now();
    s.fds_end = s.fds = fd_count(pid);
    for (auto deadline = Clock::now() + 6s * kSlackFactor; s.fds > base.fds && Clock::now() < deadline;) {
        std::this_thread::sleep_for(100ms);
        s.fds = fd_count(pid);
    }
    s.settle_ms = ms(Clock::now() - t);
    s.fd_list = fd_targets(pid);
    // The servers B added got requests while they were in, and the proxy's
    // connections to them are gone (closed once idle after their removal).
    s.s4_conns = settle([&] { return memcached_stat(cf.mcb.port(3), "curr_connections"); }, base.s4_conns,
                        5000ms * kSlackFactor);
    s.r3_clients = settle([&] { return redis_info(cf.rdb.port(2), "connected_clients"); }, base.r3_clients,
                          5000ms * kSlackFactor);
    s.s4_sets = memcached_stat(cf.mcb.port(3), "cmd_set") - base.s4_sets;
    s.r3_commands = redis_info(cf.rdb.port(2), "total_commands_processed") - base.r3_commands;
    s.rss = load::rss_kib(pid);
    return s;
}

// Every reply checked, no client cut off, no error reply.
void check_persistent_clients(const Clients& clients, const std::string& run) {
    std::ostringstream summary;
    std::uint64_t requests = 0, replies = 0, errors = 0, moved_miss = 0, moved_stale = 0, exact = 0;
    bool clean = true;
    for (auto& c : clients) {
        const auto& r = c->result();
        summary << describe(*c) << "\n";
        clean = clean && r.failure.empty() && !r.closed && r.replies == r.requests && r.batches > 20;
        requests += r.requests;
        replies += r.replies;
        errors += r.errors;
        moved_miss += r.moved_miss;
        moved_stale += r.moved_stale;
        exact += r.exact;
    }
    MESSAGE(run << "; persistent clients: " << requests << " requests, " << replies << " replies, " << exact
                << " exact GETs, " << moved_miss << " moved-miss, " << moved_stale << " moved-stale, " << errors
                << " errors\n"
                << summary.str());
    CHECK_MESSAGE(clean, "a client of a surviving pool failed, was closed or lost a reply:\n" << summary.str());
    CHECK_MESSAGE(errors == 0, errors << " error replies:\n" << summary.str());
}

// Counted: 50 reloads done, none failed, generation 51, logged.
void check_reloads_counted(const Proxy& proxy, std::time_t t_start) {
    std::string m = metrics(proxy);
    CHECK(metric(m, "cachemux_config_reloads_total") == kReloads);
    CHECK(metric(m, "cachemux_config_reload_failures_total") == 0);
    CHECK(metric(m, "cachemux_config_generation") == kReloads + 1);
    auto ts = metric(m, "cachemux_config_last_reload_success_timestamp_seconds");
    REQUIRE(ts.has_value());
    CHECK(*ts >= static_cast<double>(t_start) - 1);
    CHECK(*ts <= static_cast<double>(std::time(nullptr)) + 1);
    const std::string log = proxy.output();
    const std::string done_line =
        "reload of '" + proxy.config_path() + "' done: generation " + std::to_string(kReloads + 1);
    CHECK_MESSAGE(log.find(done_line) != std::string::npos,
                  "no 'reload ... done: generation 51' in the log:\n" << tail(log, 2000));
}

// The added servers were used and let go; the unchanged listen kept its
// socket; fds as before and memory flat.
void check_resources(Proxy& proxy, const Configs& cf, const Baseline& base, const ReloadRounds& rounds,
                     const Settled& after) {
    const pid_t pid = proxy.process().pid();
    CHECK(after.s4_sets > 0);
    CHECK(after.r3_commands > 1);
    CHECK_MESSAGE(after.s4_conns == base.s4_conns, "memcached s4 (removed) still has "
                                                       << after.s4_conns - base.s4_conns
                                                       << " connection(s) from the proxy");
    CHECK_MESSAGE(after.r3_clients == base.r3_clients, "redis r3 (removed) still has "
                                                           << after.r3_clients - base.r3_clients
                                                           << " connection(s) from the proxy");
    CHECK(listen_inodes(cf.rd_port) == base.rd_listen);
    CHECK(fd_of_inode(pid, *base.rd_listen.begin()) == base.rd_listen_fd);
    // fds: as before (the stats connections this test makes are closed by then).
    MESSAGE("proxy fds: " << base.fds << " before the reloads (" << describe_fds(base.fd_list) << "), at most "
                          << rounds.fds_max << " during them, " << after.fds_end << " right after the last, "
                          << after.fds << " " << after.settle_ms << " ms later (" << describe_fds(after.fd_list)
                          << ")");
    CHECK(after.fds <= base.fds);
    // RSS: the last 40 reloads cost (next to) nothing.
    MESSAGE("proxy RSS: " << rounds.rss_10 << " KiB after 10 reloads, " << rounds.rss_50 << " KiB after 50, "
                          << after.rss << " KiB settled");
    CHECK(rounds.rss_10 > 0);
    if (!kSanitized) CHECK(rounds.rss_50 <= rounds.rss_10 + 4 * 1024);
    CHECK(proxy.process().running());
}

}  // namespace

TEST_CASE("reload_load: 50 reloads between two configs under steady memcache and redis load" *
          doctest::test_suite("reload_load")) {
    resp::require_redis_plugin(ProxyKind::Cachemux);
    const int workers = cachemux_workers();
    Configs cf;
    Proxy proxy(ProxyKind::Cachemux, cf.a);
    cf.started(proxy);
    const ClientKeys keys = split_client_keys(cf);

    Reloader reloader(proxy);
    const std::time_t t_start = std::time(nullptr);
    Clients clients;
    StopAll stop_clients{&clients};
    start_persistent_clients(clients, cf, keys);
    touch_every_server(cf, keys, workers);
    check_spread(proxy, workers);
    std::this_thread::sleep_for(200ms);
    const Baseline base = take_baseline(proxy, cf, clients);

    ReloadRounds rounds(proxy, cf, reloader, base.fds);
    const auto t_loop = Clock::now();
    for (int i = 1; i <= kReloads; ++i) rounds.round(i);
    const long long loop_ms = ms(Clock::now() - t_loop);
    MESSAGE("slowest steps of a reload round:" << rounds.slowest_steps()
                                               << " slowest reloads (ms): " << reloader.slowest(6));
    const std::uint64_t batches_during = total_batches(clients) - base.batches;
    const Settled after = settle_after(proxy, cf, base);
    for (auto& c : clients) c->stop();

    const GammaTally& g = rounds.gamma;
    std::ostringstream run;
    run << "steady load over " << kReloads << " reloads in " << loop_ms << " ms (" << workers << " worker(s)): "
        << batches_during << " batches during the reloads; reload took at most " << reloader.max_ms()
        << " ms; old port refused within " << rounds.refuse_ms_max << " ms; gamma: " << g.periods << " periods, "
        << g.batches << " batches, " << g.idle_closes << " clients closed idle, " << g.removal_errors
        << " requests answered '" << kPoolRemovedError << "', " << g.unanswered
        << " requests written as it closed; the added servers got " << after.s4_sets << " sets (memcached s4) and "
        << after.r3_commands << " commands (redis r3)";
    check_persistent_clients(clients, run.str());
    CHECK(batches_during > 100);  // the load really ran during the reloads
    CHECK(g.periods == kReloads / 2);
    check_reloads_counted(proxy, t_start);
    check_resources(proxy, cf, base, rounds, after);
}
