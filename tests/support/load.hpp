// Steady, checked load for the fault tests (tests/integration/fault_test.cpp):
// several client threads, each on its own connection to a proxy, pipelining
// sets, gets and multi-key gets with a bounded window of requests in flight.
//
// Every client uses keys and values that name it ("<tag>c3:k17", value
// "<tag>c3:k17:<seq>:xxxx..."), matches each reply with its oldest request in
// flight (replies come back in request order) and checks that the reply fits
// that request: the right kind of reply, and a value only for a key it asked
// for and only one this client wrote.  A reply that went to the wrong client,
// a lost, duplicated or reordered reply shows up as a mismatch, a timeout or
// a count that does not add up.  Error replies (memcache "SERVER_ERROR ...",
// redis "-ERR ...") are counted, not failures: they are what a proxy owes a
// request whose server failed.
//
// Bounded: every read waits at most `read_timeout`; a client stops sending by
// itself after `max_duration` or `max_requests`; stop() drains what is in
// flight within one `read_timeout` per client and joins.  Results are plain
// data for the test's main thread to assert on (no doctest assertion runs on
// a load thread).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace harness::load {

enum class Protocol { Memcache, Redis };

struct Options {
    Protocol protocol = Protocol::Memcache;
    int port = 0;                      // the proxy's pool
    std::size_t clients = 5;           // threads, one connection each
    std::size_t window = 24;           // requests in flight per client, at most
    std::size_t keys = 48;             // keys per client
    std::size_t value_size = 48;       // bytes per value, at least
    std::size_t multi_keys = 4;        // keys per multi-key get ("get a b c d", MGET)
    // memcache multi-get: values must come in the order the keys were asked
    // for (memcached's and cachemux's order; nutcracker 0.5.0 merges in
    // server order).  Either way each value must be for a key asked for, once.
    bool multiget_in_order = true;
    // Out of 10 requests: how many are sets and how many multi-key gets (the
    // rest are single-key gets).
    int sets_in_10 = 4;
    int multigets_in_10 = 2;
    std::string tag = "L";             // key prefix, to tell runs apart
    Millis read_timeout{5000};         // bound of every read
    Millis pause{0};                   // between batches (0: flat out)
    Millis max_duration{60000};        // a client stops sending after this...
    std::uint64_t max_requests = 10'000'000;  // ...or after this many requests
    std::uint32_t seed = 1;
};

enum class Op : std::uint8_t { Set, Get, MultiGet };

// One request and its reply.
struct Event {
    Clock::time_point sent;
    Clock::time_point replied;
    std::uint32_t key = 0;  // index of its (first) key among the client's keys
    Op op = Op::Get;
    bool error = false;     // an error reply
    bool hit = false;       // a get that returned a value
};

struct ClientResult {
    std::size_t client = 0;
    std::uint64_t sent = 0;     // requests written
    std::uint64_t replies = 0;  // replies read and matched
    std::uint64_t errors = 0;   // of which error replies
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    bool closed_by_proxy = false;
    std::string failure;        // the first thing that went wrong, "" if nothing
    std::vector<std::string> error_texts;  // distinct error replies seen (at most 8)
    std::vector<Event> events;  // one per reply, in order
};

class Load {
public:
    explicit Load(Options options);
    ~Load();  // stop()s
    Load(const Load&) = delete;
    Load& operator=(const Load&) = delete;

    const Options& options() const { return options_; }
    // Key `k` of client `c`.
    std::string key(std::size_t c, std::size_t k) const;
    // Every key of every client (client-major), for placement checks.
    std::vector<std::string> all_keys() const;

    void start();
    // Replies matched so far, over all clients (for waiting on progress).
    std::uint64_t replies() const { return replies_.load(); }
    // Stops sending, reads every reply still owed (bounded), joins the
    // threads and returns each client's result.  Idempotent.
    const std::vector<ClientResult>& stop();

private:
    void run_client(std::size_t c);

    Options options_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> replies_{0};
    std::vector<std::thread> threads_;
    std::vector<ClientResult> results_;
    bool stopped_ = false;
};

// One line per client: requests, replies, errors, failure.
std::string summary(const std::vector<ClientResult>& results);

// VmRSS of a process in KiB (/proc/<pid>/status), 0 if unreadable.
std::size_t rss_kib(pid_t pid);

}  // namespace harness::load
