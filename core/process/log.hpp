// The log: nutcracker's -v levels and line format, to stderr or the -o file.
//
// The one process-wide object cachemux keeps, as stderr itself is: the level
// is atomic (SIGTTIN / SIGTTOU move it), and each line leaves in a single
// write(2), so lines from several threads never interleave. Messages below
// the level cost one relaxed load and are never formatted.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

namespace cachemux {

// nutcracker's levels (-v N): 0 emerg ... 5 notice (default) ... 11 pverb.
enum LogLevel : int {
    kLogEmerg = 0,
    kLogAlert,
    kLogCrit,
    kLogError,
    kLogWarn,
    kLogNotice,
    kLogInfo,
    kLogDebug,
    kLogVerb,
    kLogVverb,
    kLogVvverb,
    kLogPverb,
};

namespace log_detail {
inline std::atomic<int> level{kLogNotice};
}  // namespace log_detail

inline bool log_enabled(int level) { return level <= log_detail::level.load(std::memory_order_relaxed); }
void set_log_level(int level);
int log_level();
// SIGTTIN / SIGTTOU: one level up or down (within 0..11), logged.
void log_level_up();
void log_level_down();

// -o: stderr goes to `path` (appended to; created if missing). Throws
// std::runtime_error naming the file.
void open_log_file(const std::string& path);
// SIGHUP: opens the -o file again (after logrotate moved it); a no-op when
// logging to the terminal. Returns false, logging why, if it cannot.
bool reopen_log_file();

// "[2026-11-22 21:44:38.588] file.cpp:182 message\n", printf-style.
void log_write(const char* file, int line, const char* format, ...) __attribute__((format(printf, 3, 4)));

// The descriptor every line goes to: stderr, onto which -o and SIGHUP dup2()
// the file, so it never changes and a signal handler may write to it.
constexpr int log_fd() noexcept { return 2; }
// nutcracker's log_safe(): "[.......................] message\n" (dots where
// the time would be), whatever the level, in one write(2). No formatting, no
// clock, no lock, no allocation: safe in a signal handler. A message longer
// than a line of 256 bytes is cut.
void log_write_safe(const char* message, std::size_t len) noexcept;

}  // namespace cachemux

#define CACHEMUX_LOG(level, ...)                                          \
    do {                                                                  \
        if (::cachemux::log_enabled(level)) {                             \
            ::cachemux::log_write(__FILE_NAME__, __LINE__, __VA_ARGS__);  \
        }                                                                 \
    } while (0)
