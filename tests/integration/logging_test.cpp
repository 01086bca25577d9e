// Logging and process chores as nutcracker's command line promises them:
// -v levels, -o file, SIGHUP reopens it, SIGTTIN / SIGTTOU move the level,
// -p writes and removes the pid file, -d detaches.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "harness.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

// Waits (bounded) until `path` holds `text`.
bool file_shows(const std::string& path, const std::string& text, Millis timeout = 3000ms) {
    for (auto deadline = Clock::now() + timeout; Clock::now() < deadline; std::this_thread::sleep_for(20ms))
        if (read_file(path).find(text) != std::string::npos) return true;
    return false;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// A pool in front of `port` (which may be dead), with the log and pid file in
// a fresh directory; started directly, so that the test owns -o and -p.
struct LoggedProxy {
    std::string dir = make_temp_dir("logging");
    std::string log = dir + "/cachemux.log";
    std::string pid_file = dir + "/cachemux.pid";
    int port = free_port();
    std::unique_ptr<Process> process;

    LoggedProxy(int server_port, const std::string& verbosity, std::vector<std::string> extra = {}) {
        std::string conf = dir + "/cachemux.yml";
        write_file(conf, "p:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n  servers:\n   - 127.0.0.1:" +
                             std::to_string(server_port) + ":1\n");
        std::vector<std::string> argv = {cachemux_binary(), "-c", conf, "-s", std::to_string(free_port()),
                                         "-a", "127.0.0.1", "-o", log, "-p", pid_file, "-v", verbosity,
                                         "--plugin-dir", cachemux_plugin_dir()};
        argv.insert(argv.end(), extra.begin(), extra.end());
        ProcessOptions options;
        options.extra_logs = {log};
        process = std::make_unique<Process>(argv, options);
        wait_for_port(port, kStartTimeout, extra.empty() ? process.get() : nullptr);
    }
};

}  // namespace

HARNESS_CACHEMUX_TEST("logging: -o, SIGTTIN / SIGTTOU move the level, SIGHUP reopens the file, -p comes and goes") {
    MemcachedServer backend;
    LoggedProxy proxy(backend.port(), "5");
    REQUIRE(file_shows(proxy.log, "started on pid " + std::to_string(proxy.process->pid())));
    CHECK(read_file(proxy.pid_file) == std::to_string(proxy.process->pid()) + "\n");

    proxy.process->signal(SIGTTIN);
    CHECK(file_shows(proxy.log, "signal 21 (SIGTTIN) received, up logging level"));
    CHECK(file_shows(proxy.log, "up log level to 6"));
    proxy.process->signal(SIGTTOU);
    CHECK(file_shows(proxy.log, "down log level to 5"));

    // logrotate's way: move the file, then SIGHUP.
    std::string rotated = proxy.log + ".1";
    REQUIRE(std::rename(proxy.log.c_str(), rotated.c_str()) == 0);
    proxy.process->signal(SIGHUP);
    CHECK(file_shows(rotated, "signal 1 (SIGHUP) received, reopening log file"));
    for (auto deadline = Clock::now() + 3s; !exists(proxy.log) && Clock::now() < deadline;)
        std::this_thread::sleep_for(20ms);
    REQUIRE(exists(proxy.log));
    proxy.process->signal(SIGTTIN);
    CHECK(file_shows(proxy.log, "up log level to 6"));
    std::string old_lines = read_file(rotated);
    auto first = old_lines.find("up log level to 6");
    CHECK(old_lines.find("up log level to 6", first + 1) == std::string::npos);  // once, before the move

    proxy.process->signal(SIGTERM);
    REQUIRE(proxy.process->wait_exit(5000ms));
    CHECK(proxy.process->exit_code() == 0);
    CHECK(file_shows(proxy.log, "signal 15 (SIGTERM) received, exiting"));
    CHECK_FALSE(exists(proxy.pid_file));
}

HARNESS_CACHEMUX_TEST("logging: -v decides which messages are written") {
    int dead = free_port();
    for (const char* level : {"5", "6"}) {
        CAPTURE(level);
        LoggedProxy proxy(dead, level);
        Connection c(proxy.port);
        CHECK(c.mc("get k\r\n") == "SERVER_ERROR Connection refused\r\n");
        bool at_info = file_shows(proxy.log, "connection failed: Connection refused", 500ms);
        CHECK(at_info == (std::string(level) == "6"));  // a server's failure is an info (6) message
        CHECK(read_file(proxy.log).find("started on pid") != std::string::npos);  // notice (5)
    }
    LoggedProxy quiet(dead, "0");
    Connection c(quiet.port);
    CHECK(c.mc("get k\r\n") == "SERVER_ERROR Connection refused\r\n");
    std::this_thread::sleep_for(200ms);
    CHECK(read_file(quiet.log).empty());
}

HARNESS_CACHEMUX_TEST("-d: detaches, serves, and the pid file names the daemon") {
    MemcachedServer backend;
    LoggedProxy proxy(backend.port(), "5", {"-d"});
    // The command itself returns at once; the daemon lives on.
    auto status = proxy.process->wait_exit(5000ms);
    REQUIRE(status);
    CHECK(proxy.process->exit_code() == 0);
    REQUIRE(file_shows(proxy.pid_file, "\n"));
    pid_t daemon = static_cast<pid_t>(std::stol(read_file(proxy.pid_file)));
    CHECK(daemon != proxy.process->pid());
    CHECK(::getsid(daemon) != ::getsid(0));  // a session of its own, away from ours
    {
        Connection c(proxy.port);
        CHECK(c.mc("get k\r\n") == "END\r\n");
    }
    REQUIRE(::kill(daemon, SIGTERM) == 0);
    for (auto deadline = Clock::now() + 5s; ::kill(daemon, 0) == 0 && Clock::now() < deadline;)
        std::this_thread::sleep_for(20ms);
    CHECK(::kill(daemon, 0) != 0);
    CHECK_FALSE(exists(proxy.pid_file));
}
