#include "reload/config_reloader.hpp"

#include <ctime>
#include <exception>
#include <stdexcept>

#include "process/log.hpp"
#include "proxy/proxy.hpp"
#include "reload/config_load.hpp"

namespace cachemux {

ConfigReloader::ConfigReloader(Proxy& proxy, event_base* base, std::string file, std::filesystem::path plugin_dir)
    : proxy_(proxy), file_(std::move(file)), plugin_dir_(std::move(plugin_dir)) {
    event_ = event_new(base, -1, 0, &ConfigReloader::on_request, this);
    if (event_ == nullptr) {
        throw std::runtime_error("cannot create the reload event");
    }
    counts_.last_success_at = proxy_.started_at();
}

ConfigReloader::~ConfigReloader() { event_free(event_); }

// Activating an event that is already active changes nothing: that is the
// coalescing.
void ConfigReloader::request() { event_active(event_, EV_TIMEOUT, 0); }

void ConfigReloader::on_request(evutil_socket_t, short, void* arg) { static_cast<ConfigReloader*>(arg)->reload(); }

// Both outcomes are logged whatever -v says, as the signal's own line is:
// whoever sent the signal looks for the answer.
void ConfigReloader::reload() {
    auto generation = static_cast<unsigned long long>(proxy_.generation());
    try {
        LoadedConfig loaded = load_and_build(file_, plugin_dir_);
        Proxy::ReloadSummary done = proxy_.reload(std::move(loaded.pools), loaded.config.file);
        ++counts_.succeeded;
        counts_.last_success_at = std::time(nullptr);
        CACHEMUX_LOG(kLogEmerg,
                     "reload of '%s' done: generation %llu, %zu pools (%zu new, %zu removed), servers %zu kept, "
                     "%zu new, %zu removed; %zu listeners opened, %zu closed",
                     file_.c_str(), static_cast<unsigned long long>(proxy_.generation()), done.pools,
                     done.pools_added, done.pools_removed, done.servers_kept, done.servers_added,
                     done.servers_removed, done.listeners_opened, done.listeners_closed);
    } catch (const std::exception& e) {
        ++counts_.failed;
        CACHEMUX_LOG(kLogEmerg, "reload of '%s' failed: %s; generation %llu serves on", file_.c_str(), e.what(),
                     generation);
    }
}

}  // namespace cachemux
