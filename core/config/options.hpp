// nutcracker's command line, same flags, same defaults.
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>

namespace cachemux {

struct Config;

// Upstream twemproxy's defaults (Debian's build shows its own paths instead).
inline constexpr const char* kDefaultConfFile = "conf/nutcracker.yml";
inline constexpr int kDefaultVerbosity = 5;  // LOG_NOTICE
inline constexpr int kMinVerbosity = 0;      // LOG_EMERG
inline constexpr int kMaxVerbosity = 11;     // LOG_PVERB
inline constexpr std::size_t kMinMbufSize = 512;
inline constexpr std::size_t kMaxMbufSize = 16777216;
inline constexpr int kMaxWorkers = 1024;

struct Options {
    bool show_help = false;
    bool show_version = false;
    bool test_conf = false;
    bool daemonize = false;
    bool describe_stats = false;
    int verbosity = 5;
    std::string log_file;   // empty: stderr
    std::string conf_file;  // see options.cpp for the default
    int stats_port = 22222;
    std::string stats_addr = "0.0.0.0";
    int stats_interval_ms = 30000;
    std::string pid_file;  // empty: none
    std::size_t mbuf_size = 16384;
    std::string plugin_dir;  // empty: next to the executable, or the installed dir
    // --workers: event-loop threads, each with its own client and server
    // connections. 1 keeps nutcracker's connection counts; "auto" is
    // resolved to the CPUs of the affinity mask while parsing.
    int workers = 1;
    // --watch-config: reload when the -c file changes (as SIGUSR1 does).
    bool watch_config = false;
};

// Outcome of parsing argv: run, or exit with `exit_code` after printing `message`.
struct OptionsResult {
    Options options;
    bool exit_now = false;
    int exit_code = 0;
};

// Parses argv with nutcracker's flags (getopt_long "hVtdDv:o:c:s:i:a:p:m:"
// plus --plugin-dir=DIR, --workers=N|auto and --watch-config) and prints what nutcracker prints, to stderr like
// nutcracker: the version banner for -V/-h/-D, the usage for -h, an error and
// the usage for a bad option. Never exits.
//   - a bad option:  exit_now, exit_code 1;
//   - -V, -h or -D:  exit_now, exit_code 0. With -D (options.describe_stats)
//     the caller prints the stats description before exiting, as nutcracker
//     prints it after the banner and the usage;
//   - otherwise:     run (options.test_conf: see test_config_file()).
OptionsResult parse_options(int argc, char** argv);
// Same, printing to `out` instead of stderr (tests).
OptionsResult parse_options(int argc, char** argv, std::FILE* out);

// nutcracker's usage text, with cachemux's name, defaults and --plugin-dir.
void print_usage(std::FILE* out);
// "This is cachemux-VERSION", the event backend and a blank line.
void print_version(std::FILE* out);

// -t: loads `file`, runs `extra_check` on the result (the core checks hash
// and distribution names there; it may throw ConfigError), and prints
// nutcracker's verdict to `out`:
//   "cachemux: configuration file 'FILE' syntax is ok"          -> returns 0
// or the ConfigError message followed by nutcracker 0.5.0's verdict, once
//   "cachemux: configuration file 'FILE' syntax is invalid"     -> returns 1
// (nutcracker prints it twice unless the file did not open).
int test_config_file(const std::string& file,
                     const std::function<void(const Config&)>& extra_check = {},
                     std::FILE* out = stderr);

}  // namespace cachemux
