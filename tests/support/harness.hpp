// Integration-test harness: start real servers (memcached, redis-server,
// nutcracker, cachemux) on free loopback ports, talk to them over blocking
// sockets with bounded reads, and run external tools with a time limit.
//
// Everything here is bounded: every read and wait has a timeout, every child
// process is killed (SIGTERM, then SIGKILL) and reaped when its owner goes out
// of scope, each child runs in its own process group and dies with the test
// binary (PR_SET_PDEATHSIG).  When a test case fails (a failed assertion or an
// exception), the captured output of each process it started is printed to
// stderr as that process is stopped.
//
// Environment knobs (all optional):
//   CACHEMUX_TEST_NUTCRACKER  path of the nutcracker binary (/usr/sbin/nutcracker)
//   CACHEMUX_TEST_CACHEMUX    path of the cachemux binary (CACHEMUX_BINARY)
//   CACHEMUX_TEST_PLUGIN_DIR  plugin directory for cachemux (CACHEMUX_PLUGIN_BUILD_DIR)
//   CACHEMUX_TEST_VERBOSITY   -v level passed to both proxies (default: theirs)
//   CACHEMUX_TEST_KEEP_TMP    if set, keep the temporary directory for inspection
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

namespace harness {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

// Default bound for a single read or wait.
inline constexpr Millis kDefaultTimeout{5000};
// How long a server gets to start listening.
inline constexpr Millis kStartTimeout{10000};

// A sanitizer build (tests/run-sanitized): processes run several times
// slower, and the sanitizer's allocator keeps freed memory in quarantine
// instead of returning it. Checks of timing relations get this much more
// slack, and checks that memory goes back are skipped.
#if defined(CACHEMUX_SANITIZED) && CACHEMUX_SANITIZED
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif
inline constexpr int kSlackFactor = kSanitized ? 4 : 1;

// Thrown when a server fails to start, a read times out, a peer closes early.
class HarnessError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// ---------------------------------------------------------------- utilities

// A port on 127.0.0.1 that was free a moment ago (bound, then closed).  Picked
// below the kernel's ephemeral range when possible, so an outgoing connection
// of some other process is unlikely to grab it; never the same port twice in
// one run of the test binary.
int free_port();

// True if something accepts TCP connections on 127.0.0.1:port right now.
bool port_open(int port);

// `s` with non-printable bytes escaped (\r, \n, \xNN) and cut to `max` chars.
std::string escape(std::string_view s, std::size_t max = 400);

// Last `max` bytes of `s` (whole lines where possible), for failure messages.
std::string tail(std::string_view s, std::size_t max = 6000);

// The run's private temporary directory (created on first use, removed at
// exit unless CACHEMUX_TEST_KEEP_TMP is set).  make_temp_dir() makes a fresh
// subdirectory of it.
const std::string& temp_root();
std::string make_temp_dir(const std::string& hint);

void write_file(const std::string& path, std::string_view contents);
std::string read_file(const std::string& path);  // "" if missing

// Directory of the project sources and the tests' python helpers.
std::string source_dir();
// /usr/bin/python3 (the one Debian's python3-pymemcache/python3-redis serve).
std::string python3();

// ------------------------------------------------------------------ Process

struct ProcessOptions {
    std::string name;                      // for messages; default argv[0]'s basename
    std::vector<std::string> extra_logs;   // files appended to output() (e.g. -o log)
    std::vector<std::pair<std::string, std::string>> env;  // added to the environment
    std::string cwd;                       // empty: inherit
    std::string stdin_data;                // written to a file used as stdin (else /dev/null)
    // How long the destructor waits after SIGTERM before SIGKILL.  memcached
    // only notices SIGTERM on its next clock tick (up to 1 s), and its data is
    // throwaway, so MemcachedServer uses a short grace.
    Millis stop_grace{3000};
};

// A child process: fork/exec of argv (PATH searched), stdout+stderr captured to a
// file.  Non-copyable; stopping (SIGTERM to its group, SIGKILL after `grace`)
// and reaping happen in the destructor at the latest.
class Process {
public:
    explicit Process(std::vector<std::string> argv, ProcessOptions options = {});
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    pid_t pid() const { return pid_; }
    const std::string& name() const { return name_; }
    const std::vector<std::string>& argv() const { return argv_; }
    std::string command_line() const;

    // True while the child has not exited (does not reap it).
    bool running();
    // Waits up to `timeout` for the child to exit; returns its wait status
    // (see describe_status) or nullopt if it is still running.
    std::optional<int> wait_exit(Millis timeout);
    // The wait status once it has exited (and been reaped).
    std::optional<int> status() const { return status_; }
    // Exit code if it exited normally, -1 otherwise (or while running).
    int exit_code() const;

    void signal(int sig);  // to the process group
    // SIGTERM to the group, SIGKILL after `grace` (default: options' stop_grace),
    // reap.  Idempotent.
    void stop(std::optional<Millis> grace = std::nullopt);

    // Captured stdout+stderr followed by each extra log file.
    std::string output() const;
    const std::string& output_path() const { return output_path_; }
    // One paragraph for failure messages: name, pid, command, status, output tail.
    std::string describe() const;

    // Print describe() to stderr at stop time even if the test did not fail.
    void always_dump() { always_dump_ = true; }

private:
    void reap_if_exited(bool block);

    std::vector<std::string> argv_;
    ProcessOptions options_;
    std::string name_;
    std::string output_path_;
    pid_t pid_ = -1;
    std::optional<int> status_;
    bool stopped_ = false;
    bool always_dump_ = false;
    bool dumped_ = false;
};

std::string describe_status(int wait_status);

// Waits until 127.0.0.1:port accepts connections.  Throws HarnessError with
// the process's output if `process` exits first or the timeout passes.
void wait_for_port(int port, Millis timeout = kStartTimeout, Process* process = nullptr);

// ------------------------------------------------------------ run_command

struct CommandResult {
    std::vector<std::string> argv;
    int exit_code = -1;   // -1 when killed by a signal or timed out
    int term_signal = 0;  // signal that ended it, if any
    bool timed_out = false;
    std::string output;   // stdout and stderr, interleaved
    bool ok() const { return !timed_out && exit_code == 0; }
    std::string describe() const;
};

// Runs argv to completion, killing it after `timeout`.
CommandResult run_command(std::vector<std::string> argv, Millis timeout,
                          ProcessOptions options = {});

// SIGSTOP, then wait until /proc shows the process stopped: the signal reaches
// a multi-threaded server a moment after kill() returns, and a request sent
// in that moment would still be answered.
void freeze(Process& process);

// ------------------------------------------------------------------ servers

// memcached -p PORT -l 127.0.0.1 -U 0 -t 1 -m 64 [extra...]
class MemcachedServer {
public:
    explicit MemcachedServer(std::vector<std::string> extra_args = {});
    // A memcached on this very port (a restart where a dead one listened):
    // retried while the port is still in use, up to kStartTimeout.  Like
    // every server here, start it from the test's main thread: a child is
    // killed when the thread that started it exits (PR_SET_PDEATHSIG).
    static std::unique_ptr<MemcachedServer> on_port(int port, std::vector<std::string> extra_args = {});
    int port() const { return port_; }
    Process& process() { return *process_; }
    void stop() { process_->stop(); }

private:
    struct OnPort {};
    MemcachedServer(OnPort, int port, std::vector<std::string> extra_args);
    void start(const std::vector<std::string>& extra_args);

    int port_ = 0;
    std::unique_ptr<Process> process_;
};

// redis-server --port PORT --bind 127.0.0.1 --save '' --appendonly no --daemonize no
class RedisServer {
public:
    explicit RedisServer(std::vector<std::string> extra_args = {});
    // A redis-server on this very port (a restart where a dead one
    // listened), with a fresh, empty data directory: retried while the port
    // is still in use, up to kStartTimeout.
    static std::unique_ptr<RedisServer> on_port(int port, std::vector<std::string> extra_args = {});
    int port() const { return port_; }
    Process& process() { return *process_; }
    void stop() { process_->stop(); }

private:
    struct OnPort {};
    RedisServer(OnPort, int port, std::vector<std::string> extra_args);
    void start(const std::vector<std::string>& extra_args);

    int port_ = 0;
    std::string dir_;
    std::unique_ptr<Process> process_;
};

// n fresh memcached servers.
std::vector<std::unique_ptr<MemcachedServer>> start_memcached(std::size_t n);

// ------------------------------------------------------------ pool configs

struct ServerSpec {
    std::string host = "127.0.0.1";
    int port = 0;
    unsigned weight = 1;
    std::string name;  // optional node name
    std::string line() const;  // "host:port:weight[ name]"
};

struct PoolSpec {
    std::string name = "alpha";
    std::vector<ServerSpec> servers;
    // Extra keys written verbatim as "  key: value", in order; e.g.
    // {"hash", "md5"}, {"hash_tag", "\"{}\""}, {"distribution", "modula"}.
    std::vector<std::pair<std::string, std::string>> options;
    // Listen address; empty: 127.0.0.1:<free port> chosen when the proxy starts.
    std::string listen;
    int port = 0;  // the listen port, once chosen

    PoolSpec& set(const std::string& key, const std::string& value);
};

// Servers for the given backends, weights cycled from `weights`, with
// names "<name_prefix><i>" if name_prefix is non-empty.
std::vector<ServerSpec> server_specs(const std::vector<std::unique_ptr<MemcachedServer>>& servers,
                                     const std::vector<unsigned>& weights = {1},
                                     const std::string& name_prefix = "");

// The YAML text for these pools (listen ports must be chosen already).
std::string pools_yaml(const std::vector<PoolSpec>& pools);

// ------------------------------------------------------------------ proxies

enum class ProxyKind { Nutcracker, Cachemux };
const char* to_string(ProxyKind kind);
std::string nutcracker_binary();
std::string cachemux_binary();
std::string cachemux_plugin_dir();
// --workers for every cachemux the harness starts: CACHEMUX_TEST_WORKERS
// (ctest runs the integration suite at 1 and at 2), else 1. Tests whose
// expectations depend on it (connection counts, fd limits) ask here.
int cachemux_workers();

struct ProxyOptions {
    std::vector<std::string> extra_args;
    std::string plugin_dir;  // cachemux only; empty: cachemux_plugin_dir()
    Millis start_timeout = kStartTimeout;
    // YAML written before the pools, e.g. cachemux's "plugins:\n - /x.so\n".
    std::string config_preamble;
};

// nutcracker or cachemux running `pools` (listen ports chosen free unless
// given), started as BINARY -c CONF -s STATS_PORT -a 127.0.0.1 -o LOG
// [--plugin-dir DIR --workers N], and waited for until every pool listens.  A start that
// fails on a port already in use is retried on new ports.
class Proxy {
public:
    Proxy(ProxyKind kind, std::vector<PoolSpec> pools, ProxyOptions options = {});
    ProxyKind kind() const { return kind_; }
    int port(std::size_t pool = 0) const { return pools_.at(pool).port; }
    int stats_port() const { return stats_port_; }
    const std::vector<PoolSpec>& pools() const { return pools_; }
    const std::string& config_path() const { return config_path_; }
    std::string output() const { return process_->output(); }
    Process& process() { return *process_; }
    void stop() { process_->stop(); }

private:
    ProxyKind kind_;
    std::vector<PoolSpec> pools_;
    int stats_port_ = 0;
    std::string dir_;
    std::string config_path_;
    std::unique_ptr<Process> process_;
};

// Convenience: one pool.
inline Proxy start_proxy(ProxyKind kind, PoolSpec pool, ProxyOptions options = {}) {
    return Proxy(kind, std::vector<PoolSpec>{std::move(pool)}, std::move(options));
}

// Runs a proxy on a config file holding `yaml` with `args` (e.g. {"-t"}) and
// waits up to `timeout` for it to exit; `config_path` receives the file's path.
// -o LOG is added (and the log appended to the output); for cachemux also
// --plugin-dir.  A proxy still running at the timeout is killed (timed_out).
CommandResult run_proxy_once(ProxyKind kind, const std::string& yaml,
                             const std::vector<std::string>& args, Millis timeout,
                             std::string* config_path = nullptr,
                             const std::string& plugin_dir = "");

// ---------------------------------------------------------------- Connection

// A blocking TCP client to 127.0.0.1:port.  Reads keep whatever arrives past
// what they return for the next read.  Every read is bounded by a timeout and
// throws HarnessError (with what was received so far) on timeout or on EOF
// before the expected bytes.
class Connection {
public:
    explicit Connection(int port, Millis connect_timeout = kDefaultTimeout);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&& other) noexcept;

    int fd() const { return fd_; }
    int port() const { return port_; }

    // Writes everything (reading incoming bytes into the buffer meanwhile, so a
    // peer that answers while we still write never deadlocks us).
    void send_all(std::string_view bytes, Millis timeout = 30000ms);
    void shutdown_write();

    // Everything up to and including the first `terminator`.
    std::string read_until(std::string_view terminator, Millis timeout = kDefaultTimeout);
    // `complete(buffer)` returns the length of a complete message at the start
    // of the buffer, or 0 while incomplete; returns those bytes.
    std::string read_until(const std::function<std::size_t(std::string_view)>& complete,
                           Millis timeout = kDefaultTimeout);
    std::string read_exact(std::size_t n, Millis timeout = kDefaultTimeout);
    // send_all(bytes) then read_until(expected_end).
    std::string request(std::string_view bytes, std::string_view expected_end,
                        Millis timeout = kDefaultTimeout);

    // Whatever arrives within `wait` (plus anything already buffered); never throws
    // on timeout.  Sets closed() if the peer closed.
    std::string read_for(Millis wait);
    // Waits up to `timeout` for the peer to close; bytes that arrive meanwhile
    // are kept (see buffered()).  True if closed (EOF or reset).
    bool wait_closed(Millis timeout = kDefaultTimeout);
    bool closed() const { return eof_; }
    const std::string& buffered() const { return buf_; }

    // memcached ASCII: send `request`, read exactly one reply (see mc::reply_length).
    std::string mc(std::string_view request, Millis timeout = kDefaultTimeout);
    std::string read_mc_reply(Millis timeout = kDefaultTimeout);

private:
    // Reads once into buf_ (waiting until `deadline`); false on timeout.
    bool fill(Clock::time_point deadline);
    [[noreturn]] void fail(const std::string& what) const;

    int fd_ = -1;
    int port_ = 0;
    std::string buf_;
    bool eof_ = false;
};

// ----------------------------------------------------------- memcached ASCII

namespace mc {

// Length of the first complete reply at the start of `buf`, 0 if incomplete.
// A reply is one line, or VALUE blocks (sized by their byte count) up to
// "END\r\n", or STAT lines up to "END\r\n".
std::size_t reply_length(std::string_view buf);

std::string storage(std::string_view cmd, std::string_view key, std::string_view value,
                    unsigned flags = 0, long exptime = 0, bool noreply = false);
inline std::string set(std::string_view key, std::string_view value, unsigned flags = 0,
                       long exptime = 0, bool noreply = false) {
    return storage("set", key, value, flags, exptime, noreply);
}
std::string cas(std::string_view key, std::string_view value, std::uint64_t cas_unique,
                unsigned flags = 0, bool noreply = false);
std::string get(const std::vector<std::string>& keys, std::string_view cmd = "get");
// "VALUE key flags bytes\r\nvalue\r\n"
std::string value(std::string_view key, std::string_view data, unsigned flags = 0);

struct Item {
    std::string key;
    unsigned flags = 0;
    std::string data;
    std::optional<std::uint64_t> cas;
};
// Parses a retrieval reply ("VALUE ...\r\n...END\r\n"); throws HarnessError if malformed.
std::vector<Item> parse_values(std::string_view reply);

// Direct backend inspection.
bool holds(int port, std::string_view key);
// For each key, whether the server on `port` holds it (batched multi-gets,
// pipelined).
std::vector<bool> holds_many(int port, const std::vector<std::string>& keys);
// Which of `servers` holds each key (asked directly): its index, -1 if
// none does, -2 if several do.
std::vector<int> holders(const std::vector<std::unique_ptr<MemcachedServer>>& servers,
                         const std::vector<std::string>& keys);
std::optional<std::string> get_direct(int port, std::string_view key);
void flush_all(int port);
// Number of items (curr_items) the server on `port` holds.
std::uint64_t curr_items(int port);

}  // namespace mc

// --------------------------------------------------------------------- keys

struct KeyOptions {
    std::string prefix;        // prepended to every key (counts in the length)
    bool high_bytes = true;    // some keys carry bytes 0x80..0xfe
    bool hash_tags = false;    // many keys carry "{tag}" and brace edge cases
    std::string tag = "{}";    // the two hash_tag characters to write them with
    std::size_t min_len = 1;
    std::size_t max_len = 250;
};

// `n` distinct memcached-legal keys (no space or control byte), lengths spread
// over [min_len, max_len] including both ends, deterministic for a seed.
std::vector<std::string> make_keys(std::size_t n, std::uint32_t seed, const KeyOptions& options = {});

// Arbitrary bytes (including \r, \n, NUL, "END\r\n") of length n.
std::string make_value(std::size_t n, std::uint32_t seed);

// ------------------------------------------------------------ test fixtures

// `n` memcached backends behind one proxy pool.
struct ProxiedMemcached {
    ProxiedMemcached(ProxyKind kind, std::size_t n = 3, PoolSpec pool = {},
                     std::vector<std::string> memcached_args = {}, ProxyOptions options = {});
    int port() const { return proxy->port(); }
    std::vector<int> backend_ports() const;
    // Index of the backend holding `key` (asked directly), -1 if none, -2 if several.
    int backend_of(std::string_view key) const;

    std::vector<std::unique_ptr<MemcachedServer>> backends;
    std::unique_ptr<Proxy> proxy;
};

}  // namespace harness

// Two test cases running `fn(harness::ProxyKind)`: one against nutcracker
// (test suite "nutcracker") and one against cachemux (test suite "cachemux").
// Select with e.g. `integration -ts=cachemux` or `-tc='*[nutcracker]*'`.
#define HARNESS_PROXY_TEST(name, fn)                                                   \
    TEST_CASE(name " [nutcracker]" * doctest::test_suite("nutcracker")) {             \
        fn(harness::ProxyKind::Nutcracker);                                            \
    }                                                                                  \
    TEST_CASE(name " [cachemux]" * doctest::test_suite("cachemux")) {                 \
        fn(harness::ProxyKind::Cachemux);                                              \
    }
// A test case for cachemux's own behaviour (where it deliberately differs from nutcracker).
#define HARNESS_CACHEMUX_TEST(name) TEST_CASE(name " [cachemux]" * doctest::test_suite("cachemux"))

// ------------------------------------------------------------ redis (RESP)
//
// Helpers for the redis tests (tests/integration/redis_*_test.cpp): build
// RESP commands, read exactly one RESP2 reply (nested arrays included) with a
// bounded wait, talk to a redis-server directly.  Self-contained: nothing
// above depends on it.
namespace harness::resp {

// "*N\r\n$len\r\narg\r\n..." for the given arguments.
std::string command(const std::vector<std::string>& args);
template <class... A>
std::string cmd(const A&... args) {
    return command(std::vector<std::string>{std::string(args)...});
}

// Length of the first complete RESP2 reply (+ - : $ *, arrays nested to any
// depth, $-1 and *-1 included) at the start of `buf`; 0 while incomplete.
// Throws HarnessError if the first byte of a reply is not a RESP type byte.
std::size_t reply_length(std::string_view buf);

// Exactly one reply from `c` (bounded by `timeout`; throws HarnessError on
// timeout or close before a complete reply).
std::string read_reply(Connection& c, Millis timeout = kDefaultTimeout);
// `n` replies, concatenated (each bounded by `timeout`).
std::string read_replies(Connection& c, std::size_t n, Millis timeout = kDefaultTimeout);
// send_all(request) then read_reply().
std::string call(Connection& c, std::string_view request, Millis timeout = kDefaultTimeout);

// Straight to a redis-server: AUTH first when `password` is given, then
// FLUSHALL and SCRIPT FLUSH.  Throws HarnessError unless both answer +OK.
void flush_server(int port, const std::string& password = "");

// `<plugin dir>/redis.so`, the protocol plugin cachemux loads for `redis: true`.
std::string redis_plugin_path();
// For kind == Cachemux: REQUIREs that redis_plugin_path() exists, failing the
// test case with one clear message when it does not.  No-op for nutcracker.
void require_redis_plugin(ProxyKind kind);

// `n` redis-servers (started with `server_args`) named s1..sN behind one
// pool of `kind` (`redis: true`, fnv1a_64, ketama, plus `options`). With
// those names ketama puts "beta" on s1, "alpha" on s2, "apple" on s3
// (docs/redis-nutcracker-0.5.md).
struct ProxiedRedis {
    explicit ProxiedRedis(ProxyKind kind, std::size_t n = 3,
                          std::vector<std::pair<std::string, std::string>> options = {},
                          std::vector<std::string> server_args = {});
    int port() const { return proxy->port(); }
    std::vector<std::unique_ptr<RedisServer>> servers;
    std::unique_ptr<Proxy> proxy;
};

}  // namespace harness::resp
