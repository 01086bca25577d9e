// Reloads the `-c` file on request (SIGUSR1, or the file watcher) on the
// control loop, and counts how that went for /metrics.
//
// Requests coalesce: any number made before the reload starts make one
// reload, of the file as it is when it starts; one made during a reload (a
// signal the loop sees afterwards) makes one more. So the newest file wins.
// Any error leaves the running configuration as it was, and is logged with
// the message `-t` would print (file, line, key).
#pragma once

#include <event2/event.h>

#include <filesystem>
#include <string>

#include "stats/stats.hpp"

namespace cachemux {

class Proxy;

class ConfigReloader {
public:
    ConfigReloader(Proxy& proxy, event_base* base, std::string file, std::filesystem::path plugin_dir);
    ~ConfigReloader();
    ConfigReloader(const ConfigReloader&) = delete;
    ConfigReloader& operator=(const ConfigReloader&) = delete;

    // A reload runs on the next loop turn.
    void request();
    // The reload counts, for the stats port.
    void add_stats_to(StatsSnapshot& snapshot) const { snapshot.reloads = counts_; }

private:
    static void on_request(evutil_socket_t fd, short events, void* arg);
    void reload();

    Proxy& proxy_;
    std::string file_;
    std::filesystem::path plugin_dir_;
    event* event_ = nullptr;
    StatsSnapshot::Reloads counts_;
};

}  // namespace cachemux
