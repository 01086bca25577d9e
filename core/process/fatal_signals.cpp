#include "process/fatal_signals.hpp"

#include <execinfo.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "process/log.hpp"

namespace cachemux {

namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
constexpr int kMaxFrames = 64;
// backtrace() and backtrace_symbols_fd() (dladdr) need a few KiB; the
// kernel's signal frame (AVX-512 state) a few more.
constexpr std::size_t kAltStackSize = 64 * 1024;

// Each signal's log line, formatted at install time so that the handler
// formats nothing.
struct FatalLine {
    int signal = 0;
    char text[64] = {};
    std::size_t len = 0;
};
FatalLine fatal_lines[std::size(kFatalSignals)];

void on_fatal_signal(int signal) {
    for (const FatalLine& line : fatal_lines) {
        if (line.signal == signal) log_write_safe(line.text, line.len);
    }
    // The line first: if unwinding a broken stack faults again, the kernel
    // kills the process by that second signal, and the line is already out.
    void* frames[kMaxFrames];
    int n = backtrace(frames, kMaxFrames);
    backtrace_symbols_fd(frames, n, log_fd());
    // SA_RESETHAND restored the default action on entry. The signal is
    // blocked while this handler runs, so the raise takes effect as it
    // returns (a fault would also recur at the same instruction), and the
    // process dies by this very signal, dumping core where the limit allows.
    raise(signal);
}

// The handler's stack when the thread's own is exhausted. Mapped with a guard
// page below it, so that overflowing this one faults instead of writing over
// other memory.
void install_alt_stack() noexcept {
    long page = sysconf(_SC_PAGESIZE);
    std::size_t guard = page > 0 ? static_cast<std::size_t>(page) : 4096;
    long minimum = sysconf(_SC_MINSIGSTKSZ);
    std::size_t size = kAltStackSize;
    if (minimum > 0 && static_cast<std::size_t>(minimum) * 4 > size) size = static_cast<std::size_t>(minimum) * 4;
    void* base = mmap(nullptr, guard + size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return;  // the handlers still run, on the faulting stack
    mprotect(base, guard, PROT_NONE);
    stack_t stack{};
    stack.ss_sp = static_cast<char*>(base) + guard;
    stack.ss_size = size;
    if (sigaltstack(&stack, nullptr) != 0) munmap(base, guard + size);
}

}  // namespace

void install_thread_signal_stack() noexcept { install_alt_stack(); }

void install_fatal_signal_handlers() noexcept {
    // backtrace()'s first call loads libgcc_s (dlopen, malloc): do it here,
    // where that is allowed, not in a handler.
    void* frame[1];
    backtrace(frame, 1);
    install_alt_stack();
    // Only this thread gets the alternate stack (sigaltstack is per thread);
    // a thread started later needs its own for an overflow to be logged.
    for (std::size_t i = 0; i < std::size(kFatalSignals); ++i) {
        int signal = kFatalSignals[i];
        FatalLine& line = fatal_lines[i];
        line.signal = signal;
        int n = std::snprintf(line.text, sizeof line.text, "signal %d (SIG%s) received, core dumping", signal,
                              sigabbrev_np(signal));
        line.len = n > 0 ? std::min(static_cast<std::size_t>(n), sizeof line.text - 1) : 0;

        struct sigaction action {};
        action.sa_handler = on_fatal_signal;
        action.sa_flags = SA_RESETHAND | SA_ONSTACK;
        // Nothing else interrupts the dying words (a SIGHUP's reopen, say).
        sigfillset(&action.sa_mask);
        sigaction(signal, &action, nullptr);
    }
}

}  // namespace cachemux
