// Writes deferred to the end of the current event-loop turn.
//
// A connection with bytes to send asks to be flushed instead of writing at
// once, so everything the turn produced for one socket (requests from many
// clients for one server, many replies for one pipelining client) leaves in
// one writev, and no epoll_ctl is spent arming write events that are almost
// always ready. The write event is armed only after a short write (EAGAIN).
#pragma once

#include <event2/event.h>

#include <cstddef>
#include <vector>

namespace cachemux {

class Flushable {
public:
    virtual void flush() = 0;

protected:
    ~Flushable() = default;

private:
    friend class FlushQueue;
    bool flush_scheduled_ = false;
    std::size_t flush_slot_ = 0;
};

class FlushQueue {
public:
    explicit FlushQueue(event_base* base);
    ~FlushQueue();
    FlushQueue(const FlushQueue&) = delete;
    FlushQueue& operator=(const FlushQueue&) = delete;

    void schedule(Flushable* f);
    // A connection going away before its flush ran.
    void cancel(Flushable* f);

private:
    static void on_flush(evutil_socket_t fd, short events, void* arg);
    void run();

    event* event_;
    std::vector<Flushable*> pending_;
    bool running_ = false;
};

}  // namespace cachemux
