// A checked client for load across reloads: on its own connection and
// thread, batches of pipelined (SET k v, GET k) pairs, every value unique
// ("<key>:<seq>:vvv..."), every reply checked against its own request.
//
// Why the GET of a pair may miss: the pair is routed by the configuration it
// arrives under, but a reload can land between its SET and its GET, and two
// configurations may put some keys on different servers (an added server
// takes a share of a ketama ring). So the test splits the keys beforehand
// (see owners_via):
//  - stable keys sit on the same server under both configurations: the SET
//    and the GET go to that server, in order, whatever reload falls between
//    them (the server survives every reload with its connections), so the GET
//    must return exactly this pair's value. Anything else - a miss, an older
//    value, another client's - is a failure;
//  - moving keys change servers: a GET split from its SET by a reload may
//    miss, or return an older value this client wrote while the key lived on
//    the other server. Those are counted (moved_miss, moved_stale), not
//    failures; a value that is not this client's, for another key, or newer
//    than the SET, is a failure.
// The moving keys send requests to a server that comes and goes, so that its
// removal with requests in flight is exercised too.
//
// Bounded: every read waits at most read_timeout, the client stops by itself
// after max_duration. Results are plain data for the main thread to assert on
// (no doctest assertion runs on the client's thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "protocol_requests.hpp"

namespace harness {

// What the proxy answers, since a reload removed the pool, to a request sent
// before the switch that it had not read yet (SERVER_ERROR / -ERR ...).
inline constexpr const char* kPoolRemovedError = "pool removed by a configuration reload";
bool is_pool_removed_reply(Protocol p, const std::string& reply);

struct PairOptions {
    Protocol protocol = Protocol::Memcache;
    int port = 0;
    std::string name;                 // for messages
    std::vector<std::string> stable;  // see above; must not be empty
    std::vector<std::string> moving;  // may be empty
    std::size_t pairs = 4;            // per batch
    Millis pause{0};                  // between batches
    // The pool goes away while this client is connected: the proxy closing
    // the connection is the expected end (after every reply it owes), and
    // kPoolRemovedError replies are counted apart from other errors.
    bool removed_pool = false;
    Millis read_timeout{5000};
    Millis max_duration{40000};
    std::uint32_t seed = 1;
};

struct PairResult {
    std::uint64_t batches = 0;
    std::uint64_t requests = 0;  // written (or being written as the proxy closed)
    std::uint64_t replies = 0;   // read and checked
    std::uint64_t exact = 0;     // GETs that returned their own pair's value
    std::uint64_t moved_miss = 0, moved_stale = 0;
    std::uint64_t errors = 0;  // error replies, but for those counted next
    // removed pool only: kPoolRemovedError replies, and when the earliest
    // batch so answered was written.
    std::uint64_t removal_errors = 0;
    Clock::time_point removal_error_sent{};
    std::uint64_t unanswered = 0;         // removed pool only: the last batch, written as the proxy closed
    Clock::time_point unanswered_sent{};  // ...when that batch was written
    bool closed = false;                  // the proxy closed the connection
    bool closed_idle = false;             // ...while no request was in flight
    std::string failure;                  // the first thing that went wrong
    std::vector<std::string> error_texts;  // distinct error replies (at most 8)
};

class PairClient {
public:
    explicit PairClient(PairOptions o) : o_(std::move(o)) {}
    ~PairClient() { stop(); }
    PairClient(const PairClient&) = delete;
    PairClient& operator=(const PairClient&) = delete;

    void start() { thread_ = std::thread([this] { run(); }); }
    void stop() {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    std::uint64_t batches() const { return batches_.load(); }
    bool finished() const { return finished_.load(); }
    const PairOptions& options() const { return o_; }
    // After stop().
    const PairResult& result() const { return r_; }

private:
    struct Pair {
        std::string key, value;
        bool moving;
        std::uint64_t seq;
    };
    struct Batch {
        std::vector<Pair> pairs;
        std::string bytes;
        Clock::time_point sent{};
    };

    void run();
    Batch make_batch(std::mt19937& rng);
    // One batch written and every reply checked; false once the client is done.
    bool exchange(Connection& conn, Batch& batch);
    // The proxy closed the connection after `got` replies of `batch`.
    void closed_during(const Batch& batch, std::size_t got, const std::string& how);
    // The pause between batches, spent watching the connection; false once done.
    bool watch_pause(Connection& conn);
    void finish(Connection& conn);
    void fail(std::string what);
    void note_error(const std::string& reply, Clock::time_point sent);
    // "" if the pair's replies fit it (see the file comment), else what is wrong.
    std::string check(const Pair& pair, const std::string& set_reply, const std::string& get_reply,
                      Clock::time_point sent);
    std::string check_value(const Pair& pair, bool set_failed, const std::string& get_reply);

    PairOptions o_;
    std::uint64_t seq_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> finished_{false};
    std::atomic<std::uint64_t> batches_{0};
    std::thread thread_;
    PairResult r_;
};

// One line: counts, how it ended, the first failure, the error texts.
std::string describe(const PairClient& c);

// Stops and joins every client on every way out of a test case (a thread
// still joinable at destruction would terminate the run).
struct StopAll {
    std::vector<std::unique_ptr<PairClient>>* clients;
    ~StopAll() {
        for (auto& c : *clients) c->stop();
    }
};

}  // namespace harness
