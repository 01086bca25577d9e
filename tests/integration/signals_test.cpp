// Signals as nutcracker 0.5.0 takes them. SIGUSR1 and SIGUSR2 are logged
// (whatever -v says) and otherwise ignored. SIGSEGV logs a backtrace and
// "signal 11 (SIGSEGV) received, core dumping", and the process dies by that
// very signal so that a core can be written; cachemux does the same for
// SIGBUS, SIGFPE and SIGABRT, which nutcracker leaves to the default action.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>
#include <regex>
#include <string>
#include <thread>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// Waits (bounded) until the proxy's output or log holds `text`.
bool shows(Proxy& proxy, const std::string& text, Millis timeout = 5000ms * kSlackFactor) {
    for (auto deadline = Clock::now() + timeout; Clock::now() < deadline; std::this_thread::sleep_for(20ms))
        if (proxy.output().find(text) != std::string::npos) return true;
    return false;
}

// Processes started while this lives write no core file (the limit is
// inherited at fork), so that the tests leave none behind.
class NoCoreFiles {
public:
    NoCoreFiles() {
        ::getrlimit(RLIMIT_CORE, &saved_);
        rlimit none = saved_;
        none.rlim_cur = 0;
        REQUIRE(::setrlimit(RLIMIT_CORE, &none) == 0);
    }
    ~NoCoreFiles() { ::setrlimit(RLIMIT_CORE, &saved_); }
    NoCoreFiles(const NoCoreFiles&) = delete;
    NoCoreFiles& operator=(const NoCoreFiles&) = delete;

private:
    rlimit saved_{};
};

std::string signal_name(int sig) { return std::string("SIG") + sigabbrev_np(sig); }

// A set and a get of a fresh key through the proxy.
void check_serves(int port, const std::string& key) {
    Connection c(port);
    CHECK(c.mc(mc::set(key, "v-" + key)) == "STORED\r\n");
    CHECK(c.mc(mc::get({key})) == mc::value(key, "v-" + key) + "END\r\n");
}

// Also SIGHUP's and SIGINT's lines: nutcracker writes a signal's line at
// every level, -v 0 included.
void user_signals_are_logged(ProxyKind kind) {
    ProxyOptions quiet;
    quiet.extra_args = {"-v", "0"};
    ProxiedMemcached px(kind, 1, {}, {}, quiet);
    check_serves(px.port(), "before");
    for (int sig : {SIGUSR1, SIGUSR2, SIGUSR1}) {
        CAPTURE(sig);
        px.proxy->process().signal(sig);
        // cachemux reloads on SIGUSR1 (here: the same file); nutcracker ignores it.
        bool reloads = kind == ProxyKind::Cachemux && sig == SIGUSR1;
        std::string line = "signal " + std::to_string(sig) + " (" + signal_name(sig) + ") received" +
                           (reloads ? ", reloading configuration\n" : "\n");
        CHECK_MESSAGE(shows(*px.proxy, line), px.proxy->output());
        REQUIRE(px.proxy->process().running());
        check_serves(px.port(), "after-" + std::to_string(sig));
    }
    px.proxy->process().signal(SIGHUP);
    CHECK(shows(*px.proxy, "signal 1 (SIGHUP) received, reopening log file\n"));
    check_serves(px.port(), "after-hup");
    px.proxy->process().signal(SIGINT);
    CHECK(px.proxy->process().wait_exit(5000ms * kSlackFactor));
    CHECK(shows(*px.proxy, "signal 2 (SIGINT) received, exiting\n"));
}

// backtrace_symbols_fd()'s "object(symbol+offset)[address]", e.g.
// "/usr/sbin/nutcracker(core_loop+0x19)[0x557bc45fd6a9]" or
// "/lib/x86_64-linux-gnu/libc.so.6(+0x3c050)[0x7f0d2c7a4050]".
bool has_frame_line(const std::string& log) {
    static const std::regex frame(R"((^|\n)[^\s()]+\([^()\s]*\) ?\[0x[0-9a-f]+\]\n)");
    return std::regex_search(log, frame);
}

void fatal_signal_kills_by_itself(ProxyKind kind, int sig) {
    CAPTURE(sig);
    std::unique_ptr<ProxiedMemcached> px;
    {
        NoCoreFiles no_cores;
        px = std::make_unique<ProxiedMemcached>(kind, 1);
    }
    check_serves(px->port(), "k");
    px->proxy->process().signal(sig);
    auto status = px->proxy->process().wait_exit(10000ms * kSlackFactor);
    REQUIRE_MESSAGE(status, px->proxy->output());
    INFO(describe_status(*status));
    REQUIRE(WIFSIGNALED(*status));
    CHECK(WTERMSIG(*status) == sig);
    // nutcracker 0.5.0 handles only SIGSEGV; the others kill it unannounced.
    if (kind == ProxyKind::Cachemux || sig == SIGSEGV) {
        std::string output = px->proxy->output();
        INFO(output);
        CHECK(output.find("signal " + std::to_string(sig) + " (" + signal_name(sig) + ") received, core dumping\n") !=
              std::string::npos);
        CHECK(has_frame_line(output));
    }
}

}  // namespace

HARNESS_PROXY_TEST("signals: SIGUSR1 and SIGUSR2 are logged; cachemux reloads on SIGUSR1, the proxy serves on",
                   user_signals_are_logged)

HARNESS_PROXY_TEST("signals: SIGSEGV logs a backtrace and kills by SIGSEGV",
                   [](ProxyKind kind) { fatal_signal_kills_by_itself(kind, SIGSEGV); })
HARNESS_PROXY_TEST("signals: SIGBUS logs a backtrace and kills by SIGBUS",
                   [](ProxyKind kind) { fatal_signal_kills_by_itself(kind, SIGBUS); })
HARNESS_PROXY_TEST("signals: SIGFPE logs a backtrace and kills by SIGFPE",
                   [](ProxyKind kind) { fatal_signal_kills_by_itself(kind, SIGFPE); })
HARNESS_PROXY_TEST("signals: SIGABRT logs a backtrace and kills by SIGABRT",
                   [](ProxyKind kind) { fatal_signal_kills_by_itself(kind, SIGABRT); })
