// Process-level chores of nutcracker's command line: -d and -p (-o is the
// log's, log.hpp).
#pragma once

#include <string>

namespace cachemux {

// Detaches from the terminal as nutcracker does (fork, setsid, fork, chdir /,
// stdin/stdout to /dev/null; stderr too unless it goes to a log file).
// Throws std::runtime_error.
void daemonize(bool keep_stderr);

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
