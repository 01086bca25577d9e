// nutcracker's command line, same flags, same defaults.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace cachemux {

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
};

// Outcome of parsing argv: run, or exit with `exit_code` after printing `message`.
struct OptionsResult {
    Options options;
    bool exit_now = false;
    int exit_code = 0;
};

OptionsResult parse_options(int argc, char** argv);
void print_usage(std::FILE* out);

}  // namespace cachemux
