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
#include "registry/config_plugins.hpp"
#include "registry/plugin_registry.hpp"
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

// SIGUSR1 and SIGUSR2: logged and otherwise ignored, as nutcracker 0.5.0
// does. SIGUSR1 becomes "reload the configuration" in a later issue.
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

// Builds every pool's routing from the config; throws ConfigError.
std::vector<std::shared_ptr<const cachemux::ServerPool>> build_pools(const cachemux::Config& config,
                                                                     cachemux::PluginRegistry& registry) {
    cachemux::load_listed_plugins(config, registry);
    std::vector<std::shared_ptr<const cachemux::ServerPool>> pools;
    for (const cachemux::PoolConfig& pool : config.pools) {
        pools.push_back(cachemux::ServerPool::build(pool, registry, config.file));
    }
    return pools;
}

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
    const cachemux::Options& options = parsed.options;
    cachemux::PluginRegistry registry(options.plugin_dir.empty() ? cachemux::default_plugin_dir()
                                                                 : std::filesystem::path(options.plugin_dir));
    // Plugins are part of validity: a pool naming a hash no plugin provides is an error.
    auto check_plugins = [&](const cachemux::Config& config) { build_pools(config, registry); };
    if (options.test_conf) {
        return cachemux::test_config_file(options.conf_file, check_plugins);
    }

    std::vector<std::shared_ptr<const cachemux::ServerPool>> pools;
    try {
        cachemux::Config config = cachemux::load_config(options.conf_file);
        pools = build_pools(config, registry);
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
        cachemux::StatsServer stats(proxy.base(), options.stats_addr, options.stats_port,
                                    [&proxy](cachemux::StatsSnapshot& snapshot) { proxy.collect_stats(snapshot); });
        stats.set_identity(host_name(), CACHEMUX_VERSION, proxy.started_at());
        stats.listen();
        SignalEvents signals(proxy.base());
        signals.add(SIGINT, on_stop_signal, &proxy);
        signals.add(SIGTERM, on_stop_signal, &proxy);
        signals.add(SIGHUP, on_log_signal, nullptr);
        signals.add(SIGTTIN, on_log_signal, nullptr);
        signals.add(SIGTTOU, on_log_signal, nullptr);
        signals.add(SIGUSR1, on_user_signal, nullptr);
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
