// How other threads reach a worker: a queue of messages under a mutex and
// an eventfd the worker's loop watches. No libevent call ever crosses
// threads, so the worker's event_base needs no locking of its own.
//
// The control thread posts accepted clients here, reloads, and the stop at
// exit: once per connection or per reload, never per request.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace cachemux {

struct ReloadPlan;

struct WorkerMessage {
    enum class Kind : std::uint8_t { Client, Reload, Stop };
    Kind kind;
    std::uint32_t pool = 0;  // Client: the pool's index
    int fd = -1;             // Client: the accepted socket, now the worker's
    ReloadPlan* plan = nullptr;  // Reload: lives until every worker counted down its latch
};

class WorkerInbox {
public:
    using Handler = std::function<void(const WorkerMessage&)>;
    // Throws std::runtime_error if the eventfd cannot be made.
    WorkerInbox();
    ~WorkerInbox();
    WorkerInbox(const WorkerInbox&) = delete;
    WorkerInbox& operator=(const WorkerInbox&) = delete;

    // The worker's side: `handler` runs on `base`'s thread for each message.
    void attach(event_base* base, Handler handler);
    // Any thread.
    void post(const WorkerMessage& message);
    // Messages never delivered (the worker stopped first): their sockets.
    std::vector<int> take_unread_sockets();

private:
    static void on_ready(evutil_socket_t fd, short events, void* arg);

    int eventfd_;
    event* event_ = nullptr;
    Handler handler_;
    std::mutex mutex_;
    std::vector<WorkerMessage> queued_;  // guarded by mutex_
    std::vector<WorkerMessage> taken_;   // the worker's: swapped with queued_ to deliver
};

}  // namespace cachemux
