// An event_base of one's own: made with the object, freed with it. As a
// class's first member it is freed last, after every event made on it.
#pragma once

#include <event2/event.h>

namespace cachemux {

class EventLoop {
public:
    EventLoop() : base_(event_base_new()) {}
    ~EventLoop() {
        if (base_ != nullptr) {
            event_base_free(base_);
        }
    }
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // nullptr if libevent could not make one.
    event_base* get() const { return base_; }

private:
    event_base* base_;
};

}  // namespace cachemux
