// nutcracker's command line (src/nc.c of nutcracker 0.5.0): the same flags,
// parsed by the same getopt_long() call, the same range checks, the same
// messages on the same stream (stderr), with "cachemux" for "nutcracker".
#include "config/nc_atoi.hpp"
#include "config/options.hpp"

#include <event2/event.h>
#include <getopt.h>
#include <sched.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

#ifndef CACHEMUX_VERSION
#define CACHEMUX_VERSION "unknown"
#endif
#ifndef CACHEMUX_INSTALL_PLUGIN_DIR
#define CACHEMUX_INSTALL_PLUGIN_DIR "the installed plugin directory"
#endif

namespace cachemux {
namespace {

// Long-only: no short letter, so that no nutcracker flag changes meaning.
constexpr int kPluginDirOption = 0x100;
constexpr int kWorkersOption = 0x101;
constexpr int kWatchConfigOption = 0x102;

// As nutcracker's, in nutcracker's order, then ours.
const option kLongOptions[] = {
    {"help", no_argument, nullptr, 'h'},
    {"version", no_argument, nullptr, 'V'},
    {"test-conf", no_argument, nullptr, 't'},
    {"daemonize", no_argument, nullptr, 'd'},
    {"describe-stats", no_argument, nullptr, 'D'},
    {"verbose", required_argument, nullptr, 'v'},
    {"output", required_argument, nullptr, 'o'},
    {"conf-file", required_argument, nullptr, 'c'},
    {"stats-port", required_argument, nullptr, 's'},
    {"stats-interval", required_argument, nullptr, 'i'},
    {"stats-addr", required_argument, nullptr, 'a'},
    {"pid-file", required_argument, nullptr, 'p'},
    {"mbuf-size", required_argument, nullptr, 'm'},
    {"plugin-dir", required_argument, nullptr, kPluginDirOption},
    {"workers", required_argument, nullptr, kWorkersOption},
    {"watch-config", no_argument, nullptr, kWatchConfigOption},
    {nullptr, 0, nullptr, 0},
};

constexpr char kShortOptions[] = "hVtdDv:o:c:s:i:a:p:m:";


// "--p" and "--pi" abbreviate --pid-file for nutcracker; --plugin-dir would
// make them ambiguous, so they keep meaning --pid-file.
bool abbreviates_pid_file(std::string_view arg) {
    if (!arg.starts_with("--")) return false;
    std::string_view name = arg.substr(2, arg.find('=') == std::string_view::npos ? std::string_view::npos
                                                                                   : arg.find('=') - 2);
    return name == "p" || name == "pi";
}

// Like log_stderr(): the text and a newline. %c of 0 writes a NUL byte, as
// nutcracker does for an unknown long option.
void say(std::FILE* out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void say(std::FILE* out, const char* fmt, ...) {
    va_list args;
    va_start(args, fmt);
    std::vfprintf(out, fmt, args);
    va_end(args);
    std::fputc('\n', out);
}

std::string event_backend() {
    std::string method = "unknown";
    if (event_base* base = event_base_new()) {
        if (const char* m = event_base_get_method(base)) method = m;
        event_base_free(base);
    }
    return method;
}

// --workers: a count, or "auto" for the CPUs this process may run on
// (its affinity mask, as taskset or a cgroup's cpuset leaves it).
int parse_workers(std::string_view arg) {
    if (arg == "auto") {
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        if (sched_getaffinity(0, sizeof cpus, &cpus) != 0) return 1;
        return std::clamp(CPU_COUNT(&cpus), 1, kMaxWorkers);
    }
    int value = nc_atoi(arg);
    return value >= 1 && value <= kMaxWorkers ? value : -1;
}

}  // namespace

void print_version(std::FILE* out) {
    std::fprintf(out, "This is cachemux-%s\n", CACHEMUX_VERSION);
    std::fprintf(out, "async event backend: %s\n\n", event_backend().c_str());
    std::fflush(out);
}

void print_usage(std::FILE* out) {
    // nutcracker's layout, carriage returns included.
    std::fprintf(out,
                 "Usage: cachemux [-?hVdDt] [-v verbosity level] [-o output file]\r\n"
                 "                [-c conf file] [-s stats port] [-a stats addr]\r\n"
                 "                [-i stats interval] [-p pid file] [-m mbuf size]\r\n"
                 "                [--plugin-dir dir] [--workers N|auto] [--watch-config]\r\n"
                 "\n");
    std::fprintf(out,
                 "Options:\r\n"
                 "  -h, --help             : this help\r\n"
                 "  -V, --version          : show version and exit\r\n"
                 "  -t, --test-conf        : test configuration for syntax errors and exit\r\n"
                 "  -d, --daemonize        : run as a daemon\r\n"
                 "  -D, --describe-stats   : print stats description and exit\n");
    std::fprintf(out,
                 "  -v, --verbose=N        : set logging level (default: %d, min: %d, max: %d)\r\n"
                 "  -o, --output=S         : set logging file (default: %s)\r\n"
                 "  -c, --conf-file=S      : set configuration file (default: %s)\r\n"
                 "  -s, --stats-port=N     : set stats monitoring port (default: %d)\r\n"
                 "  -a, --stats-addr=S     : set stats monitoring ip (default: %s)\r\n"
                 "  -i, --stats-interval=N : set stats aggregation interval in msec (default: %d msec)\r\n"
                 "  -p, --pid-file=S       : set pid file (default: %s)\r\n"
                 "  -m, --mbuf-size=N      : set size of mbuf chunk in bytes (default: %zu bytes)\r\n"
                 "      --plugin-dir=DIR   : load plugins from DIR (default: plugins/ next to the binary,\r\n"
                 "                           else %s)\r\n"
                 "      --workers=N|auto   : set number of worker threads (default: 1; auto: one per CPU)\r\n"
                 "      --watch-config     : reload the configuration file when it changes (SIGUSR1 always does)\r\n"
                 "\n",
                 kDefaultVerbosity, kMinVerbosity, kMaxVerbosity, "stderr", kDefaultConfFile,
                 Options{}.stats_port, Options{}.stats_addr.c_str(), Options{}.stats_interval_ms, "off",
                 Options{}.mbuf_size, CACHEMUX_INSTALL_PLUGIN_DIR);
    std::fflush(out);
}

OptionsResult parse_options(int argc, char** argv) { return parse_options(argc, argv, stderr); }

OptionsResult parse_options(int argc, char** argv, std::FILE* out) {
    OptionsResult result;
    Options& o = result.options;
    o.conf_file = kDefaultConfFile;
    o.verbosity = kDefaultVerbosity;

    // getopt_long() permutes its argv: work on a copy of the pointers.
    std::vector<std::string> rewritten;
    rewritten.reserve(static_cast<std::size_t>(argc > 0 ? argc : 0));
    std::vector<char*> args;
    bool options_done = false;
    for (int i = 0; i < argc; ++i) {
        std::string_view arg = argv[i] ? argv[i] : "";
        if (i > 0 && !options_done && arg == "--") options_done = true;
        if (i > 0 && !options_done && abbreviates_pid_file(arg)) {
            auto eq = arg.find('=');
            rewritten.push_back("--pid-file" + std::string(eq == std::string_view::npos ? "" : arg.substr(eq)));
            args.push_back(rewritten.back().data());
        } else {
            args.push_back(argv[i]);
        }
    }
    args.push_back(nullptr);
    int n = static_cast<int>(args.size()) - 1;

    auto error = [&](int code) {
        print_usage(out);
        result.exit_now = true;
        result.exit_code = code;
        return result;
    };

    optind = 0;  // glibc: start over, whatever parsed before
    opterr = 0;
    for (;;) {
        int c = getopt_long(n, args.data(), kShortOptions, kLongOptions, nullptr);
        if (c == -1) break;
        int value;
        switch (c) {
        case 'h':
            o.show_version = true;
            o.show_help = true;
            break;
        case 'V':
            o.show_version = true;
            break;
        case 't':
            o.test_conf = true;
            break;
        case 'd':
            o.daemonize = true;
            break;
        case 'D':
            o.describe_stats = true;
            o.show_version = true;
            break;
        case 'v':
            value = nc_atoi(optarg);
            if (value < 0) {
                say(out, "cachemux: option -v requires a number");
                return error(1);
            }
            o.verbosity = value;
            break;
        case 'o':
            o.log_file = optarg;
            break;
        case 'c':
            o.conf_file = optarg;
            break;
        case 's':
            value = nc_atoi(optarg);
            if (value < 0) {
                say(out, "cachemux: option -s requires a number");
                return error(1);
            }
            if (value < 1 || value > 65535) {
                say(out, "cachemux: option -s value %d is not a valid port", value);
                return error(1);
            }
            o.stats_port = value;
            break;
        case 'i':
            value = nc_atoi(optarg);
            if (value < 0) {
                say(out, "cachemux: option -i requires a number");
                return error(1);
            }
            o.stats_interval_ms = value;
            break;
        case 'a':
            o.stats_addr = optarg;
            break;
        case 'p':
            o.pid_file = optarg;
            break;
        case 'm':
            value = nc_atoi(optarg);
            if (value <= 0) {
                say(out, "cachemux: option -m requires a non-zero number");
                return error(1);
            }
            if (static_cast<std::size_t>(value) < kMinMbufSize ||
                static_cast<std::size_t>(value) > kMaxMbufSize) {
                say(out, "cachemux: mbuf chunk size must be between %zu and %zu bytes", kMinMbufSize,
                    kMaxMbufSize);
                return error(1);
            }
            o.mbuf_size = static_cast<std::size_t>(value);
            break;
        case kPluginDirOption:
            if (*optarg == '\0') {
                say(out, "cachemux: option --plugin-dir requires a directory name");
                return error(1);
            }
            o.plugin_dir = optarg;
            break;
        case kWorkersOption:
            o.workers = parse_workers(optarg);
            if (o.workers < 0) {
                say(out, "cachemux: option --workers requires a number from 1 to %d or 'auto'", kMaxWorkers);
                return error(1);
            }
            break;
        case kWatchConfigOption:
            o.watch_config = true;
            break;
        case '?':
            switch (optopt) {
            case 'o':
            case 'c':
            case 'p':
                say(out, "cachemux: option -%c requires a file name", optopt);
                break;
            case 'm':
            case 'v':
            case 's':
            case 'i':
                say(out, "cachemux: option -%c requires a number", optopt);
                break;
            case 'a':
                say(out, "cachemux: option -%c requires a string", optopt);
                break;
            case kPluginDirOption:
                say(out, "cachemux: option --plugin-dir requires a directory name");
                break;
            case kWorkersOption:
                say(out, "cachemux: option --workers requires a number from 1 to %d or 'auto'", kMaxWorkers);
                break;
            case kWatchConfigOption:
                say(out, "cachemux: option --watch-config takes no value");
                break;
            default:
                // An unknown long option has optopt 0: nutcracker prints a NUL.
                say(out, "cachemux: invalid option -- '%c'", optopt);
                break;
            }
            return error(1);
        default:
            say(out, "cachemux: invalid option -- '%c'", optopt);
            return error(1);
        }
    }

    if (o.show_version) {
        print_version(out);
        if (o.show_help) print_usage(out);
        result.exit_now = true;
        result.exit_code = 0;
    }
    return result;
}

int test_config_file(const std::string& file, const std::function<void(const Config&)>& extra_check,
                     std::FILE* out) {
    try {
        Config config = load_config(file);
        if (extra_check) extra_check(config);
        say(out, "cachemux: configuration file '%s' syntax is ok", file.c_str());
        return 0;
    } catch (const std::exception& e) {
        say(out, "cachemux: %s", e.what());
    }
    // Once: nutcracker 0.5.0 prints this line twice for a file it opened,
    // which reads as two verdicts.
    say(out, "cachemux: configuration file '%s' syntax is invalid", file.c_str());
    return 1;
}

}  // namespace cachemux
