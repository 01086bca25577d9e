// --workers: several worker threads behind one port behave as one proxy.
// Clients spread evenly over the workers; every key goes where nutcracker
// puts it from whichever worker; backends see N x K connections; every stats
// counter is the exact sum over the workers; a dead server is ejected once
// for all of them and rejoins for all of them at once, with one flush.
//
// Each case starts cachemux with --workers 2 itself (whatever
// CACHEMUX_TEST_WORKERS says), so that its expectations are exact.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <map>
#include <numeric>
#include <set>
#include <thread>

#include "backend_stats.hpp"
#include "harness.hpp"
#include "settle.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

constexpr int kWorkers = 2;

ProxyOptions two_workers() {
    ProxyOptions options;
    options.extra_args = {"--workers", std::to_string(kWorkers)};
    return options;
}

std::string worker_series(const char* family, int worker) {
    return std::string(family) + "{worker=\"" + std::to_string(worker) + "\"}";
}

// Clients connected one after another, so that the proxy hands them out
// in turn; each is known to be served (and so adopted) before the next.
std::vector<std::unique_ptr<Connection>> connect_clients(const Proxy& proxy, int n) {
    std::vector<std::unique_ptr<Connection>> clients;
    for (int i = 0; i < n; ++i) {
        clients.push_back(std::make_unique<Connection>(proxy.port()));
        REQUIRE(clients.back()->mc("get warmup\r\n") == "END\r\n");
    }
    return clients;
}

PoolSpec memcache_pool(const std::vector<std::unique_ptr<MemcachedServer>>& backends) {
    PoolSpec pool;
    pool.name = "spread";
    pool.servers = server_specs(backends, {1}, "s");
    pool.set("hash", "fnv1a_64").set("distribution", "ketama");
    return pool;
}

}  // namespace

TEST_CASE("workers: clients spread evenly, each gets its replies in order, every counter is the exact sum" *
          doctest::test_suite("workers")) {
    auto backends = start_memcached(2);
    Proxy proxy(ProxyKind::Cachemux, {memcache_pool(backends)}, two_workers());
    constexpr int kClients = 6;
    constexpr int kRounds = 20;
    auto clients = connect_clients(proxy, kClients);
    std::string m = metrics(proxy);
    for (int w = 0; w < kWorkers; ++w) {
        CAPTURE(w);
        CHECK(metric_value(m, worker_series("cachemux_worker_client_connections", w)) == kClients / kWorkers);
    }

    // Each client pipelines a set and a get of its own keys per round; every
    // get must return the value its own set just stored, in request order.
    for (int round = 0; round < kRounds; ++round) {
        for (int c = 0; c < kClients; ++c) {
            std::string batch;
            for (int k = 0; k < 5; ++k) {
                std::string key = "c" + std::to_string(c) + "k" + std::to_string(k);
                batch += mc::set(key, key + "r" + std::to_string(round)) + "get " + key + "\r\n";
            }
            clients[c]->send_all(batch);
        }
        for (int c = 0; c < kClients; ++c) {
            for (int k = 0; k < 5; ++k) {
                std::string key = "c" + std::to_string(c) + "k" + std::to_string(k);
                REQUIRE(clients[c]->read_mc_reply() == "STORED\r\n");
                REQUIRE(clients[c]->read_mc_reply() == mc::value(key, key + "r" + std::to_string(round)) + "END\r\n");
            }
        }
    }
    // The warm-up gets, then 10 requests per client per round.
    const long long sent = kClients * (1 + 10 * kRounds);
    auto requests = [&] {
        std::string json = stats_json(proxy);
        return require_json_number(json, {"spread", "s1"}, "requests") + require_json_number(json, {"spread", "s2"}, "requests");
    };
    CHECK(settle(requests, sent) == sent);
    std::string json = stats_json(proxy);
    CHECK(require_json_number(json, {"spread", "s1"}, "responses") + require_json_number(json, {"spread", "s2"}, "responses") == sent);
    CHECK(require_json_number(json, {"spread"}, "client_connections") == kClients);
    // Every worker did its share: the same clients, the same requests.
    m = metrics(proxy);
    double total = 0;
    for (int w = 0; w < kWorkers; ++w) {
        CAPTURE(w);
        double per_worker = metric_value(m, worker_series("cachemux_worker_requests_total", w));
        CHECK(per_worker == sent / kWorkers);
        total += per_worker;
        CHECK(metric_value(m, worker_series("cachemux_worker_cpu_seconds_total", w)) > 0);
    }
    CHECK(total == sent);

    // A closed client frees its worker's place: the next one goes there,
    // whoever's turn it would have been.
    auto per_worker = [&] {
        std::string text = metrics(proxy);
        std::vector<long long> counts;
        for (int w = 0; w < kWorkers; ++w)
            counts.push_back(static_cast<long long>(metric_value(text, worker_series("cachemux_worker_client_connections", w))));
        return counts;
    };
    for (int closed = 0; closed < 2; ++closed) {
        CAPTURE(closed);
        clients[closed].reset();
        auto total = [&] {
            auto counts = per_worker();
            return std::accumulate(counts.begin(), counts.end(), 0LL);
        };
        REQUIRE(settle(total, kClients - 1) == kClients - 1);
        auto counts = per_worker();
        const auto freed = std::min_element(counts.begin(), counts.end()) - counts.begin();
        CHECK(counts[freed] == kClients / kWorkers - 1);
        clients[closed] = std::make_unique<Connection>(proxy.port());
        REQUIRE(clients[closed]->mc("get warmup\r\n") == "END\r\n");
        CHECK(per_worker() == std::vector<long long>(kWorkers, kClients / kWorkers));
    }
}

TEST_CASE("workers: every key goes to nutcracker's server from either worker" * doctest::test_suite("workers")) {
    auto backends = start_memcached(3);
    const auto keys = make_keys(300, 2718);
    auto owners = [&](ProxyKind kind, ProxyOptions options, int clients_n) {
        for (auto& b : backends) mc::flush_all(b->port());
        Proxy proxy(kind, {memcache_pool(backends)}, options);
        std::vector<std::unique_ptr<Connection>> clients;
        for (int i = 0; i < clients_n; ++i) clients.push_back(std::make_unique<Connection>(proxy.port()));
        for (std::size_t i = 0; i < keys.size(); ++i) {
            REQUIRE(clients[i % clients.size()]->mc(mc::set(keys[i], "v")) == "STORED\r\n");
        }
        return mc::holders(backends, keys);
    };
    auto reference = owners(ProxyKind::Nutcracker, {}, 1);
    auto got = owners(ProxyKind::Cachemux, two_workers(), 4);
    std::set<int> used(reference.begin(), reference.end());
    CHECK(used.size() == backends.size());  // the keys reach every server
    for (std::size_t i = 0; i < keys.size(); ++i) {
        CAPTURE(keys[i]);
        REQUIRE(reference[i] >= 0);
        CHECK(got[i] == reference[i]);
    }
}

TEST_CASE("workers: each backend sees server_connections per worker, and the stats say so" *
          doctest::test_suite("workers")) {
    auto backends = start_memcached(2);
    std::vector<long long> base;
    for (auto& b : backends) base.push_back(memcached_stat(b->port(), "curr_connections"));
    PoolSpec pool = memcache_pool(backends);
    pool.set("server_connections", "2").set("preconnect", "true");
    Proxy proxy(ProxyKind::Cachemux, {pool}, two_workers());
    const long long expected = 2 * kWorkers;
    for (std::size_t i = 0; i < backends.size(); ++i) {
        CAPTURE(i);
        auto opened = [&] { return memcached_stat(backends[i]->port(), "curr_connections") - base[i]; };
        CHECK(settle(opened, expected) == expected);
        auto counted = [&] {
            return require_json_number(stats_json(proxy), {"spread", "s" + std::to_string(i + 1)}, "server_connections");
        };
        CHECK(settle(counted, expected) == expected);
    }
}

TEST_CASE("workers: a dead server is ejected once for every worker, and rejoins for all with one flush" *
          doctest::test_suite("workers")) {
    auto backends = start_memcached(3);
    PoolSpec pool = memcache_pool(backends);
    constexpr int kRetryMs = 1500;
    pool.set("auto_eject_hosts", "true").set("server_failure_limit", "2");
    pool.set("server_retry_timeout", std::to_string(kRetryMs)).set("flush_on_rejoin", "true");
    Proxy proxy(ProxyKind::Cachemux, {pool}, two_workers());
    auto clients = connect_clients(proxy, 4);  // 0 and 2 on worker 0, 1 and 3 on worker 1

    // Keys of server 1, found by asking it directly after storing them.
    std::vector<std::string> victim_keys;
    for (const auto& key : make_keys(200, 99)) {
        REQUIRE(clients[0]->mc(mc::set(key, "before")) == "STORED\r\n");
        if (mc::holds(backends[1]->port(), key)) victim_keys.push_back(key);
    }
    REQUIRE(victim_keys.size() >= 10);
    const int victim_port = backends[1]->port();
    backends[1]->stop();

    // Traffic from both workers to the dead server until one of them sees it
    // ejected: that worker's request was stored elsewhere.
    int ejected_by = -1;
    for (auto deadline = Clock::now() + 10s; ejected_by < 0 && Clock::now() < deadline;) {
        for (int c = 0; c < 4 && ejected_by < 0; ++c) {
            if (clients[c]->mc(mc::set(victim_keys[0], "during")) == "STORED\r\n") ejected_by = c;
        }
    }
    REQUIRE_MESSAGE(ejected_by >= 0, "the dead server was never ejected");
    // Every worker routes around it at once: no client, on either worker,
    // meets the dead server again.
    for (const auto& key : victim_keys) {
        for (auto& c : clients) CHECK(c->mc(mc::set(key, "during")) == "STORED\r\n");
    }
    CHECK(require_json_number(stats_json(proxy), {"spread"}, "server_ejects") == 1);

    // Back on its port: after the retry timeout the first request to route
    // sends the flush, once, and then every worker uses the server again.
    auto revived = MemcachedServer::on_port(victim_port);
    std::this_thread::sleep_for(std::chrono::milliseconds(kRetryMs + 200));
    auto back_on_ring = [&] {
        for (auto& c : clients) REQUIRE(c->mc(mc::set(victim_keys[1], "after")) == "STORED\r\n");
        return mc::holds(victim_port, victim_keys[1]) ? 1LL : 0LL;
    };
    REQUIRE(settle(back_on_ring, 1, 3000ms) == 1);
    for (std::size_t i = 2; i < victim_keys.size(); ++i) {
        CAPTURE(victim_keys[i]);
        // Each client in turn: whichever worker stores it, it lands on server 1.
        REQUIRE(clients[i % clients.size()]->mc(mc::set(victim_keys[i], "after")) == "STORED\r\n");
        CHECK(mc::holds(victim_port, victim_keys[i]));
    }
    CHECK(memcached_stat(victim_port, "cmd_flush") == 1);
    CHECK(require_json_number(stats_json(proxy), {"spread"}, "server_ejects") == 1);
}

TEST_CASE("workers: --workers auto is the CPUs of the affinity mask; bad values are refused" *
          doctest::test_suite("workers")) {
    auto backends = start_memcached(1);
    ProxyOptions options;
    options.extra_args = {"--workers", "auto"};
    Proxy proxy(ProxyKind::Cachemux, {memcache_pool(backends)}, options);
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    REQUIRE(sched_getaffinity(0, sizeof cpus, &cpus) == 0);
    const int cpu_count = CPU_COUNT(&cpus);
    std::string m = metrics(proxy);
    CHECK(m.find(worker_series("cachemux_worker_client_connections", cpu_count - 1)) != std::string::npos);
    CHECK(m.find(worker_series("cachemux_worker_client_connections", cpu_count)) == std::string::npos);

    for (const char* bad : {"0", "-1", "two", "1025", ""}) {
        CAPTURE(bad);
        auto result = run_proxy_once(ProxyKind::Cachemux, pools_yaml({memcache_pool(backends)}), {"--workers", bad},
                                     10000ms);
        CHECK(result.exit_code == 1);
        CHECK(result.output.find("option --workers requires a number from 1 to 1024 or 'auto'") != std::string::npos);
    }
}

TEST_CASE("workers: log lines from every worker stay whole while SIGHUP reopens the file" *
          doctest::test_suite("workers")) {
    // A server nobody listens on: every request's connect fails and the
    // worker logs it (-v 6), from both workers at once.
    const std::string dir = make_temp_dir("workers-log");
    const std::string log = dir + "/cachemux.log";
    PoolSpec pool;
    pool.name = "refused";
    ServerSpec dead;
    dead.port = free_port();
    pool.servers.push_back(dead);
    ProxyOptions options = two_workers();
    options.extra_args.insert(options.extra_args.end(), {"-v", "6", "-o", log});
    Proxy proxy(ProxyKind::Cachemux, {pool}, options);

    std::atomic<bool> done{false};
    std::atomic<int> errors{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c) {
        clients.emplace_back([&, c] {
            Connection conn(proxy.port());
            for (int i = 0; i < 300; ++i) {
                if (conn.mc("get k" + std::to_string(c) + "\r\n").starts_with("SERVER_ERROR")) ++errors;
            }
            done = true;
        });
    }
    // logrotate's way, over and over while the workers write: move, SIGHUP.
    std::vector<std::string> files;
    for (int round = 0; round < 20 && !done; ++round) {
        std::this_thread::sleep_for(20ms);
        files.push_back(log + "." + std::to_string(round));
        REQUIRE(std::rename(log.c_str(), files.back().c_str()) == 0);
        proxy.process().signal(SIGHUP);
    }
    for (auto& t : clients) t.join();
    CHECK(errors == 4 * 300);
    std::this_thread::sleep_for(100ms);
    files.push_back(log);

    // Every line is whole: a timestamped line, or nutcracker's signal line.
    std::size_t refused_lines = 0;
    for (const std::string& file : files) {
        std::string text = read_file(file);
        std::size_t start = 0;
        while (start < text.size()) {
            std::size_t end = text.find('\n', start);
            REQUIRE_MESSAGE(end != std::string::npos, file << " ends in a partial line: " << escape(text.substr(start)));
            std::string line = text.substr(start, end - start);
            start = end + 1;
            CAPTURE(line);
            bool stamped = line.size() > 26 && line[0] == '[' && line[5] == '-' && line[24] == ']' &&
                           line.find('[', 1) == std::string::npos;
            bool signal_line = line.starts_with("[.......................] signal ");
            CHECK((stamped || signal_line));
            refused_lines += line.find("connection failed: Connection refused") != std::string::npos;
        }
    }
    CHECK(refused_lines > 0);
    CHECK(files.size() > 2);  // the test did rotate while the workers wrote
}

TEST_CASE("workers: one listener per pool: a second cachemux on the address fails, unix sockets spread too" *
          doctest::test_suite("workers")) {
    auto backends = start_memcached(1);
    PoolSpec tcp = memcache_pool(backends);
    Proxy first(ProxyKind::Cachemux, {tcp}, two_workers());
    // The same address again: no SO_REUSEPORT, so the bind fails and says so.
    tcp.listen = "127.0.0.1:" + std::to_string(first.port());
    auto second = run_proxy_once(ProxyKind::Cachemux, pools_yaml({tcp}), {"--workers", "2"}, 10000ms);
    CHECK(second.exit_code == 1);
    CHECK(second.output.find("failed to listen on '127.0.0.1:" + std::to_string(first.port()) +
                             "': Address already in use") != std::string::npos);
    CHECK(first.process().running());
    CHECK(Connection(first.port()).mc("get k\r\n") == "END\r\n");

    // A unix-socket pool: four clients (python's AF_UNIX; the harness's
    // Connection is TCP), each stores and reads its own key while all four
    // are connected; the workers get two each.
    PoolSpec unix_pool = memcache_pool(backends);
    const std::string path = make_temp_dir("workers-unix") + "/cachemux.sock";
    unix_pool.listen = path;
    Proxy proxy(ProxyKind::Cachemux, {unix_pool}, two_workers());
    const std::string script =
        "import socket, sys, time\n"
        "clients = []\n"
        "for c in range(4):\n"
        "    for _ in range(200):\n"
        "        try:\n"
        "            s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); break\n"
        "        except OSError:\n"
        "            time.sleep(0.05)\n"
        "    clients.append(s)\n"
        "    s.sendall(b'get warmup\\r\\n'); assert s.recv(100) == b'END\\r\\n'\n"
        "for c, s in enumerate(clients):\n"
        "    v = b'v%d' % c\n"
        "    s.sendall(b'set u%d 0 0 %d\\r\\n%s\\r\\nget u%d\\r\\n' % (c, len(v), v, c))\n"
        "    want = b'STORED\\r\\nVALUE u%d 0 %d\\r\\n%s\\r\\nEND\\r\\n' % (c, len(v), v)\n"
        "    got = b''\n"
        "    while len(got) < len(want): got += s.recv(100)\n"
        "    assert got == want, got\n"
        "sys.stdout.write('served %d\\n' % len(clients))\n"  // one write: the test may read between two
        "sys.stdout.flush()\n"
        "time.sleep(60)\n";  // holds the connections until the test has looked (and stops it)
    Process clients({python3(), "-c", script, path});
    for (auto deadline = Clock::now() + 10s; clients.output().find('\n') == std::string::npos &&
                                             clients.running() && Clock::now() < deadline;) {
        std::this_thread::sleep_for(20ms);
    }
    REQUIRE_MESSAGE(clients.output().find("served 4") != std::string::npos, clients.describe());
    auto spread = [&] {
        std::string m = metrics(proxy);
        return static_cast<long long>(metric_value(m, worker_series("cachemux_worker_client_connections", 0))) * 10 +
               static_cast<long long>(metric_value(m, worker_series("cachemux_worker_client_connections", 1)));
    };
    CHECK(settle(spread, 22) == 22);  // 2 and 2
}
