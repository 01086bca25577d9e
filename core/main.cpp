// cachemux: command line, configuration, plugins, then the event loop.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

#include "config/config.hpp"
#include "config/options.hpp"
#include "process/fatal_signals.hpp"
#include "process/log.hpp"
#include "process/process.hpp"
#include "proxy/proxy.hpp"
#include "registry/plugin_registry.hpp"
#include "reload/config_load.hpp"
#include "reload/config_reloader.hpp"
#include "reload/config_watcher.hpp"
#include "routing/server_pool.hpp"
#include "stats/stats.hpp"
#include "stats/stats_server.hpp"

namespace {


// nutcracker writes every signal's line whatever -v says.
void log_signal(int signal, const char* action) {
    CACHEMUX_LOG(cachemux::kLogEmerg, "signal %d (SIG%s) received%s", signal, sigabbrev_np(signal), action);
}

void on_stop_signal(evutil_socket_t signal, short, void* arg) {
    log_signal(signal, ", exiting");
    static_cast<cachemux::Proxy*>(arg)->stop();
}

// nutcracker's log signals: SIGHUP reopens the -o file, SIGTTIN and SIGTTOU
// raise and lower the level.
void on_log_signal(evutil_socket_t signal, short, void*) {
    switch (signal) {
    case SIGHUP:
        log_signal(signal, ", reopening log file");
        cachemux::reopen_log_file();
        break;
    case SIGTTIN:
        log_signal(signal, ", up logging level");
        cachemux::log_level_up();
        break;
    case SIGTTOU:
        log_signal(signal, ", down logging level");
        cachemux::log_level_down();
        break;
    }
}

// SIGUSR1 reloads the -c file (nutcracker 0.5.0 only logs it; SIGHUP
// stays the log reopen that Debian's logrotate sends).
void on_reload_signal(evutil_socket_t signal, short, void* arg) {
    log_signal(signal, ", reloading configuration");
    static_cast<cachemux::ConfigReloader*>(arg)->request();
}

// SIGUSR2: logged and otherwise ignored, as nutcracker 0.5.0 does.
void on_user_signal(evutil_socket_t signal, short, void*) { log_signal(signal, ""); }

// The loop's signal events, freed with it.
class SignalEvents {
public:
    explicit SignalEvents(event_base* base) : base_(base) {}
    ~SignalEvents() {
        for (event* e : events_) event_free(e);
    }
    void add(int signal, event_callback_fn callback, void* arg) {
        event* e = evsignal_new(base_, signal, callback, arg);
        event_add(e, nullptr);
        events_.push_back(e);
    }

private:
    event_base* base_;
    std::vector<event*> events_;
};

std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) {
        return "unknown";
    }
    return name;
}

}  // namespace

int main(int argc, char** argv) {
    cachemux::install_fatal_signal_handlers();
    // Until the loop watches them, a SIGUSR1/2 (meant for a reload, say) must
    // not kill a proxy that is still starting.
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    cachemux::OptionsResult parsed = cachemux::parse_options(argc, argv);
    if (parsed.exit_now) {
        if (parsed.options.describe_stats) {
            cachemux::describe_stats(stderr);
        }
        return parsed.exit_code;
    }
    // Opened again later (SIGHUP's reopen, the pid file's removal): pinned to
    // the directory cachemux started in.
    parsed.options.log_file = cachemux::absolute_path(parsed.options.log_file);
    parsed.options.pid_file = cachemux::absolute_path(parsed.options.pid_file);
    // SIGUSR1 rereads it after -d's chdir too (as given, it names the file
    // in -t's messages and at start).
    const std::string reload_file = cachemux::absolute_path(parsed.options.conf_file);
    const cachemux::Options& options = parsed.options;
    const std::filesystem::path plugin_dir = options.plugin_dir.empty()
                                                 ? cachemux::default_plugin_dir()
                                                 : std::filesystem::path(options.plugin_dir);
    // Plugins are part of validity: a pool naming a hash no plugin provides
    // is an error. A reload checks a file the same way.
    auto check_plugins = [&](const cachemux::Config& config) { cachemux::build_pools(config, plugin_dir); };
    if (options.test_conf) {
        return cachemux::test_config_file(options.conf_file, check_plugins);
    }

    std::vector<std::shared_ptr<const cachemux::ServerPool>> pools;
    try {
        pools = cachemux::load_and_build(options.conf_file, plugin_dir).pools;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cachemux: %s\n", e.what());
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    try {
        // After the config is known good, so its errors reach the terminal;
        // before the event loop exists, which does not survive a fork.
        cachemux::set_log_level(options.verbosity);
        if (!options.log_file.empty()) {
            cachemux::open_log_file(options.log_file);
        }
        if (options.daemonize) {
            cachemux::daemonize(!options.log_file.empty());
        }
        std::optional<cachemux::PidFile> pid_file;
        if (!options.pid_file.empty()) {
            pid_file.emplace(options.pid_file);
        }
        cachemux::Proxy proxy(static_cast<std::size_t>(options.workers), options.mbuf_size, std::move(pools));
        proxy.listen();
        // A reload rereads the file by its absolute path, following a
        // symlink that has moved since (a Kubernetes ConfigMap update).
        cachemux::ConfigReloader reloader(proxy, proxy.base(), reload_file, plugin_dir);
        std::optional<cachemux::ConfigWatcher> watcher;
        if (options.watch_config) {
            watcher.emplace(proxy.base(), reload_file, reloader);
        }
        cachemux::StatsServer stats(proxy.base(), options.stats_addr, options.stats_port,
                                    [&](cachemux::StatsSnapshot& snapshot) {
                                        proxy.collect_stats(snapshot);
                                        reloader.add_stats_to(snapshot);
                                    });
        stats.set_identity(host_name(), CACHEMUX_VERSION, proxy.started_at());
        stats.listen();
        SignalEvents signals(proxy.base());
        signals.add(SIGINT, on_stop_signal, &proxy);
        signals.add(SIGTERM, on_stop_signal, &proxy);
        signals.add(SIGHUP, on_log_signal, nullptr);
        signals.add(SIGTTIN, on_log_signal, nullptr);
        signals.add(SIGTTOU, on_log_signal, nullptr);
        signals.add(SIGUSR1, on_reload_signal, &reloader);
        signals.add(SIGUSR2, on_user_signal, nullptr);
        CACHEMUX_LOG(cachemux::kLogNotice, "cachemux-%s started on pid %d with %d worker%s", CACHEMUX_VERSION,
                     static_cast<int>(getpid()), options.workers, options.workers == 1 ? "" : "s");
        proxy.run();
        CACHEMUX_LOG(cachemux::kLogNotice, "cachemux-%s stopped", CACHEMUX_VERSION);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cachemux: %s\n", e.what());
        return 1;
    }
    return 0;
}
