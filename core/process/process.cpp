#include "process/process.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace cachemux {

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + ": " + std::strerror(errno));
}

void fork_and_leave_parent() {
    pid_t pid = fork();
    if (pid < 0) {
        fail("fork() failed");
    }
    if (pid > 0) {
        _exit(0);
    }
}

}  // namespace

void daemonize(bool keep_stderr) {
    fork_and_leave_parent();
    if (setsid() < 0) {
        fail("setsid() failed");
    }
    fork_and_leave_parent();  // never again a session leader: no controlling tty
    umask(0);
    int null = open("/dev/null", O_RDWR);
    if (null < 0) {
        fail("open(\"/dev/null\") failed");
    }
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
    if (!keep_stderr) {
        dup2(null, STDERR_FILENO);
    }
    if (null > STDERR_FILENO) {
        close(null);
    }
}

std::string absolute_path(const std::string& path) {
    if (path.empty()) return path;
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    return ec ? path : absolute.string();
}

PidFile::PidFile(std::string path) : path_(std::move(path)) {
    int fd = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fail("opening pid file '" + path_ + "' failed");
    }
    std::string pid = std::to_string(getpid()) + "\n";
    ssize_t n = write(fd, pid.data(), pid.size());
    close(fd);
    if (n != static_cast<ssize_t>(pid.size())) {
        fail("writing pid file '" + path_ + "' failed");
    }
}

PidFile::~PidFile() { unlink(path_.c_str()); }

}  // namespace cachemux
