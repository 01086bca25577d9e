// Logging and process chores as nutcracker's command line promises them:
// -v levels, -o file, SIGHUP reopens it, SIGTTIN / SIGTTOU move the level,
// -p writes and removes the pid file, -d detaches.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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

bool alive(pid_t pid) {
    if (pid <= 0 || ::kill(pid, 0) != 0) return false;
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    auto paren = stat.rfind(')');
    return paren == std::string::npos || stat.compare(paren, 3, ") Z") != 0;  // a zombie is gone
}

// A -d command line run to its end in `cwd`, as a shell runs it.
// Not through harness::Process, which kills what is left of the child's
// process group once the child exits: that may be the first fork of a -d
// run that has not yet called setsid().
struct Detach {
    pid_t pid = -1;
    std::optional<int> status;  // nullopt: still running at the timeout (then killed)
    std::string output;
};

Detach run_detaching(const std::vector<std::string>& argv, const std::string& cwd, Millis timeout = 10000ms) {
    Detach run;
    std::string out_path = make_temp_dir("detach") + "/output.txt";
    std::vector<char*> cargv;
    for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    std::fflush(nullptr);
    run.pid = ::fork();
    REQUIRE(run.pid >= 0);
    if (run.pid == 0) {
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int in = ::open("/dev/null", O_RDONLY);
        if (out < 0 || in < 0 || ::chdir(cwd.c_str()) != 0) ::_exit(126);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::execvp(cargv[0], cargv.data());
        ::_exit(127);
    }
    for (auto deadline = Clock::now() + timeout; !run.status;) {
        int st = 0;
        if (::waitpid(run.pid, &st, WNOHANG) == run.pid) {
            run.status = st;
        } else if (Clock::now() >= deadline) {
            ::kill(run.pid, SIGKILL);
            ::waitpid(run.pid, &st, 0);
            break;
        } else {
            std::this_thread::sleep_for(10ms);
        }
    }
    run.output = read_file(out_path);
    return run;
}

// The daemon a -d run leaves behind. It has left the harness's process
// group, so it is killed here when the test ends, passed or failed: by the
// pid file's pid, else by the one its log announces ("started on pid N").
class Daemon {
public:
    Daemon(std::string pid_file, std::string log) : pid_file_(std::move(pid_file)), log_(std::move(log)) {}
    ~Daemon() {
        pid_t pid = pid_ > 0 ? pid_ : pid_from_log();
        if (alive(pid)) ::kill(pid, SIGKILL);
    }
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // The pid in the pid file, waited for (bounded); 0 if it never appears.
    pid_t pid() {
        for (auto deadline = Clock::now() + 5s; pid_ <= 0 && Clock::now() < deadline;) {
            std::string text = read_file(pid_file_);
            if (!text.empty()) pid_ = static_cast<pid_t>(std::atol(text.c_str()));
            if (pid_ <= 0) std::this_thread::sleep_for(20ms);
        }
        return pid_;
    }
    // Signals it and waits (bounded) for it to be gone.
    bool stop(int sig) {
        ::kill(pid_, sig);
        for (auto deadline = Clock::now() + 5s; alive(pid_) && Clock::now() < deadline;)
            std::this_thread::sleep_for(20ms);
        return !alive(pid_);
    }

private:
    pid_t pid_from_log() const {
        std::string text = read_file(log_);
        auto at = text.find("started on pid ");
        return at == std::string::npos ? 0 : static_cast<pid_t>(std::atol(text.c_str() + at + 15));
    }

    std::string pid_file_;
    std::string log_;
    pid_t pid_ = 0;
};

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
        if (std::find(extra.begin(), extra.end(), "-d") != extra.end()) {
            daemon.emplace(pid_file, log);
            detached = run_detaching(argv, dir);
            wait_for_port(port, kStartTimeout);
            return;
        }
        ProcessOptions options;
        options.extra_logs = {log};
        process = std::make_unique<Process>(argv, options);
        wait_for_port(port, kStartTimeout, process.get());
    }

    std::optional<Daemon> daemon;  // with -d
    Detach detached;               // with -d: the command that started it
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
    INFO(proxy.detached.output);
    REQUIRE(proxy.detached.status);
    CHECK(WIFEXITED(*proxy.detached.status));
    CHECK(WEXITSTATUS(*proxy.detached.status) == 0);
    pid_t daemon = proxy.daemon->pid();
    REQUIRE(daemon > 0);
    CHECK(daemon != proxy.detached.pid);
    CHECK(::getsid(daemon) != ::getsid(0));  // a session of its own, away from ours
    CHECK(::getsid(daemon) != daemon);       // but not its leader: no terminal can become its own
    {
        Connection c(proxy.port);
        CHECK(c.mc("get k\r\n") == "END\r\n");
    }
    REQUIRE(proxy.daemon->stop(SIGTERM));
    CHECK_FALSE(exists(proxy.pid_file));
}

namespace {

// `-d -c x.yml -p run/x.pid -o log/x.log`, all relative to where it starts:
// nutcracker keeps them there, and so must cachemux, the SIGHUP reopen and
// the pid file's removal included.
void daemon_keeps_relative_paths(ProxyKind kind) {
    MemcachedServer backend;
    std::string dir = make_temp_dir("daemon-relative");
    REQUIRE(::mkdir((dir + "/run").c_str(), 0755) == 0);
    REQUIRE(::mkdir((dir + "/log").c_str(), 0755) == 0);
    int port = free_port();
    write_file(dir + "/x.yml", "p:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n  servers:\n   - 127.0.0.1:" +
                                   std::to_string(backend.port()) + ":1\n");
    std::vector<std::string> argv = {kind == ProxyKind::Nutcracker ? nutcracker_binary() : cachemux_binary(),
                                     "-d", "-c", "x.yml", "-p", "run/x.pid", "-o", "log/x.log",
                                     "-s", std::to_string(free_port()), "-a", "127.0.0.1"};
    if (kind == ProxyKind::Cachemux) argv.insert(argv.end(), {"--plugin-dir", cachemux_plugin_dir()});
    const std::string log = dir + "/log/x.log";
    Daemon daemon(dir + "/run/x.pid", log);
    Detach command = run_detaching(argv, dir);
    INFO(command.output);
    INFO("log: " << read_file(log) << read_file(log + ".1"));
    REQUIRE(command.status);
    CHECK(*command.status == 0);
    REQUIRE_MESSAGE(daemon.pid() > 0, "no pid file in " << dir << "/run");
    wait_for_port(port);
    {
        Connection c(port);
        CHECK(c.mc(mc::set("k", "v")) == "STORED\r\n");
        CHECK(c.mc("get k\r\n") == mc::value("k", "v") + "END\r\n");
    }

    REQUIRE(std::rename(log.c_str(), (log + ".1").c_str()) == 0);
    ::kill(daemon.pid(), SIGHUP);
    CHECK(file_shows(log + ".1", "signal 1 (SIGHUP) received, reopening log file"));
    for (auto deadline = Clock::now() + 5s; !exists(log) && Clock::now() < deadline;)
        std::this_thread::sleep_for(20ms);
    REQUIRE_MESSAGE(exists(log), "SIGHUP did not reopen " << log);
    ::kill(daemon.pid(), SIGUSR1);  // a line both write at any level, into the reopened file
    CHECK(file_shows(log, "signal 10 (SIGUSR1) received"));

    REQUIRE(daemon.stop(SIGINT));
    // nutcracker 0.5.0 exits from its signal handler and leaves the file.
    if (kind == ProxyKind::Cachemux) CHECK_FALSE(exists(dir + "/run/x.pid"));
}

}  // namespace

HARNESS_PROXY_TEST("-d: -c, -p, -o and the SIGHUP reopen stay relative to the start directory",
                   daemon_keeps_relative_paths)
