// SIGUSR1: cachemux rereads its -c file and applies it live.
//
// A bad file (anything -t refuses, a listen address that cannot be bound)
// leaves the running config serving, logs "reload of 'FILE' failed: FILE:LINE:
// ...; generation G serves on" and counts cachemux_config_reload_failures_total.
// A good one is applied: clients are kept, surviving servers keep their
// connections and counters, a removed server still answers what it was sent,
// new requests route by the new file exactly as nutcracker started on it
// would. SIGHUP still only reopens the log; a burst of SIGUSR1 is coalesced
// and the newest file wins.
//
// Each case reloads by rewriting proxy.config_path() (atomically, by
// rename) and sending SIGUSR1, then waits (bounded) for /metrics to count
// the outcome.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "backend_stats.hpp"
#include "harness.hpp"
#include "settle.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

const Millis kReloadWait = 5000ms * kSlackFactor;

// ------------------------------------------------------------ reload counts

struct ReloadCounts {
    long long reloads = -1;
    long long failures = -1;
    long long generation = -1;
    double last_success = -1;
    bool complete() const { return reloads >= 0 && failures >= 0 && generation >= 0 && last_success >= 0; }
};

ReloadCounts reload_counts(const Proxy& proxy, std::string* text_out = nullptr) {
    std::string text = metrics(proxy);
    ReloadCounts r;
    if (auto v = metric(text, "cachemux_config_reloads_total")) r.reloads = static_cast<long long>(*v);
    if (auto v = metric(text, "cachemux_config_reload_failures_total")) r.failures = static_cast<long long>(*v);
    if (auto v = metric(text, "cachemux_config_generation")) r.generation = static_cast<long long>(*v);
    if (auto v = metric(text, "cachemux_config_last_reload_success_timestamp_seconds")) r.last_success = *v;
    if (text_out) *text_out = text;
    return r;
}

// The counts, REQUIREd present on /metrics.
ReloadCounts counts_now(const Proxy& proxy) {
    std::string text;
    ReloadCounts r = reload_counts(proxy, &text);
    REQUIRE_MESSAGE(r.complete(), "/metrics lacks a cachemux_config_* series: " << escape(text, 3000));
    return r;
}

// ------------------------------------------------------------ reloading

// The config file replaced in one step, so that a reload never reads half of it.
void write_config(const Proxy& proxy, const std::string& yaml) {
    std::string tmp = proxy.config_path() + ".new";
    write_file(tmp, yaml);
    REQUIRE(std::rename(tmp.c_str(), proxy.config_path().c_str()) == 0);
}

// Waits until reloads + failures exceed `before`'s; returns the counts then.
ReloadCounts await_outcome(Proxy& proxy, const ReloadCounts& before) {
    ReloadCounts now = counts_now(proxy);
    for (auto deadline = Clock::now() + kReloadWait;
         now.reloads + now.failures <= before.reloads + before.failures && Clock::now() < deadline;) {
        std::this_thread::sleep_for(20ms);
        now = counts_now(proxy);
    }
    REQUIRE_MESSAGE(now.reloads + now.failures > before.reloads + before.failures,
                    "no reload outcome counted within " << kReloadWait.count() << " ms; log:\n"
                                                        << tail(proxy.output()));
    return now;
}

// Writes `yaml` as the config, sends SIGUSR1, waits for the outcome.
ReloadCounts reload(Proxy& proxy, const std::string& yaml) {
    ReloadCounts before = counts_now(proxy);
    write_config(proxy, yaml);
    proxy.process().signal(SIGUSR1);
    return await_outcome(proxy, before);
}

// Like reload(), REQUIREs that it succeeded.
ReloadCounts reload_ok(Proxy& proxy, const std::string& yaml) {
    ReloadCounts before = counts_now(proxy);
    ReloadCounts after = reload(proxy, yaml);
    INFO("log:\n" << tail(proxy.output()));
    REQUIRE(after.failures == before.failures);
    REQUIRE(after.reloads == before.reloads + 1);
    CHECK(after.generation == before.generation + 1);
    return after;
}

// The log's lines holding `needle`.
std::vector<std::string> log_lines(const Proxy& proxy, const std::string& needle) {
    std::vector<std::string> lines;
    std::string out = proxy.output();
    for (std::size_t at = 0; at < out.size();) {
        std::size_t eol = out.find('\n', at);
        if (eol == std::string::npos) eol = out.size();
        std::string line = out.substr(at, eol - at);
        if (line.find(needle) != std::string::npos) lines.push_back(line);
        at = eol + 1;
    }
    return lines;
}

// Waits (bounded) until at least `n` log lines hold `needle`; returns them.
std::vector<std::string> await_log_lines(const Proxy& proxy, const std::string& needle, std::size_t n) {
    auto lines = log_lines(proxy, needle);
    for (auto deadline = Clock::now() + kReloadWait; lines.size() < n && Clock::now() < deadline;) {
        std::this_thread::sleep_for(20ms);
        lines = log_lines(proxy, needle);
    }
    return lines;
}

bool shows(const Proxy& proxy, const std::string& text) { return !await_log_lines(proxy, text, 1).empty(); }

std::string regex_escape(const std::string& s) {
    static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
    return std::regex_replace(s, special, R"(\$&)");
}

// ------------------------------------------------------------ memcached

// A key (set through `c`) that the proxy put on backends[index].
std::string key_on(Connection& c, const std::vector<std::unique_ptr<MemcachedServer>>& backends, int index,
                   const std::string& prefix) {
    // Varied keys: fnv1a_64 maps keys that differ only in a last digit close together.
    KeyOptions options;
    options.prefix = prefix + "-";
    options.high_bytes = false;
    options.min_len = options.prefix.size() + 1;
    options.max_len = 40;
    const auto keys = make_keys(64, static_cast<std::uint32_t>(std::hash<std::string>{}(prefix)), options);
    for (auto& k : keys) REQUIRE(c.mc(mc::set(k, "seed")) == "STORED\r\n");
    auto where = mc::holders(backends, keys);
    for (std::size_t i = 0; i < keys.size(); ++i)
        if (where[i] == index) return keys[i];
    std::string seen;
    for (int w : where) seen += std::to_string(w) + " ";
    FAIL("none of 64 keys landed on backend " << index << "; holders: " << seen);
    return {};
}

// Sets `key` to `value` through `c`, reads it back through `c`, and returns
// which backend holds that value (asked directly): its index, -1 if none.
int owner_now(Connection& c, const std::vector<std::unique_ptr<MemcachedServer>>& backends, const std::string& key,
              const std::string& value) {
    REQUIRE(c.mc(mc::set(key, value)) == "STORED\r\n");
    REQUIRE(c.mc(mc::get({key})) == mc::value(key, value) + "END\r\n");
    int owner = -1;
    for (std::size_t i = 0; i < backends.size(); ++i)
        if (mc::get_direct(backends[i]->port(), key) == value) owner = static_cast<int>(i);
    return owner;
}

// SIGCONT for a frozen server, whatever happens to the test.
struct Thaw {
    Process& process;
    bool done = false;
    void now() {
        if (!done) process.signal(SIGCONT);
        done = true;
    }
    ~Thaw() { now(); }
};

// A TCP socket listening on 127.0.0.1:port (so that nobody else can bind it).
class HeldPort {
public:
    HeldPort() {
        for (int attempt = 0; attempt < 20 && fd_ < 0; ++attempt) {
            int port = free_port();
            int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            REQUIRE(fd >= 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(static_cast<uint16_t>(port));
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && ::listen(fd, 4) == 0) {
                fd_ = fd;
                port_ = port;
            } else {
                ::close(fd);
            }
        }
        REQUIRE_MESSAGE(fd_ >= 0, "could not hold a port");
    }
    ~HeldPort() {
        if (fd_ >= 0) ::close(fd_);
    }
    HeldPort(const HeldPort&) = delete;
    HeldPort& operator=(const HeldPort&) = delete;
    int port() const { return port_; }

private:
    int fd_ = -1;
    int port_ = 0;
};

PoolSpec memcache_pool(const std::string& name, std::vector<ServerSpec> servers) {
    PoolSpec pool;
    pool.name = name;
    pool.servers = std::move(servers);
    pool.set("hash", "fnv1a_64").set("distribution", "ketama");
    return pool;
}

// Every kind of file a reload must refuse, each of which would, if applied,
// send every key to s2 (the second server of `running`) only.
std::vector<std::pair<std::string, std::string>> bad_configs(const PoolSpec& running, const HeldPort& held) {
    auto only_s2 = [&](const std::string& hash, const std::string& distribution) {
        PoolSpec p = running;
        p.options = {{"hash", hash}, {"distribution", distribution}};
        p.servers = {running.servers[1]};
        return p;
    };
    auto changed = [&](auto change) {
        PoolSpec p = only_s2("fnv1a_64", "ketama");
        change(p);
        return pools_yaml({p});
    };
    std::vector<std::pair<std::string, std::string>> bad;
    bad.emplace_back("YAML syntax error", pools_yaml({only_s2("fnv1a_64", "ketama")}) + "beta:\n  servers: [\n");
    bad.emplace_back("unknown key", changed([](PoolSpec& p) { p.set("no_such_key", "1"); }));
    bad.emplace_back("unknown hash", pools_yaml({only_s2("no_such_hash", "ketama")}));
    bad.emplace_back("unknown distribution", pools_yaml({only_s2("fnv1a_64", "no_such_distribution")}));
    bad.emplace_back("empty servers", changed([](PoolSpec& p) { p.servers.clear(); }));
    bad.emplace_back("listen on a port in use", changed([&](PoolSpec& p) {
                         p.listen = "127.0.0.1:" + std::to_string(held.port());
                     }));
    bad.emplace_back("plugins: names a missing .so", "plugins:\n - " + make_temp_dir("no-plugin") +
                                                         "/missing.so\n" + pools_yaml({only_s2("fnv1a_64", "ketama")}));
    bad.emplace_back("unresolvable listen host", changed([](PoolSpec& p) {
                         p.listen = "no-such-host.invalid:" + std::to_string(free_port());
                     }));
    return bad;
}

}  // namespace

TEST_SUITE("reload") {

TEST_CASE("reload: every kind of bad config leaves the running one serving; then a good one applies") {
    auto backends = start_memcached(2);
    const std::time_t started = std::time(nullptr);
    Proxy proxy(ProxyKind::Cachemux, {memcache_pool("alpha", server_specs(backends, {1}, "s"))});
    const PoolSpec running = proxy.pools()[0];
    const std::string conf = proxy.config_path();
    Connection client(proxy.port());
    const std::string key = key_on(client, backends, 0, "bad");

    ReloadCounts start = counts_now(proxy);
    CHECK(start.reloads == 0);
    CHECK(start.failures == 0);
    CHECK(start.generation == 1);
    CHECK(start.last_success >= static_cast<double>(started) - 1);
    CHECK(start.last_success <= static_cast<double>(std::time(nullptr)) + 1);

    HeldPort held;
    const std::string failed_prefix = "reload of '" + conf + "' failed: ";
    const std::regex failed_line(regex_escape(failed_prefix) + regex_escape(conf) +
                                 ":[0-9]+: .+; generation 1 serves on");
    long long failures = 0;
    for (auto& [what, yaml] : bad_configs(running, held)) {
        CAPTURE(what);
        INFO("config:\n" << yaml);
        ReloadCounts after = reload(proxy, yaml);
        ++failures;
        INFO("log:\n" << tail(proxy.output()));
        REQUIRE(proxy.process().running());
        CHECK(after.failures == failures);
        CHECK(after.reloads == 0);
        CHECK(after.generation == 1);
        CHECK(after.last_success == start.last_success);
        auto lines = await_log_lines(proxy, failed_prefix, static_cast<std::size_t>(failures));
        REQUIRE(lines.size() == static_cast<std::size_t>(failures));
        CHECK_MESSAGE(std::regex_search(lines.back(), failed_line),
                      "the failure line should name the file and a line: " << lines.back());
        // The client from before still gets its replies, and the key still
        // goes to s1; a new client on the old address is served too.
        const std::string value = "v" + std::to_string(failures);
        CHECK(owner_now(client, backends, key, value) == 0);
        Connection fresh(proxy.port());
        CHECK(fresh.mc(mc::get({key})) == mc::value(key, value) + "END\r\n");
    }
    CHECK(log_lines(proxy, "reload of '" + conf + "' done").empty());

    // A good file that drops s1 and moves the listen address applies.
    PoolSpec good = running;
    good.options = {{"hash", "fnv1a_64"}, {"distribution", "ketama"}};
    good.servers = {running.servers[1]};
    good.listen = "127.0.0.1:" + std::to_string(free_port());
    const std::time_t before_good = std::time(nullptr);
    ReloadCounts after = reload_ok(proxy, pools_yaml({good}));
    INFO("log:\n" << tail(proxy.output()));
    CHECK(after.failures == failures);
    CHECK(after.generation == 2);
    CHECK(after.last_success >= static_cast<double>(before_good));
    CHECK(await_log_lines(proxy, "reload of '" + conf + "' done: generation 2", 1).size() == 1);
    CHECK(owner_now(client, backends, key, "after-good") == 1);
    const int new_port = std::stoi(good.listen.substr(good.listen.rfind(':') + 1));
    Connection on_new(new_port);
    CHECK(on_new.mc(mc::get({key})) == mc::value(key, "after-good") + "END\r\n");
    CHECK_MESSAGE(settle([&] { return port_open(proxy.port()); }, false) == false,
                  "the old listen address should refuse once the pool moved");
}

TEST_CASE("reload: a request in flight to a removed server is answered; then its connection closes") {
    auto backends = start_memcached(2);
    MemcachedServer& a = *backends[0];
    const long long a_base = memcached_stat(a.port(), "curr_connections");
    Proxy proxy(ProxyKind::Cachemux, {memcache_pool("alpha", server_specs(backends, {1}, "s"))});
    const PoolSpec running = proxy.pools()[0];
    Connection client(proxy.port());
    const std::string key = key_on(client, backends, 0, "inflight");
    REQUIRE(client.mc(mc::set(key, "from-a")) == "STORED\r\n");
    auto a_requests = [&] { return json_number(stats_json(proxy), {"alpha", "s1"}, "requests").value_or(-1); };
    const long long sent_to_a = a_requests();

    freeze(a.process());
    Thaw thaw{a.process()};
    client.send_all(mc::get({key}));
    // The proxy has forwarded it (counted, as nutcracker does once written) before the reload.
    REQUIRE(settle(a_requests, sent_to_a + 1) == sent_to_a + 1);

    PoolSpec without_a = running;
    without_a.servers = {running.servers[1]};
    reload_ok(proxy, pools_yaml({without_a}));
    INFO("log:\n" << tail(proxy.output()));
    thaw.now();
    CHECK(client.read_mc_reply(5000ms * kSlackFactor) == mc::value(key, "from-a") + "END\r\n");

    // Once idle, the proxy closes its connection(s) to s1.
    CHECK(settle([&] { return memcached_stat(a.port(), "curr_connections"); }, a_base, 5000ms * kSlackFactor) ==
          a_base);
    // New requests for the key go to s2; s1 keeps the old value.
    REQUIRE(client.mc(mc::set(key, "to-b")) == "STORED\r\n");
    CHECK(client.mc(mc::get({key})) == mc::value(key, "to-b") + "END\r\n");
    CHECK(mc::get_direct(backends[1]->port(), key) == std::optional<std::string>("to-b"));
    CHECK(mc::get_direct(a.port(), key) == std::optional<std::string>("from-a"));
    CHECK(memcached_stat(a.port(), "curr_connections") == a_base);
}

TEST_CASE("reload: SIGHUP only reopens the log; SIGUSR1 then applies the new file") {
    auto backends = start_memcached(2);
    Proxy proxy(ProxyKind::Cachemux, {memcache_pool("alpha", server_specs(backends, {1}, "s"))});
    const PoolSpec running = proxy.pools()[0];
    Connection client(proxy.port());
    const std::string key = key_on(client, backends, 0, "hup");

    PoolSpec only_s2 = running;
    only_s2.servers = {running.servers[1]};
    write_config(proxy, pools_yaml({only_s2}));
    proxy.process().signal(SIGHUP);
    INFO("log:\n" << tail(proxy.output()));
    REQUIRE(shows(proxy, "signal 1 (SIGHUP) received, reopening log file"));
    // Nothing reloads, not even a moment later.
    for (auto until = Clock::now() + 500ms; Clock::now() < until; std::this_thread::sleep_for(50ms)) {
        ReloadCounts c = counts_now(proxy);
        REQUIRE(c.reloads == 0);
        REQUIRE(c.failures == 0);
        REQUIRE(c.generation == 1);
    }
    CHECK(log_lines(proxy, "reload of '").empty());
    CHECK(owner_now(client, backends, key, "after-hup") == 0);

    reload_ok(proxy, pools_yaml({only_s2}));
    CHECK(owner_now(client, backends, key, "after-usr1") == 1);
}

TEST_CASE("reload: placement after a reload equals nutcracker started on the new file") {
    auto backends = start_memcached(3);
    PoolSpec a;
    a.name = "placement";
    a.servers = server_specs(backends, {1});
    a.servers.pop_back();
    a.set("hash", "fnv1a_64").set("distribution", "ketama");
    Proxy ours(ProxyKind::Cachemux, {a});
    Connection client(ours.port());
    REQUIRE(client.mc(mc::set("warm", "up")) == "STORED\r\n");

    PoolSpec b;
    b.name = "placement";
    b.servers = server_specs(backends, {1, 2, 3}, "node");
    b.set("hash", "murmur").set("distribution", "ketama");
    b.listen = "127.0.0.1:" + std::to_string(ours.port());
    reload_ok(ours, pools_yaml({b}));

    const auto keys = make_keys(200, 4242);
    auto place = [&](Connection& c) {
        for (auto& s : backends) mc::flush_all(s->port());
        std::string batch;
        for (auto& k : keys) batch += mc::set(k, "v");
        c.send_all(batch);
        for (auto& k : keys) {
            std::string reply = c.read_until("\r\n", 10000ms);
            REQUIRE_MESSAGE(reply == "STORED\r\n", "set of \"" << escape(k) << "\" answered " << escape(reply));
        }
        return mc::holders(backends, keys);
    };
    const auto after_reload = place(client);

    b.listen.clear();
    Proxy theirs(ProxyKind::Nutcracker, {b});
    Connection reference(theirs.port());
    const auto nutcracker = place(reference);

    std::size_t differ = 0, on_third = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        CAPTURE(escape(keys[i]));
        REQUIRE(nutcracker[i] >= 0);
        if (after_reload[i] != nutcracker[i]) ++differ;
        if (nutcracker[i] == 2) ++on_third;
    }
    CHECK_MESSAGE(differ == 0, differ << " of " << keys.size() << " keys placed elsewhere than nutcracker does");
    CHECK(on_third > 0);  // the server only the new file has
}

TEST_CASE("reload: a burst of SIGUSR1 is coalesced and the newest file wins") {
    auto backends = start_memcached(4);
    auto single = [&](std::size_t i, const std::string& listen) {
        PoolSpec p = memcache_pool("alpha", {server_specs(backends, {1}, "s")[i]});
        p.listen = listen;
        return p;
    };
    Proxy proxy(ProxyKind::Cachemux, {single(0, "")});
    const std::string listen = "127.0.0.1:" + std::to_string(proxy.port());
    Connection client(proxy.port());
    CHECK(owner_now(client, backends, "burst", "v0") == 0);

    // Waits for an outcome after `before`, then until the counts stay
    // unchanged for a second.
    auto settled = [&](const ReloadCounts& before) {
        ReloadCounts now = await_outcome(proxy, before);
        for (auto deadline = Clock::now() + 10000ms * kSlackFactor, stable_since = Clock::now();
             Clock::now() < deadline && Clock::now() - stable_since < 1000ms;) {
            std::this_thread::sleep_for(50ms);
            ReloadCounts next = counts_now(proxy);
            if (next.reloads != now.reloads || next.failures != now.failures) stable_since = Clock::now();
            now = next;
        }
        return now;
    };

    const ReloadCounts before = counts_now(proxy);
    for (std::size_t i : {1u, 2u, 3u}) {
        write_config(proxy, pools_yaml({single(i, listen)}));
        proxy.process().signal(SIGUSR1);
    }
    ReloadCounts now = settled(before);
    INFO("log:\n" << tail(proxy.output()));
    CHECK(now.failures == 0);
    CHECK(now.reloads >= 1);
    CHECK(now.reloads <= 3);
    CHECK(now.generation == 1 + now.reloads);
    CHECK(owner_now(client, backends, "burst", "v-last") == 3);
    Connection fresh(proxy.port());
    CHECK(owner_now(fresh, backends, "burst-fresh", "v") == 3);

    // A burst that arrives while the proxy cannot run (stopped) is one
    // pending signal: exactly one reload, and of the newest file.
    const ReloadCounts before_frozen = now;
    {
        freeze(proxy.process());
        Thaw thaw{proxy.process()};
        for (std::size_t i : {2u, 1u, 0u}) {
            write_config(proxy, pools_yaml({single(i, listen)}));
            proxy.process().signal(SIGUSR1);
        }
    }
    now = settled(before_frozen);
    CHECK(now.failures == 0);
    CHECK(now.reloads == before_frozen.reloads + 1);
    CHECK(now.generation == before_frozen.generation + 1);
    CHECK(owner_now(client, backends, "burst", "v-first") == 0);
}

TEST_CASE("reload: a redis client keeps working across a reload that adds a server") {
    resp::ProxiedRedis px(ProxyKind::Cachemux, 2);
    Connection client(px.port());
    CHECK(resp::call(client, resp::cmd("PING")) == "+PONG\r\n");
    CHECK(resp::call(client, resp::cmd("SET", "beta", "b1")) == "+OK\r\n");
    CHECK(resp::call(client, resp::cmd("GET", "beta")) == "$2\r\nb1\r\n");

    auto requests = [&](const std::string& server) {
        return json_number(stats_json(*px.proxy), {"alpha", server}, "requests").value_or(-1);
    };
    auto kept_requests = [&] { return requests("s1") + requests("s2"); };
    REQUIRE(settle(kept_requests, 2LL) == 2);  // SET and GET; the proxy answers PING itself

    RedisServer third;
    PoolSpec pool = px.proxy->pools()[0];
    pool.listen = "127.0.0.1:" + std::to_string(px.port());
    pool.servers.push_back(ServerSpec{"127.0.0.1", third.port(), 1, "s3"});
    reload_ok(*px.proxy, pools_yaml({pool}));
    INFO("log:\n" << tail(px.proxy->output()));
    // The kept servers' counters carry on; the new one starts at 0.
    CHECK(requests("s3") == 0);
    CHECK(kept_requests() == 2);

    CHECK(resp::call(client, resp::cmd("PING")) == "+PONG\r\n");
    CHECK(resp::call(client, resp::cmd("GET", "beta")) == "$2\r\nb1\r\n");
    // With s1..s3, ketama puts "apple" on s3 (docs/redis-nutcracker-0.5.md).
    CHECK(resp::call(client, resp::cmd("SET", "apple", "a3")) == "+OK\r\n");
    CHECK(resp::call(client, resp::cmd("GET", "apple")) == "$2\r\na3\r\n");
    Connection direct(third.port());
    CHECK(resp::call(direct, resp::cmd("GET", "apple")) == "$2\r\na3\r\n");
}

TEST_CASE("reload: a removed pool's client gets its replies, then EOF; the other pool's counters carry on") {
    auto backends = start_memcached(2);
    PoolSpec alpha = memcache_pool("alpha", {ServerSpec{"127.0.0.1", backends[0]->port(), 1, "a1"}});
    PoolSpec beta = memcache_pool("beta", {ServerSpec{"127.0.0.1", backends[1]->port(), 1, "b1"}});
    Proxy proxy(ProxyKind::Cachemux, {alpha, beta});
    alpha = proxy.pools()[0];
    Connection on_alpha(proxy.port(0));
    Connection on_beta(proxy.port(1));
    for (int i = 0; i < 5; ++i) REQUIRE(on_alpha.mc(mc::get({"a" + std::to_string(i)})) == "END\r\n");
    auto json_of = [&](const std::vector<std::string>& scope, const std::string& key) {
        return json_number(stats_json(proxy), scope, key).value_or(-1);
    };
    auto alpha_requests = [&] { return json_of({"alpha", "a1"}, "requests"); };
    REQUIRE(settle(alpha_requests, 5LL) == 5);

    // beta's requests wait at a frozen server while the reload drops the pool.
    freeze(backends[1]->process());
    Thaw thaw{backends[1]->process()};
    std::string batch;
    for (int i = 0; i < 3; ++i) batch += mc::set("b" + std::to_string(i), "v" + std::to_string(i));
    batch += mc::get({"b0", "b1", "b2"});
    on_beta.send_all(batch);
    REQUIRE(settle([&] { return json_of({"beta", "b1"}, "requests"); }, 4LL) == 4);

    reload_ok(proxy, pools_yaml({alpha}));
    INFO("log:\n" << tail(proxy.output()));
    thaw.now();
    for (int i = 0; i < 3; ++i) CHECK(on_beta.read_mc_reply(5000ms * kSlackFactor) == "STORED\r\n");
    CHECK(on_beta.read_mc_reply(5000ms * kSlackFactor) ==
          mc::value("b0", "v0") + mc::value("b1", "v1") + mc::value("b2", "v2") + "END\r\n");
    CHECK(on_beta.wait_closed(5000ms * kSlackFactor));
    CHECK(settle([&] { return port_open(proxy.port(1)); }, false) == false);

    const std::string json = stats_json(proxy);
    CHECK_MESSAGE(json.find("\"beta\": {") == std::string::npos, "beta is still in " << escape(json, 3000));
    CHECK(json_number(json, {"alpha", "a1"}, "requests") == std::optional<long long>(5));
    REQUIRE(on_alpha.mc(mc::get({"after"})) == "END\r\n");
    CHECK(settle(alpha_requests, 6LL) == 6);
}

}  // TEST_SUITE("reload")
