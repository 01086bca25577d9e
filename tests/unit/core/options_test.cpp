// The command line against nutcracker 0.5.0's: every message and exit code
// expected here was first read from Debian's /usr/sbin/nutcracker (with
// "nutcracker" where these say "cachemux").
#include <doctest/doctest.h>

#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/options.hpp"

using namespace cachemux;

namespace {

// Captures what a function prints to a FILE*.
class Capture {
public:
    Capture() : file_(std::tmpfile()) { REQUIRE(file_ != nullptr); }
    ~Capture() { std::fclose(file_); }
    std::FILE* file() { return file_; }
    std::string text() {
        std::fflush(file_);
        std::rewind(file_);
        std::string out;
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
        return out;
    }

private:
    std::FILE* file_;
};

struct Parsed {
    OptionsResult result;
    std::string output;
};

Parsed run(std::initializer_list<std::string> args) {
    std::vector<std::string> storage{"cachemux"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    Capture out;
    Parsed p{parse_options(static_cast<int>(storage.size()), argv.data(), out.file()), ""};
    p.output = out.text();
    return p;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string temp_file(const std::string& content) {
    char path[] = "/tmp/cachemux_options_test_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
    return path;
}

const std::string kUsageStart = "Usage: cachemux [-?hVdDt] [-v verbosity level] [-o output file]\r\n";

}  // namespace

TEST_CASE("no arguments: run with upstream twemproxy's defaults") {
    Parsed p = run({});
    CHECK_FALSE(p.result.exit_now);
    CHECK(p.output.empty());
    const Options& o = p.result.options;
    CHECK_FALSE(o.show_help);
    CHECK_FALSE(o.show_version);
    CHECK_FALSE(o.test_conf);
    CHECK_FALSE(o.daemonize);
    CHECK_FALSE(o.describe_stats);
    CHECK(o.verbosity == 5);
    CHECK(o.log_file.empty());
    CHECK(o.conf_file == "conf/nutcracker.yml");
    CHECK(o.stats_port == 22222);
    CHECK(o.stats_addr == "0.0.0.0");
    CHECK(o.stats_interval_ms == 30000);
    CHECK(o.pid_file.empty());
    CHECK(o.mbuf_size == 16384);
    CHECK(o.plugin_dir.empty());
}

TEST_CASE("every flag, short and long") {
    Parsed p = run({"-d", "-t", "-v", "7", "-o", "/tmp/log", "-c", "a.yml", "-s", "2222", "-a", "127.0.0.1", "-i",
                    "1000", "-p", "/tmp/pid", "-m", "512"});
    REQUIRE_FALSE(p.result.exit_now);
    const Options& o = p.result.options;
    CHECK(o.daemonize);
    CHECK(o.test_conf);
    CHECK(o.verbosity == 7);
    CHECK(o.log_file == "/tmp/log");
    CHECK(o.conf_file == "a.yml");
    CHECK(o.stats_port == 2222);
    CHECK(o.stats_addr == "127.0.0.1");
    CHECK(o.stats_interval_ms == 1000);
    CHECK(o.pid_file == "/tmp/pid");
    CHECK(o.mbuf_size == 512);

    p = run({"--daemonize", "--test-conf", "--verbose=11", "--output=/tmp/l2", "--conf-file", "b.yml",
             "--stats-port=65535", "--stats-addr=::1", "--stats-interval=0", "--pid-file=/tmp/p2",
             "--mbuf-size=16777216", "--plugin-dir=/opt/plugins"});
    REQUIRE_FALSE(p.result.exit_now);
    const Options& l = p.result.options;
    CHECK(l.daemonize);
    CHECK(l.test_conf);
    CHECK(l.verbosity == 11);
    CHECK(l.log_file == "/tmp/l2");
    CHECK(l.conf_file == "b.yml");
    CHECK(l.stats_port == 65535);
    CHECK(l.stats_addr == "::1");
    CHECK(l.stats_interval_ms == 0);
    CHECK(l.pid_file == "/tmp/p2");
    CHECK(l.mbuf_size == 16777216);
    CHECK(l.plugin_dir == "/opt/plugins");
    CHECK(p.output.empty());
}

TEST_CASE("--workers: a count, or auto for the CPUs of the affinity mask; 1 unless given") {
    CHECK(run({}).result.options.workers == 1);
    CHECK(run({"--workers", "3"}).result.options.workers == 3);
    CHECK(run({"--workers=1024"}).result.options.workers == 1024);
    CHECK(run({"--work=2"}).result.options.workers == 2);  // getopt_long's abbreviation
    CHECK(run({"--workers", "2", "--workers", "5"}).result.options.workers == 5);  // the last one counts
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    REQUIRE(sched_getaffinity(0, sizeof cpus, &cpus) == 0);
    Parsed automatic = run({"--workers", "auto"});
    REQUIRE_FALSE(automatic.result.exit_now);
    CHECK(automatic.result.options.workers == CPU_COUNT(&cpus));
}

TEST_CASE("getopt_long as nutcracker uses it: bundles, abbreviations, operands anywhere") {
    Parsed p = run({"-tdv3", "--conf=x.yml", "operand", "--verb=9", "--stats-p", "99"});
    REQUIRE_FALSE(p.result.exit_now);
    CHECK(p.result.options.test_conf);
    CHECK(p.result.options.daemonize);
    CHECK(p.result.options.verbosity == 9);
    CHECK(p.result.options.conf_file == "x.yml");
    CHECK(p.result.options.stats_port == 99);
    // "--p" and "--pi" still mean --pid-file, as without --plugin-dir.
    CHECK(run({"--p", "/tmp/a.pid"}).result.options.pid_file == "/tmp/a.pid");
    CHECK(run({"--pi=/tmp/b.pid"}).result.options.pid_file == "/tmp/b.pid");
    CHECK(run({"--plug=/x"}).result.options.plugin_dir == "/x");
    // After "--" nothing is an option.
    p = run({"--", "-t"});
    CHECK_FALSE(p.result.exit_now);
    CHECK_FALSE(p.result.options.test_conf);
    // Numbers are nc_atoi(): 2^32 + 1 wraps to 1, a valid port.
    CHECK(run({"-s", "4294967297"}).result.options.stats_port == 1);
    // No upper bound on -v, as in nutcracker.
    CHECK(run({"-v", "12"}).result.options.verbosity == 12);
    // Parsing again starts afresh.
    CHECK(run({"-v", "2"}).result.options.verbosity == 2);
    CHECK(run({}).result.options.verbosity == 5);
}

TEST_CASE("bad options: nutcracker's message, the usage, exit code 1") {
    std::string nul_option = "cachemux: invalid option -- '";
    nul_option += '\0';
    nul_option += "'";
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"-m", "511"}, "cachemux: mbuf chunk size must be between 512 and 16777216 bytes"},
        {{"-m", "16777217"}, "cachemux: mbuf chunk size must be between 512 and 16777216 bytes"},
        {{"-m", "abc"}, "cachemux: option -m requires a non-zero number"},
        {{"-m", "0"}, "cachemux: option -m requires a non-zero number"},
        {{"--mbuf-size="}, "cachemux: option -m requires a non-zero number"},
        {{"-m"}, "cachemux: option -m requires a number"},
        {{"--mbuf-size"}, "cachemux: option -m requires a number"},
        {{"-v"}, "cachemux: option -v requires a number"},
        {{"-v", "abc"}, "cachemux: option -v requires a number"},
        {{"-v", "-1"}, "cachemux: option -v requires a number"},
        {{"-v5t"}, "cachemux: option -v requires a number"},
        {{"-s", "0"}, "cachemux: option -s value 0 is not a valid port"},
        {{"-s", "65536"}, "cachemux: option -s value 65536 is not a valid port"},
        {{"-s", "abc"}, "cachemux: option -s requires a number"},
        {{"-s"}, "cachemux: option -s requires a number"},
        {{"-i", "abc"}, "cachemux: option -i requires a number"},
        {{"-i"}, "cachemux: option -i requires a number"},
        {{"-a"}, "cachemux: option -a requires a string"},
        {{"-o"}, "cachemux: option -o requires a file name"},
        {{"-c"}, "cachemux: option -c requires a file name"},
        {{"-p"}, "cachemux: option -p requires a file name"},
        {{"--output"}, "cachemux: option -o requires a file name"},
        {{"-x"}, "cachemux: invalid option -- 'x'"},
        {{"-?"}, "cachemux: invalid option -- '?'"},
        {{"--help=3"}, "cachemux: invalid option -- 'h'"},
        {{"--daemonize=1"}, "cachemux: invalid option -- 'd'"},
        {{"--bogus"}, nul_option},  // nutcracker prints optopt, 0, as a NUL byte
        {{"-V", "-x"}, "cachemux: invalid option -- 'x'"},
        {{"--plugin-dir"}, "cachemux: option --plugin-dir requires a directory name"},
        {{"--plugin-dir="}, "cachemux: option --plugin-dir requires a directory name"},
        {{"--workers"}, "cachemux: option --workers requires a number from 1 to 1024 or 'auto'"},
        {{"--workers=0"}, "cachemux: option --workers requires a number from 1 to 1024 or 'auto'"},
        {{"--workers", "1025"}, "cachemux: option --workers requires a number from 1 to 1024 or 'auto'"},
        {{"--workers", "two"}, "cachemux: option --workers requires a number from 1 to 1024 or 'auto'"},
        {{"--workers", "-2"}, "cachemux: option --workers requires a number from 1 to 1024 or 'auto'"},
    };
    for (const auto& [args, message] : cases) {
        std::vector<std::string> storage{"cachemux"};
        storage.insert(storage.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& s : storage) argv.push_back(s.data());
        argv.push_back(nullptr);
        Capture out;
        OptionsResult r = parse_options(static_cast<int>(storage.size()), argv.data(), out.file());
        std::string text = out.text();
        CAPTURE(args.front());
        CHECK(r.exit_now);
        CHECK(r.exit_code == 1);
        CHECK(text.starts_with(message + "\n" + kUsageStart));
    }
}

TEST_CASE("-V, -h and -D print the banner and exit 0") {
    Parsed p = run({"-V"});
    CHECK(p.result.exit_now);
    CHECK(p.result.exit_code == 0);
    CHECK(p.result.options.show_version);
    CHECK(first_line(p.output) == std::string("This is cachemux-") + CACHEMUX_VERSION);
    CHECK(p.output.find("\nasync event backend: ") != std::string::npos);
    CHECK(p.output.ends_with("\n\n"));
    CHECK(p.output.find("Usage:") == std::string::npos);

    p = run({"--help"});
    CHECK(p.result.exit_now);
    CHECK(p.result.exit_code == 0);
    CHECK(p.result.options.show_help);
    CHECK(first_line(p.output) == std::string("This is cachemux-") + CACHEMUX_VERSION);
    CHECK(p.output.find("\n\n" + kUsageStart) != std::string::npos);
    for (const char* line : {
             "  -h, --help             : this help\r\n",
             "  -D, --describe-stats   : print stats description and exit\n",
             "  -v, --verbose=N        : set logging level (default: 5, min: 0, max: 11)\r\n",
             "  -o, --output=S         : set logging file (default: stderr)\r\n",
             "  -c, --conf-file=S      : set configuration file (default: conf/nutcracker.yml)\r\n",
             "  -s, --stats-port=N     : set stats monitoring port (default: 22222)\r\n",
             "  -a, --stats-addr=S     : set stats monitoring ip (default: 0.0.0.0)\r\n",
             "  -i, --stats-interval=N : set stats aggregation interval in msec (default: 30000 msec)\r\n",
             "  -p, --pid-file=S       : set pid file (default: off)\r\n",
             "  -m, --mbuf-size=N      : set size of mbuf chunk in bytes (default: 16384 bytes)\r\n",
             "      --plugin-dir=DIR   : load plugins from DIR",
         }) {
        CAPTURE(line);
        CHECK(p.output.find(line) != std::string::npos);
    }
    CHECK(p.output.ends_with("\r\n\n"));

    // -D: the banner, then the caller prints the stats description.
    p = run({"-D"});
    CHECK(p.result.exit_now);
    CHECK(p.result.exit_code == 0);
    CHECK(p.result.options.describe_stats);
    CHECK(first_line(p.output) == std::string("This is cachemux-") + CACHEMUX_VERSION);

    // The version wins over -t, as in nutcracker.
    p = run({"-t", "-V"});
    CHECK(p.result.exit_now);
    CHECK(p.result.exit_code == 0);
}

TEST_CASE("test_config_file prints nutcracker's -t lines") {
    std::string good = temp_file("alpha:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n");
    std::string bad = temp_file("alpha:\n  listen: 127.0.0.1:22121\n  timeout: abc\n  servers:\n   - 127.0.0.1:11211:1\n");
    {
        Capture out;
        CHECK(test_config_file(good, {}, out.file()) == 0);
        CHECK(out.text() == "cachemux: configuration file '" + good + "' syntax is ok\n");
    }
    {
        Capture out;
        CHECK(test_config_file(bad, {}, out.file()) == 1);
        // Our precise error, then nutcracker 0.5.0's verdict, once (it prints it twice).
        std::string invalid = "cachemux: configuration file '" + bad + "' syntax is invalid\n";
        CHECK(out.text() == "cachemux: " + bad +
                                ":3: pool 'alpha': key 'timeout': invalid number \"abc\" (expected a "
                                "non-negative decimal integer below 2147483648)\n" +
                                invalid);
    }
    {
        // A file that does not open: the verdict once (nutcracker too).
        Capture out;
        CHECK(test_config_file("/nonexistent/x.yml", {}, out.file()) == 1);
        CHECK(out.text() ==
              "cachemux: /nonexistent/x.yml: cannot open configuration file: No such file or directory\n"
              "cachemux: configuration file '/nonexistent/x.yml' syntax is invalid\n");
    }
    {
        // The core's extra check (hash names, ...) can reject a parsed file.
        Capture out;
        int calls = 0;
        auto check = [&](const Config& c) {
            ++calls;
            throw config_error(c, c.pools[0], "hash", "unknown hash \"x\"");
        };
        CHECK(test_config_file(good, check, out.file()) == 1);
        CHECK(calls == 1);
        std::string invalid = "cachemux: configuration file '" + good + "' syntax is invalid\n";
        // Once, not twice: the missing-plugin case printed its verdict twice.
        CHECK(out.text() == "cachemux: " + good + ":1: pool 'alpha': key 'hash': unknown hash \"x\"\n" + invalid);
    }
    {
        Capture out;
        int calls = 0;
        CHECK(test_config_file(good, [&](const Config&) { ++calls; }, out.file()) == 0);
        CHECK(calls == 1);
    }
    {
        // Not only ConfigError: any exception from the check is a failure.
        Capture out;
        CHECK(test_config_file(good, [](const Config&) { throw std::runtime_error("boom"); }, out.file()) == 1);
        CHECK(out.text().starts_with("cachemux: boom\n"));
    }
    std::remove(good.c_str());
    std::remove(bad.c_str());
}

TEST_CASE("--watch-config: off unless given, takes no value") {
    CHECK_FALSE(run({}).result.options.watch_config);
    CHECK(run({"--watch-config"}).result.options.watch_config);
    Parsed valued = run({"--watch-config=yes"});
    CHECK(valued.result.exit_code == 1);
    CHECK(valued.output.find("cachemux: option --watch-config takes no value") != std::string::npos);
}
