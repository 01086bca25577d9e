// --watch-config: reloads when the -c file changes, without a signal.
//
// Polls once a second with stat(), which follows symlinks: an edit in place,
// an editor's rename over the file, and the symlink swap with which
// Kubernetes updates a mounted ConfigMap (`..data` repointed) all change
// what it reports (device, inode, size or modification time). A change
// asks for a reload once it has held still for one more poll, so a file
// still being written is not read half-way (mcrouter waits the same way).
// Polling rather than inotify: a watch on a file is lost when the file is
// renamed over or its symlink moves, which is exactly how configs change.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace cachemux {

class ConfigReloader;

class ConfigWatcher {
public:
    ConfigWatcher(event_base* base, std::string file, ConfigReloader& reloader);
    ~ConfigWatcher();
    ConfigWatcher(const ConfigWatcher&) = delete;
    ConfigWatcher& operator=(const ConfigWatcher&) = delete;

private:
    // What stat() says of the file; all zero when it is missing.
    struct Signature {
        dev_t device = 0;
        ino_t inode = 0;
        off_t size = 0;
        std::int64_t modified_ns = 0;
        bool operator==(const Signature&) const = default;
    };
    Signature read_signature() const;
    static void on_poll(evutil_socket_t fd, short events, void* arg);
    void poll();

    std::string file_;
    ConfigReloader& reloader_;
    event* timer_ = nullptr;
    Signature loaded_;        // of the file last handed to a reload (or read at start)
    Signature changed_;       // a change seen at the last poll, waiting to hold still
    bool settling_ = false;
};

}  // namespace cachemux
