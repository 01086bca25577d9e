// The fatal-signal handlers on real faults, in a forked child: the line and
// a backtrace reach the log descriptor, and the child dies by the signal.
// The integration tests send the signals with kill(); these raise them the
// way a bug does, a stack overflow included (the alternate stack's case).
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "process/fatal_signals.hpp"
#include "process/log.hpp"

namespace {

volatile int g_stop_depth = -1;  // never reached: keeps the compiler from proving the recursion endless

// The faults are real but not undefined behaviour in C++ terms (no null
// pointer, no division the compiler sees), so that a sanitizer build
// reports nothing before the signal.
void write_to_inaccessible_page() {
    void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *static_cast<volatile char*>(page) = 1;
}

void divide_by_zero() {
#if defined(__x86_64__) || defined(__i386__)
    asm volatile("xorl %%ecx, %%ecx\n\tcltd\n\tidivl %%ecx" : : "a"(1) : "ecx", "edx");
#else
    ::raise(SIGFPE);
#endif
}

void touch_past_end_of_file() {
    char path[] = "/tmp/cachemux-sigbus-XXXXXX";
    int fd = ::mkstemp(path);
    ::unlink(path);
    void* map = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);  // a file of 0 bytes
    *static_cast<volatile char*>(map) = 1;
}

__attribute__((noinline)) int overflow_stack(int depth) {
    volatile char frame[512];
    frame[0] = static_cast<char>(depth);
    if (depth == g_stop_depth) return 0;
    return overflow_stack(depth + 1) + frame[0];  // not a tail call: every level keeps its frame
}

struct Death {
    int status = 0;
    std::string log;
};

// Runs `fault` in a child whose log descriptor is a file, with no core file
// allowed; returns how it ended and what it logged.
template <class Fault>
Death die_of(Fault fault) {
    char path[] = "/tmp/cachemux-fatal-XXXXXX";
    int fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    std::fflush(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        rlimit none{0, 0};
        ::setrlimit(RLIMIT_CORE, &none);
        ::dup2(fd, cachemux::log_fd());
        // doctest's crash handler has an alternate stack of its own; without
        // it, only the one install_fatal_signal_handlers() sets up can help.
        stack_t off{};
        off.ss_flags = SS_DISABLE;
        ::sigaltstack(&off, nullptr);
        cachemux::install_fatal_signal_handlers();
        fault();
        ::_exit(0);  // the fault did not kill: the parent sees exit status 0
    }
    ::close(fd);
    Death death;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (::waitpid(pid, &death.status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &death.status, 0);
            FAIL("the child did not die within 20 s");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (std::FILE* f = std::fopen(path, "r")) {
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) death.log.append(buf, n);
        std::fclose(f);
    }
    std::remove(path);
    return death;
}

void check_death(const Death& death, int sig, const char* name) {
    INFO(death.log);
    REQUIRE(WIFSIGNALED(death.status));
    CHECK(WTERMSIG(death.status) == sig);
    std::string line = "[.......................] signal " + std::to_string(sig) + " (" + name +
                       ") received, core dumping\n";
    CHECK(death.log.starts_with(line));
    // backtrace_symbols_fd(): "object(symbol+offset)[address]" lines.
    CHECK(death.log.find(")[0x", line.size()) != std::string::npos);
}

}  // namespace

TEST_CASE("fatal signals: a write to an inaccessible page dies by SIGSEGV, logged with a backtrace") {
    check_death(die_of(write_to_inaccessible_page), SIGSEGV, "SIGSEGV");
}

// Under ASan the frames and their red zones are its own; the plain build
// covers this case.
TEST_CASE("fatal signals: a stack overflow is still logged, on the alternate stack" *
          doctest::skip(CACHEMUX_SANITIZED)) {
    check_death(die_of([] { overflow_stack(0); }), SIGSEGV, "SIGSEGV");
}

TEST_CASE("fatal signals: abort() dies by SIGABRT, logged with a backtrace") {
    check_death(die_of([] { std::abort(); }), SIGABRT, "SIGABRT");
}

TEST_CASE("fatal signals: an integer division by zero dies by SIGFPE, logged with a backtrace") {
    check_death(die_of(divide_by_zero), SIGFPE, "SIGFPE");
}

TEST_CASE("fatal signals: a write past the end of a mapped file dies by SIGBUS, logged with a backtrace") {
    check_death(die_of(touch_past_end_of_file), SIGBUS, "SIGBUS");
}
