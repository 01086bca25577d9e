// Process-level chores of nutcracker's command line: -d, -p and -o.
#pragma once

#include <string>

namespace cachemux {

// Detaches from the terminal as nutcracker does (fork, setsid, fork, chdir /,
// stdin/stdout to /dev/null; stderr too unless it goes to a log file).
// Throws std::runtime_error.
void daemonize(bool keep_stderr);

// Appends everything written to stderr to `path` (-o). Throws std::runtime_error.
void redirect_log(const std::string& path);

// Writes the pid file on creation and removes it on destruction (-p).
class PidFile {
public:
    explicit PidFile(std::string path);
    ~PidFile();
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

private:
    std::string path_;
};

}  // namespace cachemux
