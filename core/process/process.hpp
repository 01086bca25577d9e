// Process-level chores of nutcracker's command line: -d and -p (-o is the
// log's, log.hpp).
#pragma once

#include <string>

namespace cachemux {

// Detaches from the terminal as nutcracker 0.5.0 does (fork, setsid, fork,
// umask 0, stdin/stdout to /dev/null; stderr too unless it goes to a log
// file). Like nutcracker, it stays in the directory it started in: a core
// dump lands there (nutcracker's nc_daemonize(dump_core = 1) skips its
// chdir("/") for that), and relative paths keep their meaning.
// Throws std::runtime_error.
void daemonize(bool keep_stderr);

// `path` made absolute against the current directory; "" stays "", and so
// does `path` if the current directory cannot be read.
std::string absolute_path(const std::string& path);

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
