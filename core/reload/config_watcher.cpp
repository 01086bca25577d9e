#include "reload/config_watcher.hpp"

#include <sys/stat.h>

#include <stdexcept>

#include "reload/config_reloader.hpp"

namespace cachemux {

ConfigWatcher::ConfigWatcher(event_base* base, std::string file, ConfigReloader& reloader)
    : file_(std::move(file)), reloader_(reloader), loaded_(read_signature()) {
    timer_ = event_new(base, -1, EV_PERSIST, &ConfigWatcher::on_poll, this);
    if (timer_ == nullptr) {
        throw std::runtime_error("cannot create the config watch timer");
    }
    timeval every_second{1, 0};
    event_add(timer_, &every_second);
}

ConfigWatcher::~ConfigWatcher() { event_free(timer_); }

ConfigWatcher::Signature ConfigWatcher::read_signature() const {
    struct stat st {};
    if (::stat(file_.c_str(), &st) != 0) {
        return {};
    }
    return {st.st_dev, st.st_ino, st.st_size,
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

void ConfigWatcher::on_poll(evutil_socket_t, short, void* arg) { static_cast<ConfigWatcher*>(arg)->poll(); }

void ConfigWatcher::poll() {
    Signature now = read_signature();
    if (now == loaded_ || now == Signature{}) {
        settling_ = false;  // back as it was, or missing for a moment mid-swap
        return;
    }
    if (!settling_ || now != changed_) {
        changed_ = now;
        settling_ = true;
        return;
    }
    settling_ = false;
    loaded_ = now;
    reloader_.request();
}

}  // namespace cachemux
