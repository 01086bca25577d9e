#include "process/log.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <algorithm>
#include <stdexcept>

namespace cachemux {

static_assert(log_fd() == STDERR_FILENO);

namespace {

// The -o path, set once at start-up (before any worker thread) and read
// by SIGHUP's reopen on the main loop.
std::string& log_path() {
    static std::string path;
    return path;
}

void redirect_stderr(const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw std::runtime_error("opening log file '" + path + "' failed: " + std::strerror(errno));
    }
    ::dup2(fd, log_fd());  // atomic: a concurrent write goes to the old file or the new one
    ::close(fd);
}

}  // namespace

void set_log_level(int level) {
    log_detail::level.store(std::max(static_cast<int>(kLogEmerg), std::min(level, static_cast<int>(kLogPverb))),
                            std::memory_order_relaxed);
}

int log_level() { return log_detail::level.load(std::memory_order_relaxed); }

void log_level_up() {
    int level = log_level();
    if (level < kLogPverb) {
        set_log_level(level + 1);
        log_write(__FILE_NAME__, __LINE__, "up log level to %d", level + 1);
    }
}

void log_level_down() {
    int level = log_level();
    if (level > kLogEmerg) {
        set_log_level(level - 1);
        log_write(__FILE_NAME__, __LINE__, "down log level to %d", level - 1);
    }
}

void open_log_file(const std::string& path) {
    redirect_stderr(path);
    log_path() = path;
}

bool reopen_log_file() {
    if (log_path().empty()) {
        return true;
    }
    try {
        redirect_stderr(log_path());
    } catch (const std::exception& e) {
        log_write(__FILE_NAME__, __LINE__, "%s; logging on to the old file", e.what());
        return false;
    }
    return true;
}

void log_write(const char* file, int line, const char* format, ...) {
    char buf[4096];
    timeval now{};
    gettimeofday(&now, nullptr);
    tm local{};
    localtime_r(&now.tv_sec, &local);
    std::size_t n = std::strftime(buf, sizeof buf, "[%Y-%m-%d %H:%M:%S", &local);
    int m = std::snprintf(buf + n, sizeof buf - n, ".%03d] %s:%d ", static_cast<int>(now.tv_usec / 1000), file, line);
    n += m > 0 ? static_cast<std::size_t>(m) : 0;
    va_list args;
    va_start(args, format);
    m = std::vsnprintf(buf + n, sizeof buf - n - 1, format, args);
    va_end(args);
    if (m > 0) {
        n = std::min(n + static_cast<std::size_t>(m), sizeof buf - 2);  // a long message is cut
    }
    buf[n++] = '\n';
    ssize_t ignored = ::write(log_fd(), buf, n);
    (void)ignored;
}

void log_write_safe(const char* message, std::size_t len) noexcept {
    static constexpr char kPrefix[] = "[.......................] ";
    char buf[256];
    std::size_t n = sizeof kPrefix - 1;
    std::memcpy(buf, kPrefix, n);
    len = std::min(len, sizeof buf - n - 1);
    std::memcpy(buf + n, message, len);
    n += len;
    buf[n++] = '\n';
    ssize_t ignored = ::write(log_fd(), buf, n);
    (void)ignored;
}

}  // namespace cachemux
