// Integration-test harness: see harness.hpp.
#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

extern char** environ;

namespace harness {

namespace fs = std::filesystem;

// ------------------------------------------------------- failure tracking

namespace {

// Set when the running test case has a failed assertion or threw; a Process
// stopped while it is set prints its output.
std::atomic<bool> g_test_failed{false};

struct FailureListener : public doctest::IReporter {
    explicit FailureListener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { g_test_failed = false; }
    void test_case_reenter(const doctest::TestCaseData&) override { g_test_failed = false; }
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override { g_test_failed = true; }
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData& data) override {
        if (data.m_failed) g_test_failed = true;
    }
    void log_message(const doctest::MessageData& data) override {
        if (data.m_severity & (doctest::assertType::is_check | doctest::assertType::is_require))
            g_test_failed = true;
    }
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

// Broken pipes surface as EPIPE from send(), never as a signal.
const bool g_sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

}  // namespace

REGISTER_LISTENER("harness_failures", 1, FailureListener);

// ---------------------------------------------------------------- utilities

namespace {

std::mt19937& rng() {
    static std::mt19937 r(static_cast<unsigned>(getpid()) ^
                          static_cast<unsigned>(Clock::now().time_since_epoch().count()));
    return r;
}

bool try_bind(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::pair<int, int> ephemeral_range() {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    int lo = 32768, hi = 60999;
    if (in) in >> lo >> hi;
    return {lo, hi};
}

bool starts_with(std::string_view s, std::string_view p) {
    return s.size() >= p.size() && s.substr(0, p.size()) == p;
}

std::string getenv_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

// CACHEMUX_TEST_DEBUG=1: print process start/stop times to stderr.
void debug(const std::string& what) {
    static const bool on = std::getenv("CACHEMUX_TEST_DEBUG") != nullptr;
    if (!on) return;
    static const auto t0 = Clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count() / 1000.0;
    std::cerr << "[harness " << ms << " ms] " << what << "\n";
}

std::string basename_of(const std::string& path) {
    auto pos = path.rfind('/');
    return pos == std::string::npos ? path : path.substr(pos + 1);
}

}  // namespace

int free_port() {
    static std::mutex mu;
    static std::set<int> handed_out;
    std::lock_guard<std::mutex> lock(mu);

    auto [lo, hi] = ephemeral_range();
    (void)hi;
    // Below the ephemeral range: outgoing connections never pick these.
    if (lo > 21000) {
        std::uniform_int_distribution<int> pick(20000, lo - 1);
        for (int attempt = 0; attempt < 500; ++attempt) {
            int port = pick(rng());
            if (handed_out.count(port)) continue;
            if (try_bind(port)) {
                handed_out.insert(port);
                return port;
            }
        }
    }
    // Fallback: let the kernel choose.
    for (int attempt = 0; attempt < 100; ++attempt) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw HarnessError(std::string("socket: ") + std::strerror(errno));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = 0;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            int e = errno;
            ::close(fd);
            throw HarnessError(std::string("bind 127.0.0.1:0: ") + std::strerror(e));
        }
        ::close(fd);
        int port = ntohs(addr.sin_port);
        if (!handed_out.count(port)) {
            handed_out.insert(port);
            return port;
        }
    }
    throw HarnessError("free_port: no free port found");
}

bool port_open(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

std::string escape(std::string_view s, std::size_t max) {
    std::string out;
    out.reserve(std::min(s.size(), max) + 16);
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (out.size() >= max) {
            out += "...(" + std::to_string(s.size()) + " bytes)";
            break;
        }
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '\r': out += "\\r"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\\': out += "\\\\"; break;
            default:
                if (c < 0x20 || c >= 0x7f) {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "\\x%02x", c);
                    out += hex;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
}

std::string tail(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    std::size_t start = s.size() - max;
    auto nl = s.find('\n', start);
    if (nl != std::string_view::npos && nl + 1 < s.size()) start = nl + 1;
    return "[..." + std::to_string(start) + " bytes cut...]\n" + std::string(s.substr(start));
}

const std::string& temp_root() {
    static const std::string root = [] {
        std::string base = getenv_or("TMPDIR", "/tmp");
        std::string tmpl = base + "/cachemux-it-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        if (!::mkdtemp(buf.data()))
            throw HarnessError("mkdtemp " + tmpl + ": " + std::strerror(errno));
        std::string dir(buf.data());
        if (!std::getenv("CACHEMUX_TEST_KEEP_TMP")) {
            static std::string to_remove;
            to_remove = dir;
            std::atexit([] {
                std::error_code ec;
                fs::remove_all(to_remove, ec);
            });
        }
        return dir;
    }();
    return root;
}

std::string make_temp_dir(const std::string& hint) {
    static std::atomic<int> counter{0};
    std::string dir = temp_root() + "/" + std::to_string(++counter) + "-" + hint;
    fs::create_directories(dir);
    return dir;
}

void write_file(const std::string& path, std::string_view contents) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw HarnessError("cannot write " + path);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out) throw HarnessError("cannot write " + path);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string source_dir() {
#ifdef CACHEMUX_SOURCE_DIR
    return CACHEMUX_SOURCE_DIR;
#else
    return ".";
#endif
}

std::string python3() {
    return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

// ------------------------------------------------------------------ Process

std::string describe_status(int st) {
    if (WIFEXITED(st)) return "exited with status " + std::to_string(WEXITSTATUS(st));
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        return "killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
    }
    return "wait status " + std::to_string(st);
}

Process::Process(std::vector<std::string> argv, ProcessOptions options)
    : argv_(std::move(argv)), options_(std::move(options)) {
    if (argv_.empty()) throw HarnessError("Process: empty argv");
    name_ = options_.name.empty() ? basename_of(argv_[0]) : options_.name;
    std::string dir = make_temp_dir("proc-" + name_);
    output_path_ = dir + "/output.txt";

    int out_fd = ::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) throw HarnessError("open " + output_path_ + ": " + std::strerror(errno));
    std::string in_path = "/dev/null";
    if (!options_.stdin_data.empty()) {
        in_path = dir + "/stdin.txt";
        write_file(in_path, options_.stdin_data);
    }
    int in_fd = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) {
        ::close(out_fd);
        throw HarnessError("open " + in_path + ": " + std::strerror(errno));
    }

    // Everything the child needs, prepared before fork().
    std::vector<char*> cargv;
    for (auto& a : argv_) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        bool overridden = false;
        for (auto& [k, v] : options_.env)
            if (starts_with(kv, k + "=")) overridden = true;
        if (!overridden) env_strings.emplace_back(kv);
    }
    for (auto& [k, v] : options_.env) env_strings.push_back(k + "=" + v);
    std::vector<char*> cenv;
    for (auto& s : env_strings) cenv.push_back(s.data());
    cenv.push_back(nullptr);
    const char* cwd = options_.cwd.empty() ? nullptr : options_.cwd.c_str();
    pid_t parent = ::getpid();

    // Signals stay blocked across fork() until the child has dropped the test
    // binary's handlers (doctest's crash reporter, say): a SIGTERM that comes
    // before exec then kills the child plainly instead of running test code.
    sigset_t all, old_mask;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old_mask);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        int e = errno;
        ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
        ::close(out_fd);
        ::close(in_fd);
        throw HarnessError(std::string("fork: ") + std::strerror(e));
    }
    if (pid == 0) {
        // Child: default handlers, own process group, dies with the test binary.
        for (int sig = 1; sig < NSIG; ++sig)
            if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(126);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::dup2(in_fd, 0);
        ::dup2(out_fd, 1);
        ::dup2(out_fd, 2);
        if (cwd && ::chdir(cwd) != 0) {
            const char msg[] = "harness: chdir failed\n";
            [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
            ::_exit(127);
        }
        ::execvpe(cargv[0], cargv.data(), cenv.data());
        const char* err = std::strerror(errno);
        const char msg[] = "harness: exec failed: ";
        [[maybe_unused]] auto n1 = ::write(2, msg, sizeof msg - 1);
        [[maybe_unused]] auto n2 = ::write(2, cargv[0], std::strlen(cargv[0]));
        [[maybe_unused]] auto n3 = ::write(2, ": ", 2);
        [[maybe_unused]] auto n4 = ::write(2, err, std::strlen(err));
        [[maybe_unused]] auto n5 = ::write(2, "\n", 1);
        ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here, so a signal to the group never races the child
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    ::close(out_fd);
    ::close(in_fd);
    pid_ = pid;
    debug("started " + name_ + " pid " + std::to_string(pid));
}

Process::~Process() {
    try {
        stop();
    } catch (...) {
    }
}

std::string Process::command_line() const {
    std::string s;
    for (auto& a : argv_) {
        if (!s.empty()) s += ' ';
        bool plain = !a.empty() && a.find_first_of(" \t'\"\\$") == std::string::npos;
        s += plain ? a : "'" + a + "'";
    }
    return s;
}

void Process::reap_if_exited(bool block) {
    if (status_ || pid_ <= 0) return;
    siginfo_t info{};
    int flags = WEXITED | WNOWAIT | (block ? 0 : WNOHANG);
    int r;
    do {
        r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, flags);
    } while (r < 0 && errno == EINTR);
    if (r < 0 || info.si_pid == 0) return;
    // The leader has exited; the group is still reserved by the zombie, so
    // this reaches only its own leftovers.
    ::kill(-pid_, SIGKILL);
    int st = 0;
    pid_t w;
    do {
        w = ::waitpid(pid_, &st, 0);
    } while (w < 0 && errno == EINTR);
    if (w == pid_) status_ = st;
}

bool Process::running() {
    reap_if_exited(false);
    return !status_;
}

std::optional<int> Process::wait_exit(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    auto step = 1ms;
    for (;;) {
        reap_if_exited(false);
        if (status_) return status_;
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(step);
        step = std::min<Millis>(step * 2, 20ms);
    }
}

int Process::exit_code() const {
    if (status_ && WIFEXITED(*status_)) return WEXITSTATUS(*status_);
    return -1;
}

void Process::signal(int sig) {
    if (pid_ > 0 && !status_) ::kill(-pid_, sig);
}

void Process::stop(std::optional<Millis> grace) {
    if (pid_ > 0 && !status_) {
        ::kill(-pid_, SIGTERM);
        if (!wait_exit(grace.value_or(options_.stop_grace))) {
            ::kill(-pid_, SIGKILL);
            reap_if_exited(true);
        }
    }
    if (!stopped_) debug("stopped " + name_ + ": " + (status_ ? describe_status(*status_) : "?"));
    stopped_ = true;
    bool failing = g_test_failed.load() || std::uncaught_exceptions() > 0;
    if ((failing || always_dump_) && !dumped_) {
        dumped_ = true;
        std::cerr << "\n==== " << describe() << "==== end of " << name_ << " ====\n";
        std::cerr.flush();
    }
}

std::string Process::output() const {
    std::string out = read_file(output_path_);
    for (auto& log : options_.extra_logs) {
        std::string text = read_file(log);
        out += "\n--- " + log + " ---\n";
        out += text;
    }
    return out;
}

std::string Process::describe() const {
    std::string s = name_ + " (pid " + std::to_string(pid_) + ")\n  command: " + command_line() +
                    "\n  state: " + (status_ ? describe_status(*status_) : std::string("running")) +
                    "\n  output:\n";
    s += tail(output());
    if (s.back() != '\n') s += '\n';
    return s;
}

// Waits for every port to listen.  True when they do; false when the process
// exited complaining that an address was in use (the caller retries on new
// ports); throws on any other exit or on timeout.
static bool await_listening(Process& p, const std::vector<int>& ports, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    auto step = 2ms;
    for (;;) {
        bool all = true;
        for (int port : ports)
            if (!port_open(port)) {
                all = false;
                break;
            }
        if (all) {
            debug(p.name() + " listens");
            // Guard against someone else owning the port: ours must still run.
            std::this_thread::sleep_for(10ms);
            if (p.running()) return true;
        }
        if (!p.running()) {
            std::string out = p.output();
            if (out.find("in use") != std::string::npos ||
                out.find("EADDRINUSE") != std::string::npos)
                return false;
            throw HarnessError(p.name() + " exited before listening: " + p.describe());
        }
        if (Clock::now() >= deadline) {
            std::string list;
            for (int port : ports) list += " " + std::to_string(port);
            throw HarnessError(p.name() + " not listening on 127.0.0.1 port(s)" + list + " after " +
                               std::to_string(timeout.count()) + " ms: " + p.describe());
        }
        std::this_thread::sleep_for(step);
        step = std::min<Millis>(step * 2, 25ms);
    }
}

void wait_for_port(int port, Millis timeout, Process* process) {
    if (process) {
        if (!await_listening(*process, {port}, timeout))
            throw HarnessError(process->name() + " could not bind port " + std::to_string(port) +
                               ": " + process->describe());
        return;
    }
    auto deadline = Clock::now() + timeout;
    while (!port_open(port)) {
        if (Clock::now() >= deadline)
            throw HarnessError("nothing listens on 127.0.0.1:" + std::to_string(port) + " after " +
                               std::to_string(timeout.count()) + " ms");
        std::this_thread::sleep_for(10ms);
    }
}

// ------------------------------------------------------------ run_command

std::string CommandResult::describe() const {
    std::string cmd;
    for (auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    std::string state = timed_out ? "timed out (killed)"
                        : term_signal ? "killed by signal " + std::to_string(term_signal)
                                      : "exit code " + std::to_string(exit_code);
    return "command: " + cmd + "\n  " + state + "\n  output:\n" + tail(output);
}

CommandResult run_command(std::vector<std::string> argv, Millis timeout, ProcessOptions options) {
    CommandResult result;
    result.argv = argv;
    Process p(std::move(argv), std::move(options));
    auto st = p.wait_exit(timeout);
    if (!st) {
        result.timed_out = true;
        p.stop(1000ms);
        st = p.status();
    }
    if (st) {
        if (WIFEXITED(*st) && !result.timed_out) result.exit_code = WEXITSTATUS(*st);
        if (WIFSIGNALED(*st)) result.term_signal = WTERMSIG(*st);
    }
    result.output = p.output();
    return result;
}

// ------------------------------------------------------------------ servers

namespace {
constexpr int kStartAttempts = 6;

ProcessOptions named(std::string name, std::vector<std::string> logs = {}) {
    ProcessOptions o;
    o.name = std::move(name);
    o.extra_logs = std::move(logs);
    return o;
}
}  // namespace

MemcachedServer::MemcachedServer(std::vector<std::string> extra_args) {
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
        port_ = free_port();
        start(extra_args);
        if (await_listening(*process_, {port_}, kStartTimeout)) return;
    }
    throw HarnessError("memcached: no free port after retries: " + process_->describe());
}

// Runs `start` until its process listens on `port`, which a server just
// killed there may still hold for a moment; up to kStartTimeout.
static void start_on_fixed_port(const std::string& what, int port, const std::function<void()>& start,
                                std::unique_ptr<Process>& process) {
    auto deadline = Clock::now() + kStartTimeout;
    for (;;) {
        start();
        if (await_listening(*process, {port}, kStartTimeout)) return;
        if (Clock::now() >= deadline)
            throw HarnessError(what + ": port " + std::to_string(port) + " still in use: " + process->describe());
        std::this_thread::sleep_for(50ms);
    }
}

MemcachedServer::MemcachedServer(OnPort, int port, std::vector<std::string> extra_args) : port_(port) {
    start_on_fixed_port("memcached", port_, [&] { start(extra_args); }, process_);
}

std::unique_ptr<MemcachedServer> MemcachedServer::on_port(int port, std::vector<std::string> extra_args) {
    return std::unique_ptr<MemcachedServer>(new MemcachedServer(OnPort{}, port, std::move(extra_args)));
}

void MemcachedServer::start(const std::vector<std::string>& extra_args) {
    std::vector<std::string> argv = {"memcached", "-p", std::to_string(port_), "-l",
                                     "127.0.0.1", "-U", "0", "-t", "1", "-m", "64"};
    if (::geteuid() == 0) {  // memcached refuses to run as root without -u
        argv.push_back("-u");
        argv.push_back("root");
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto opts = named("memcached:" + std::to_string(port_));
    opts.stop_grace = 20ms;
    process_.reset();  // a failed attempt is reaped before the next one starts
    process_ = std::make_unique<Process>(argv, opts);
}

RedisServer::RedisServer(std::vector<std::string> extra_args) {
    dir_ = make_temp_dir("redis");
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
        port_ = free_port();
        start(extra_args);
        if (await_listening(*process_, {port_}, kStartTimeout)) return;
    }
    throw HarnessError("redis-server: no free port after retries: " + process_->describe());
}

RedisServer::RedisServer(OnPort, int port, std::vector<std::string> extra_args) : port_(port) {
    dir_ = make_temp_dir("redis");
    start_on_fixed_port("redis-server", port_, [&] { start(extra_args); }, process_);
}

std::unique_ptr<RedisServer> RedisServer::on_port(int port, std::vector<std::string> extra_args) {
    return std::unique_ptr<RedisServer>(new RedisServer(OnPort{}, port, std::move(extra_args)));
}

void RedisServer::start(const std::vector<std::string>& extra_args) {
    std::vector<std::string> argv = {"redis-server", "--port",     std::to_string(port_),
                                     "--bind",       "127.0.0.1",  "--save",
                                     "",             "--appendonly", "no",
                                     "--daemonize",  "no",         "--dir",
                                     dir_};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    process_.reset();
    process_ = std::make_unique<Process>(argv, named("redis-server:" + std::to_string(port_)));
}

std::vector<std::unique_ptr<MemcachedServer>> start_memcached(std::size_t n) {
    std::vector<std::unique_ptr<MemcachedServer>> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(std::make_unique<MemcachedServer>());
    return v;
}

// ------------------------------------------------------------ pool configs

std::string ServerSpec::line() const {
    std::string s = host + ":" + std::to_string(port) + ":" + std::to_string(weight);
    if (!name.empty()) s += " " + name;
    return s;
}

PoolSpec& PoolSpec::set(const std::string& key, const std::string& value) {
    for (auto& kv : options)
        if (kv.first == key) {
            kv.second = value;
            return *this;
        }
    options.emplace_back(key, value);
    return *this;
}

std::vector<ServerSpec> server_specs(const std::vector<std::unique_ptr<MemcachedServer>>& servers,
                                     const std::vector<unsigned>& weights,
                                     const std::string& name_prefix) {
    std::vector<ServerSpec> v;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        ServerSpec s;
        s.port = servers[i]->port();
        s.weight = weights.empty() ? 1 : weights[i % weights.size()];
        if (!name_prefix.empty()) s.name = name_prefix + std::to_string(i + 1);
        v.push_back(s);
    }
    return v;
}

std::string pools_yaml(const std::vector<PoolSpec>& pools) {
    std::string y;
    for (auto& p : pools) {
        y += p.name + ":\n";
        y += "  listen: " + (p.listen.empty() ? "127.0.0.1:" + std::to_string(p.port) : p.listen) + "\n";
        for (auto& [k, v] : p.options) y += "  " + k + ": " + v + "\n";
        y += "  servers:\n";
        for (auto& s : p.servers) y += "   - " + s.line() + "\n";
        y += "\n";
    }
    return y;
}

// ------------------------------------------------------------------ proxies

const char* to_string(ProxyKind kind) {
    return kind == ProxyKind::Nutcracker ? "nutcracker" : "cachemux";
}

std::string nutcracker_binary() { return getenv_or("CACHEMUX_TEST_NUTCRACKER", "/usr/sbin/nutcracker"); }

std::string cachemux_binary() {
#ifdef CACHEMUX_BINARY
    return getenv_or("CACHEMUX_TEST_CACHEMUX", CACHEMUX_BINARY);
#else
    return getenv_or("CACHEMUX_TEST_CACHEMUX", "cachemux");
#endif
}

std::string cachemux_plugin_dir() {
#ifdef CACHEMUX_PLUGIN_BUILD_DIR
    return getenv_or("CACHEMUX_TEST_PLUGIN_DIR", CACHEMUX_PLUGIN_BUILD_DIR);
#else
    return getenv_or("CACHEMUX_TEST_PLUGIN_DIR", "");
#endif
}

int cachemux_workers() {
    static const int workers = [] {
        int n = std::atoi(getenv_or("CACHEMUX_TEST_WORKERS", "1").c_str());
        return n >= 1 ? n : 1;
    }();
    return workers;
}

namespace {

std::vector<std::string> proxy_argv(ProxyKind kind, const std::string& conf, const std::string& log,
                                    int stats_port, const std::string& plugin_dir) {
    std::vector<std::string> argv = {
        kind == ProxyKind::Nutcracker ? nutcracker_binary() : cachemux_binary(),
        "-c", conf, "-s", std::to_string(stats_port), "-a", "127.0.0.1", "-o", log};
    if (const char* v = std::getenv("CACHEMUX_TEST_VERBOSITY"); v && *v) {
        argv.push_back("-v");
        argv.push_back(v);
    }
    if (kind == ProxyKind::Cachemux) {
        argv.push_back("--plugin-dir");
        argv.push_back(plugin_dir.empty() ? cachemux_plugin_dir() : plugin_dir);
        argv.push_back("--workers");
        argv.push_back(std::to_string(cachemux_workers()));
    }
    return argv;
}

int listen_port_of(const std::string& listen) {
    // "host:port" or "/path/to/socket [perm]"
    if (listen.empty() || listen[0] == '/') return 0;
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return 0;
    int port = 0;
    auto s = std::string_view(listen).substr(colon + 1);
    std::from_chars(s.data(), s.data() + s.size(), port);
    return port;
}

}  // namespace

Proxy::Proxy(ProxyKind kind, std::vector<PoolSpec> pools, ProxyOptions options)
    : kind_(kind), pools_(std::move(pools)) {
    dir_ = make_temp_dir(to_string(kind));
    config_path_ = dir_ + "/" + to_string(kind) + ".yml";
    std::string log = dir_ + "/" + to_string(kind) + ".log";
    for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
        std::vector<int> ports;
        for (auto& p : pools_) {
            p.port = p.listen.empty() ? free_port() : listen_port_of(p.listen);
            if (p.port) ports.push_back(p.port);
        }
        stats_port_ = free_port();
        write_file(config_path_, options.config_preamble + pools_yaml(pools_));
        write_file(log, "");
        auto argv = proxy_argv(kind, config_path_, log, stats_port_, options.plugin_dir);
        argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
        process_ = std::make_unique<Process>(
            argv, named(to_string(kind), {log}));
        if (await_listening(*process_, ports, options.start_timeout)) return;
    }
    throw HarnessError(std::string(to_string(kind)) + ": no free ports after retries: " +
                       process_->describe());
}

CommandResult run_proxy_once(ProxyKind kind, const std::string& yaml,
                             const std::vector<std::string>& args, Millis timeout,
                             std::string* config_path, const std::string& plugin_dir) {
    std::string dir = make_temp_dir(std::string(to_string(kind)) + "-once");
    std::string conf = dir + "/" + to_string(kind) + ".yml";
    std::string log = dir + "/" + to_string(kind) + ".log";
    write_file(conf, yaml);
    if (config_path) *config_path = conf;
    auto argv = proxy_argv(kind, conf, log, free_port(), plugin_dir);
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, timeout, named(to_string(kind), {log}));
}

// ---------------------------------------------------------------- Connection

Connection::Connection(int port, Millis connect_timeout) : port_(port) {
    auto deadline = Clock::now() + connect_timeout;
    for (;;) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) throw HarnessError(std::string("socket: ") + std::strerror(errno));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) break;
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        if (Clock::now() >= deadline)
            throw HarnessError("connect 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(e));
        std::this_thread::sleep_for(10ms);
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Connection::Connection(Connection&& o) noexcept
    : fd_(o.fd_), port_(o.port_), buf_(std::move(o.buf_)), eof_(o.eof_) {
    o.fd_ = -1;
}

Connection::~Connection() {
    if (fd_ >= 0) ::close(fd_);
}

void Connection::fail(const std::string& what) const {
    throw HarnessError("127.0.0.1:" + std::to_string(port_) + ": " + what +
                       "; received and unread: \"" + escape(buf_, 600) + "\"");
}

bool Connection::fill(Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
        if (left < 0) left = 0;
        pollfd pfd{fd_, POLLIN, 0};
        int r = ::poll(&pfd, 1, static_cast<int>(left));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return false;
        char tmp[65536];
        ssize_t n = ::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT);
        if (n > 0) {
            buf_.append(tmp, static_cast<std::size_t>(n));
            return true;
        }
        if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
            eof_ = true;
            return true;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
        fail(std::string("recv: ") + std::strerror(errno));
    }
}

void Connection::send_all(std::string_view bytes, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    std::size_t off = 0;
    while (off < bytes.size()) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
        if (left <= 0)
            fail("timed out sending (" + std::to_string(off) + " of " + std::to_string(bytes.size()) +
                 " bytes sent)");
        pollfd pfd{fd_, static_cast<short>(POLLOUT | (eof_ ? 0 : POLLIN)), 0};
        int r = ::poll(&pfd, 1, static_cast<int>(left));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        if ((pfd.revents & POLLIN) && !eof_) {
            char tmp[65536];
            ssize_t n = ::recv(fd_, tmp, sizeof tmp, MSG_DONTWAIT);
            if (n > 0) buf_.append(tmp, static_cast<std::size_t>(n));
            else if (n == 0) eof_ = true;
        }
        if (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) off += static_cast<std::size_t>(n);
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                fail("send after " + std::to_string(off) + " of " + std::to_string(bytes.size()) +
                     " bytes: " + std::strerror(errno));
        }
    }
}

void Connection::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

std::string Connection::read_until(std::string_view terminator, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    std::size_t from = 0;
    for (;;) {
        auto pos = buf_.find(terminator, from);
        if (pos != std::string::npos) {
            std::string out = buf_.substr(0, pos + terminator.size());
            buf_.erase(0, pos + terminator.size());
            return out;
        }
        from = buf_.size() >= terminator.size() ? buf_.size() - terminator.size() + 1 : 0;
        if (eof_) fail("connection closed while waiting for \"" + escape(terminator) + "\"");
        if (!fill(deadline))
            fail("timed out after " + std::to_string(timeout.count()) + " ms waiting for \"" +
                 escape(terminator) + "\"");
    }
}

std::string Connection::read_until(const std::function<std::size_t(std::string_view)>& complete,
                                   Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        std::size_t n = complete(buf_);
        if (n > 0) {
            std::string out = buf_.substr(0, n);
            buf_.erase(0, n);
            return out;
        }
        if (eof_) fail("connection closed before a complete reply");
        if (!fill(deadline))
            fail("timed out after " + std::to_string(timeout.count()) + " ms waiting for a complete reply");
    }
}

std::string Connection::read_exact(std::size_t n, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    while (buf_.size() < n) {
        if (eof_)
            fail("connection closed after " + std::to_string(buf_.size()) + " of " + std::to_string(n) +
                 " bytes");
        if (!fill(deadline))
            fail("timed out after " + std::to_string(timeout.count()) + " ms: got " +
                 std::to_string(buf_.size()) + " of " + std::to_string(n) + " bytes");
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
}

std::string Connection::request(std::string_view bytes, std::string_view expected_end, Millis timeout) {
    send_all(bytes);
    return read_until(expected_end, timeout);
}

std::string Connection::read_for(Millis wait) {
    auto deadline = Clock::now() + wait;
    while (!eof_ && Clock::now() < deadline)
        if (!fill(deadline)) break;
    std::string out = std::move(buf_);
    buf_.clear();
    return out;
}

bool Connection::wait_closed(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    while (!eof_)
        if (!fill(deadline)) return false;
    return true;
}

std::string Connection::read_mc_reply(Millis timeout) {
    return read_until([](std::string_view b) { return mc::reply_length(b); }, timeout);
}

std::string Connection::mc(std::string_view request, Millis timeout) {
    send_all(request);
    return read_mc_reply(timeout);
}

// ----------------------------------------------------------- memcached ASCII

namespace mc {

namespace {

std::vector<std::string_view> split_spaces(std::string_view line) {
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ') ++j;
        if (j > i) parts.push_back(line.substr(i, j - i));
        i = j;
    }
    return parts;
}

template <class T>
bool parse_num(std::string_view s, T& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::size_t reply_length(std::string_view b) {
    auto eol = b.find("\r\n");
    if (eol == std::string_view::npos) return 0;
    std::string_view first = b.substr(0, eol);
    if (starts_with(first, "STAT ")) {
        std::size_t pos = 0;
        for (;;) {
            auto e = b.find("\r\n", pos);
            if (e == std::string_view::npos) return 0;
            std::string_view line = b.substr(pos, e - pos);
            pos = e + 2;
            if (!starts_with(line, "STAT ")) return pos;  // END or anything else ends it
        }
    }
    if (!starts_with(first, "VALUE ")) return eol + 2;
    std::size_t pos = 0;
    for (;;) {
        auto e = b.find("\r\n", pos);
        if (e == std::string_view::npos) return 0;
        std::string_view line = b.substr(pos, e - pos);
        if (!starts_with(line, "VALUE ")) return e + 2;  // END (or an error line) ends it
        auto parts = split_spaces(line);
        std::size_t bytes = 0;
        if (parts.size() < 4 || !parse_num(parts[3], bytes)) return e + 2;  // malformed: stop here
        std::size_t next = e + 2 + bytes + 2;
        if (b.size() < next) return 0;
        pos = next;
    }
}

std::string storage(std::string_view cmd, std::string_view key, std::string_view value, unsigned flags,
                    long exptime, bool noreply) {
    std::string s;
    s.reserve(cmd.size() + key.size() + value.size() + 48);
    s.append(cmd).append(" ").append(key);
    s += " " + std::to_string(flags) + " " + std::to_string(exptime) + " " + std::to_string(value.size());
    if (noreply) s += " noreply";
    s += "\r\n";
    s.append(value);
    s += "\r\n";
    return s;
}

std::string cas(std::string_view key, std::string_view value, std::uint64_t cas_unique, unsigned flags,
                bool noreply) {
    std::string s = "cas ";
    s.append(key);
    s += " " + std::to_string(flags) + " 0 " + std::to_string(value.size()) + " " + std::to_string(cas_unique);
    if (noreply) s += " noreply";
    s += "\r\n";
    s.append(value);
    s += "\r\n";
    return s;
}

std::string get(const std::vector<std::string>& keys, std::string_view cmd) {
    std::string s(cmd);
    for (auto& k : keys) s += " " + k;
    s += "\r\n";
    return s;
}

std::string value(std::string_view key, std::string_view data, unsigned flags) {
    std::string s = "VALUE ";
    s.append(key);
    s += " " + std::to_string(flags) + " " + std::to_string(data.size()) + "\r\n";
    s.append(data);
    s += "\r\n";
    return s;
}

std::vector<Item> parse_values(std::string_view reply) {
    std::vector<Item> items;
    std::size_t pos = 0;
    for (;;) {
        auto e = reply.find("\r\n", pos);
        if (e == std::string_view::npos)
            throw HarnessError("retrieval reply without END: \"" + escape(reply) + "\"");
        std::string_view line = reply.substr(pos, e - pos);
        if (line == "END") {
            if (e + 2 != reply.size())
                throw HarnessError("bytes after END: \"" + escape(reply.substr(e + 2)) + "\"");
            return items;
        }
        auto parts = split_spaces(line);
        Item it;
        std::size_t bytes = 0;
        if (parts.size() < 4 || parts.size() > 5 || parts[0] != "VALUE" || !parse_num(parts[2], it.flags) ||
            !parse_num(parts[3], bytes))
            throw HarnessError("bad VALUE line \"" + escape(line) + "\" in \"" + escape(reply) + "\"");
        if (parts.size() == 5) {
            std::uint64_t c = 0;
            if (!parse_num(parts[4], c)) throw HarnessError("bad cas in \"" + escape(line) + "\"");
            it.cas = c;
        }
        it.key = std::string(parts[1]);
        std::size_t data_at = e + 2;
        if (reply.size() < data_at + bytes + 2 || reply.substr(data_at + bytes, 2) != "\r\n")
            throw HarnessError("bad data block after \"" + escape(line) + "\"");
        it.data = std::string(reply.substr(data_at, bytes));
        items.push_back(std::move(it));
        pos = data_at + bytes + 2;
    }
}

bool holds(int port, std::string_view key) {
    Connection c(port);
    std::string reply = c.mc("get " + std::string(key) + "\r\n");
    if (reply == "END\r\n") return false;
    auto items = parse_values(reply);
    return items.size() == 1 && items[0].key == key;
}

std::vector<int> holders(const std::vector<std::unique_ptr<MemcachedServer>>& servers,
                         const std::vector<std::string>& keys) {
    std::vector<int> where(keys.size(), -1);
    for (std::size_t b = 0; b < servers.size(); ++b) {
        auto held = holds_many(servers[b]->port(), keys);
        for (std::size_t i = 0; i < keys.size(); ++i)
            if (held[i]) where[i] = where[i] == -1 ? static_cast<int>(b) : -2;
    }
    return where;
}

std::vector<bool> holds_many(int port, const std::vector<std::string>& keys) {
    std::vector<bool> result(keys.size(), false);
    std::unordered_map<std::string_view, std::size_t> index;
    for (std::size_t i = 0; i < keys.size(); ++i) index.emplace(keys[i], i);

    std::string batch;
    std::size_t requests = 0;
    std::string line;
    for (auto& k : keys) {
        if (!line.empty() && line.size() + k.size() + 1 > 3000) {
            batch += line + "\r\n";
            ++requests;
            line.clear();
        }
        if (line.empty()) line = "get";
        line += " " + k;
    }
    if (!line.empty()) {
        batch += line + "\r\n";
        ++requests;
    }
    Connection c(port);
    c.send_all(batch);
    for (std::size_t r = 0; r < requests; ++r) {
        std::string reply = c.read_mc_reply(30000ms);
        for (auto& it : parse_values(reply)) {
            auto f = index.find(it.key);
            if (f == index.end())
                throw HarnessError("server on port " + std::to_string(port) + " returned unasked key \"" +
                                   escape(it.key) + "\"");
            result[f->second] = true;
        }
    }
    return result;
}

std::optional<std::string> get_direct(int port, std::string_view key) {
    Connection c(port);
    auto items = parse_values(c.mc("get " + std::string(key) + "\r\n"));
    if (items.empty()) return std::nullopt;
    return items[0].data;
}

void flush_all(int port) {
    Connection c(port);
    std::string r = c.mc("flush_all\r\n");
    if (r != "OK\r\n") throw HarnessError("flush_all on " + std::to_string(port) + ": \"" + escape(r) + "\"");
}

std::uint64_t curr_items(int port) {
    Connection c(port);
    std::string r = c.mc("stats\r\n");
    auto pos = r.find("STAT curr_items ");
    if (pos == std::string::npos) throw HarnessError("no curr_items in stats: " + escape(r));
    pos += std::strlen("STAT curr_items ");
    auto e = r.find("\r\n", pos);
    std::uint64_t n = 0;
    parse_num(std::string_view(r).substr(pos, e - pos), n);
    return n;
}

}  // namespace mc

// --------------------------------------------------------------------- keys

std::vector<std::string> make_keys(std::size_t n, std::uint32_t seed, const KeyOptions& o) {
    std::mt19937 r(seed);
    auto uni = [&](std::size_t lo, std::size_t hi) {
        return std::uniform_int_distribution<std::size_t>(lo, hi)(r);
    };
    std::size_t min_len = std::max<std::size_t>(o.min_len, o.prefix.size() + 1);
    std::size_t max_len = std::max(min_len, std::min<std::size_t>(o.max_len, 250));

    auto random_char = [&]() -> char {
        if (o.high_bytes && uni(0, 19) == 0) return static_cast<char>(uni(0x80, 0xfe));
        return static_cast<char>(uni(0x21, 0x7e));
    };
    static const char* const kTags[] = {"user", "a", "42", "session:7", "x{y", "cart", "{", "zz top",
                                        "\xc3\xa9t\xc3\xa9", "k"};

    std::set<std::string> seen;
    std::vector<std::string> keys;
    keys.reserve(n);
    std::size_t guard = 0;
    while (keys.size() < n && guard++ < n * 50 + 1000) {
        std::size_t len;
        std::size_t i = keys.size();
        if (i == 0) len = max_len;            // both ends of the range
        else if (i == 1) len = min_len;
        else {
            switch (uni(0, 9)) {
                case 0: case 1: case 2: case 3: len = uni(min_len, std::min<std::size_t>(16, max_len)); break;
                case 4: case 5: case 6: len = uni(min_len, std::min<std::size_t>(64, max_len)); break;
                case 7: case 8: len = uni(min_len, std::min<std::size_t>(200, max_len)); break;
                default: len = uni(std::max<std::size_t>(min_len, std::min<std::size_t>(201, max_len)), max_len);
            }
        }
        std::string k = o.prefix;
        while (k.size() < len) k += random_char();
        if (o.hash_tags && uni(0, 1) == 0) {
            std::string insert;
            switch (uni(0, 7)) {
                case 0: case 1: case 2: {
                    std::string tag = kTags[uni(0, 9)];
                    for (auto& ch : tag) if (ch == ' ') ch = '_';
                    insert = "{" + tag + "}";
                    break;
                }
                case 3: insert = "{}"; break;
                case 4: insert = "}{" + std::string(1, random_char()) + "}"; break;
                case 5: insert = "{" + std::string(1, random_char()) + random_char(); break;  // unterminated
                case 6: insert = "{a}{b}"; break;
                default: insert = "{" + std::string(kTags[uni(0, 9)]).substr(0, 1) + "}"; break;
            }
            for (auto& ch : insert) {
                if (ch == ' ') ch = '_';
                else if (ch == '{') ch = o.tag[0];
                else if (ch == '}') ch = o.tag[1];
            }
            std::size_t room = max_len >= o.prefix.size() ? max_len - o.prefix.size() : 0;
            if (insert.size() <= room) {
                std::size_t at = uni(o.prefix.size(), k.size());
                k.insert(at, insert);
                if (k.size() > max_len) k.resize(max_len);
            }
        }
        if (k.size() < min_len) continue;
        if (seen.insert(k).second) keys.push_back(std::move(k));
    }
    if (keys.size() < n) throw HarnessError("make_keys: could not make enough distinct keys");
    return keys;
}

std::string make_value(std::size_t n, std::uint32_t seed) {
    std::mt19937 r(seed);
    std::string v(n, '\0');
    for (auto& c : v) c = static_cast<char>(r() & 0xff);
    // Things a sloppy parser would trip over.
    static const std::string traps[] = {"\r\nEND\r\n", "\r\n", "\nVALUE k 0 1\r\n", std::string(1, '\0')};
    for (std::size_t at = 7; at + 16 < n; at += 997) {
        const auto& t = traps[(at / 997) % 4];
        v.replace(at, t.size(), t);
    }
    return v;
}

// ------------------------------------------------------------ test fixtures

ProxiedMemcached::ProxiedMemcached(ProxyKind kind, std::size_t n, PoolSpec pool,
                                   std::vector<std::string> memcached_args, ProxyOptions options) {
    for (std::size_t i = 0; i < n; ++i) backends.push_back(std::make_unique<MemcachedServer>(memcached_args));
    if (pool.servers.empty()) pool.servers = server_specs(backends);
    proxy = std::make_unique<Proxy>(kind, std::vector<PoolSpec>{std::move(pool)}, std::move(options));
}

std::vector<int> ProxiedMemcached::backend_ports() const {
    std::vector<int> v;
    for (auto& b : backends) v.push_back(b->port());
    return v;
}

int ProxiedMemcached::backend_of(std::string_view key) const {
    int found = -1;
    for (std::size_t i = 0; i < backends.size(); ++i)
        if (mc::holds(backends[i]->port(), key)) found = found == -1 ? static_cast<int>(i) : -2;
    return found;
}

}  // namespace harness

// ------------------------------------------------------------ redis (RESP)

namespace harness::resp {

std::string command(const std::vector<std::string>& args) {
    std::string s = "*" + std::to_string(args.size()) + "\r\n";
    for (const auto& a : args) {
        s += "$" + std::to_string(a.size()) + "\r\n";
        s += a;
        s += "\r\n";
    }
    return s;
}

namespace {

// Parses one reply starting at `pos`; returns the position after it, or npos
// while incomplete.  Nesting is iterative (a count of pending elements per
// level), so a hostile depth cannot exhaust the stack.
std::size_t parse_reply(std::string_view b, std::size_t pos) {
    std::vector<long long> pending;  // elements still expected per open array
    for (;;) {
        if (pos >= b.size()) return std::string_view::npos;
        auto eol = b.find("\r\n", pos);
        if (eol == std::string_view::npos) return std::string_view::npos;
        char type = b[pos];
        std::string_view rest = b.substr(pos + 1, eol - pos - 1);
        long long n = 0;
        switch (type) {
            case '+':
            case '-':
            case ':':
                pos = eol + 2;
                break;
            case '$': {
                auto r = std::from_chars(rest.data(), rest.data() + rest.size(), n);
                if (r.ec != std::errc() || r.ptr != rest.data() + rest.size())
                    throw HarnessError("bad RESP bulk length \"" + escape(rest) + "\"");
                if (n < 0) {
                    pos = eol + 2;
                } else {
                    std::size_t end = eol + 2 + static_cast<std::size_t>(n) + 2;
                    if (b.size() < end) return std::string_view::npos;
                    pos = end;
                }
                break;
            }
            case '*': {
                auto r = std::from_chars(rest.data(), rest.data() + rest.size(), n);
                if (r.ec != std::errc() || r.ptr != rest.data() + rest.size())
                    throw HarnessError("bad RESP array length \"" + escape(rest) + "\"");
                pos = eol + 2;
                if (n > 0) {
                    pending.push_back(n);
                    continue;  // its first element follows
                }
                break;
            }
            default:
                throw HarnessError("not a RESP reply: \"" + escape(b.substr(pos, 80)) + "\"");
        }
        // One element (or a whole reply) ended at `pos`.
        while (!pending.empty() && --pending.back() == 0) pending.pop_back();
        if (pending.empty()) return pos;
    }
}

}  // namespace

std::size_t reply_length(std::string_view buf) {
    std::size_t end = parse_reply(buf, 0);
    return end == std::string_view::npos ? 0 : end;
}

std::string read_reply(Connection& c, Millis timeout) {
    return c.read_until([](std::string_view b) { return reply_length(b); }, timeout);
}

std::string read_replies(Connection& c, std::size_t n, Millis timeout) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += read_reply(c, timeout);
    return out;
}

std::string call(Connection& c, std::string_view request, Millis timeout) {
    c.send_all(request);
    return read_reply(c, timeout);
}

void flush_server(int port, const std::string& password) {
    Connection c(port);
    if (!password.empty()) {
        std::string r = call(c, cmd("AUTH", password));
        if (r != "+OK\r\n")
            throw HarnessError("AUTH on redis " + std::to_string(port) + ": \"" + escape(r) + "\"");
    }
    for (const auto& [what, request] : {std::pair<const char*, std::string>{"FLUSHALL", cmd("FLUSHALL")},
                                        std::pair<const char*, std::string>{"SCRIPT FLUSH", cmd("SCRIPT", "FLUSH")}}) {
        std::string r = call(c, request);
        if (r != "+OK\r\n")
            throw HarnessError(std::string(what) + " on redis " + std::to_string(port) + ": \"" + escape(r) + "\"");
    }
}

std::string redis_plugin_path() { return cachemux_plugin_dir() + "/redis.so"; }

void require_redis_plugin(ProxyKind kind) {
    if (kind != ProxyKind::Cachemux) return;
    const std::string path = redis_plugin_path();
    REQUIRE_MESSAGE(fs::exists(path), "the redis protocol plugin " << path
                                          << " does not exist (not built yet): cachemux cannot serve "
                                             "`redis: true` pools, so this redis test fails");
}

ProxiedRedis::ProxiedRedis(ProxyKind kind, std::size_t n, std::vector<std::pair<std::string, std::string>> options,
                           std::vector<std::string> server_args) {
    require_redis_plugin(kind);
    for (std::size_t i = 0; i < n; ++i) servers.push_back(std::make_unique<RedisServer>(server_args));
    PoolSpec p;
    p.set("hash", "fnv1a_64").set("distribution", "ketama").set("redis", "true");
    for (auto& [key, value] : options) p.set(key, value);
    for (std::size_t i = 0; i < n; ++i)
        p.servers.push_back(ServerSpec{"127.0.0.1", servers[i]->port(), 1, "s" + std::to_string(i + 1)});
    proxy = std::make_unique<Proxy>(kind, std::vector<PoolSpec>{p});
}

}  // namespace harness::resp

namespace harness {

void freeze(Process& process) {
    process.signal(SIGSTOP);
    for (int i = 0; i < 400; ++i) {
        std::ifstream stat("/proc/" + std::to_string(process.pid()) + "/stat");
        std::string line;
        std::getline(stat, line);
        auto close_paren = line.rfind(')');
        if (close_paren != std::string::npos && close_paren + 2 < line.size() && line[close_paren + 2] == 'T') return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    throw HarnessError("process " + std::to_string(process.pid()) + " did not stop after SIGSTOP");
}

}  // namespace harness
