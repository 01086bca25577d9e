// The hot path allocates nothing per request in steady state: the proxy in
// this process with two worker threads, in front of real memcached and
// redis servers, serves 10,000 requests after its warm-up with (almost
// always) no call to malloc on a worker's thread.
//
// malloc, calloc, realloc and aligned allocations are counted here, on the
// worker threads only (named cachemux-wN; operator new reaches malloc).
// Timing decides nothing; the count does.
#include <doctest/doctest.h>

#include <execinfo.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "config/config.hpp"
#include "harness.hpp"
#include "proxy/proxy.hpp"
#include "registry/plugin_registry.hpp"
#include "routing/server_pool.hpp"

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

namespace {
// A worker thread names itself as it starts; asked on every call, so that
// its allocations before it has a name are not counted either way wrongly.
bool on_worker_thread() {
    char name[16] = {};
    prctl(PR_GET_NAME, name);
    return std::strncmp(name, "cachemux-w", 10) == 0;
}
std::atomic<std::uint64_t> allocations{0};
// CACHEMUX_ALLOC_TRACE=1: print where each counted allocation comes from
// once `measuring` (symbolize with addr2line / c++filt).
std::atomic<bool> measuring{false};
thread_local bool in_trace = false;

void count() {
    if (!on_worker_thread()) return;
    allocations.fetch_add(1, std::memory_order_relaxed);
    static const bool trace = std::getenv("CACHEMUX_ALLOC_TRACE") != nullptr;
    if (trace && measuring && !in_trace) {
        in_trace = true;
        void* frames[16];
        int n = backtrace(frames, 16);
        backtrace_symbols_fd(frames, n, 2);
        ::write(2, "--\n", 3);
        in_trace = false;
    }
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
    count();
    return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) {
    count();
    return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) {
    count();
    return __libc_realloc(p, n);
}
void* memalign(std::size_t alignment, std::size_t n) {
    count();
    return __libc_memalign(alignment, n);
}
void* aligned_alloc(std::size_t alignment, std::size_t n) {
    count();
    return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t n) {
    count();
    *out = __libc_memalign(alignment, n);
    return *out == nullptr ? ENOMEM : 0;
}
}

using namespace harness;
using namespace std::chrono_literals;

namespace {

// The proxy's control loop on a thread of the test's, stopped by a flag it
// polls (the loop takes no cross-thread wakeups but its workers' stop).
class ProxyThread {
public:
    ProxyThread(const std::string& yaml, std::size_t workers) : registry_(CACHEMUX_PLUGIN_BUILD_DIR) {
        cachemux::Config config = cachemux::parse_config(yaml, "alloc-test.yml");
        std::vector<std::shared_ptr<const cachemux::ServerPool>> pools;
        for (const auto& pool : config.pools) pools.push_back(cachemux::ServerPool::build(pool, registry_, config.file));
        proxy_ = std::make_unique<cachemux::Proxy>(workers, 16384, std::move(pools));
        proxy_->listen();
        poll_ = event_new(proxy_->base(), -1, EV_PERSIST, &ProxyThread::on_poll, this);
        timeval tv{0, 10 * 1000};
        event_add(poll_, &tv);
        thread_ = std::thread([this] { proxy_->run(); });
    }
    ~ProxyThread() {
        stop_ = true;
        thread_.join();
        event_free(poll_);
    }

private:
    static void on_poll(evutil_socket_t, short, void* arg) {
        auto* self = static_cast<ProxyThread*>(arg);
        if (self->stop_) self->proxy_->stop();
    }

    cachemux::PluginRegistry registry_;
    std::unique_ptr<cachemux::Proxy> proxy_;
    event* poll_ = nullptr;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// `rounds` rounds of a pipelined mix on each connection: sets, gets (hits
// and misses) and multi-key gets split over both servers, every reply read.
void memcache_load(std::vector<std::unique_ptr<Connection>>& clients, int rounds, std::size_t* requests) {
    const std::string value(300, 'v');
    for (int round = 0; round < rounds; ++round) {
        for (std::size_t c = 0; c < clients.size(); ++c) {
            std::string batch;
            for (int i = 0; i < 10; ++i) {
                std::string key = "k" + std::to_string(c) + ":" + std::to_string((round * 10 + i) % 200);
                batch += mc::set(key, value) + "get " + key + "\r\nget nokey" + std::to_string(i) + "\r\n";
            }
            batch += "get k0:1 k0:2 k0:3 k0:4 k0:5 k0:6 k0:7 k0:8\r\n";
            clients[c]->send_all(batch);
        }
        for (auto& client : clients) {
            for (int i = 0; i < 31; ++i) client->read_mc_reply();
            *requests += 31;
        }
    }
}

void redis_load(std::vector<std::unique_ptr<Connection>>& clients, int rounds, std::size_t* requests) {
    for (int round = 0; round < rounds; ++round) {
        for (std::size_t c = 0; c < clients.size(); ++c) {
            std::string batch;
            for (int i = 0; i < 10; ++i) {
                std::string key = "r" + std::to_string(c) + ":" + std::to_string((round * 10 + i) % 200);
                batch += resp::cmd("SET", key, "value") + resp::cmd("GET", key);
            }
            batch += resp::cmd("MGET", "r0:1", "r0:2", "r0:3", "r0:4", "r0:5", "r0:6");
            batch += resp::cmd("DEL", "r1:7", "r1:8", "r1:9");
            clients[c]->send_all(batch);
        }
        for (auto& client : clients) {
            resp::read_replies(*client, 22);
            *requests += 22;
        }
    }
}

// Allocations on the worker threads over at least 10,000 requests of both
// loads, after a warm-up, through the pools of `yaml` on the two ports.
std::uint64_t allocations_in_steady_state(const std::string& yaml, int mc_port, int redis_port,
                                          std::size_t* requests) {
    ProxyThread proxy(yaml, 2);
    std::vector<std::unique_ptr<Connection>> mc_clients, redis_clients;
    for (int i = 0; i < 4; ++i) {
        mc_clients.push_back(std::make_unique<Connection>(mc_port));
        redis_clients.push_back(std::make_unique<Connection>(redis_port));
    }
    // Warm-up: the free lists, vectors and the event loop's tables grow to
    // what this load needs.
    for (int i = 0; i < 10; ++i) {
        memcache_load(mc_clients, 10, requests);
        redis_load(redis_clients, 10, requests);
    }
    *requests = 0;
    measuring = true;
    std::uint64_t before = allocations.load();
    while (*requests < 10000) {
        memcache_load(mc_clients, 5, requests);
        redis_load(redis_clients, 5, requests);
    }
    std::uint64_t during = allocations.load() - before;
    measuring = false;
    return during;
}

std::string server_line(int port) { return "   - 127.0.0.1:" + std::to_string(port) + ":1\n"; }

}  // namespace

TEST_CASE("no allocation per request in steady state: memcache and redis, single- and multi-key") {
    auto memcached = start_memcached(2);
    RedisServer redis_a, redis_b;
    int mc_port = free_port();
    int redis_port = free_port();
    std::string yaml = "cache:\n  listen: 127.0.0.1:" + std::to_string(mc_port) + "\n  servers:\n" +
                       server_line(memcached[0]->port()) + server_line(memcached[1]->port()) +
                       "kv:\n  listen: 127.0.0.1:" + std::to_string(redis_port) + "\n  redis: true\n  servers:\n" +
                       server_line(redis_a.port()) + server_line(redis_b.port());
    std::size_t requests = 0;
    std::uint64_t during = allocations_in_steady_state(yaml, mc_port, redis_port, &requests);
    MESSAGE("allocations on the worker threads over " << requests << " requests after warm-up: " << during);
    // Usually 0. The free lists of requests and mbufs grow when the number in
    // flight reaches a new high (a handful of allocations, seen up to 3 in
    // 10,600 requests), which timing decides; one per request would be
    // thousands.
    CHECK(during <= requests / 1000);
}

// Pools with copies: every write is an attempt per copy, every read one or
// more (the misses ask both), a multi-key request a unit per key.
TEST_CASE("no allocation per request in steady state: pools with two copies") {
    auto memcached = start_memcached(2);
    RedisServer redis_a, redis_b;
    int mc_port = free_port();
    int redis_port = free_port();
    auto replica = [](int port) { return "  replicas:\n   - servers:\n   " + server_line(port); };
    std::string yaml = "cache:\n  listen: 127.0.0.1:" + std::to_string(mc_port) + "\n  timeout: 2000\n" +
                       replica(memcached[1]->port()) + "  servers:\n" + server_line(memcached[0]->port()) +
                       "kv:\n  listen: 127.0.0.1:" + std::to_string(redis_port) +
                       "\n  redis: true\n  timeout: 2000\n" + replica(redis_b.port()) + "  servers:\n" +
                       server_line(redis_a.port());
    std::size_t requests = 0;
    std::uint64_t during = allocations_in_steady_state(yaml, mc_port, redis_port, &requests);
    MESSAGE("allocations on the worker threads over " << requests << " requests to two copies after warm-up: "
                                                      << during);
    CHECK(during <= requests / 1000);
}
