#include "proxy/flush_queue.hpp"

namespace cachemux {

FlushQueue::FlushQueue(event_base* base) : event_(event_new(base, -1, 0, &FlushQueue::on_flush, this)) {}

FlushQueue::~FlushQueue() { event_free(event_); }

void FlushQueue::schedule(Flushable* f) {
    if (f->flush_scheduled_) {
        return;
    }
    f->flush_scheduled_ = true;
    f->flush_slot_ = pending_.size();
    pending_.push_back(f);
    if (pending_.size() == 1 && !running_) {
        event_active(event_, 0, 0);  // no syscall: runs after this turn's other callbacks
    }
}

void FlushQueue::cancel(Flushable* f) {
    if (f->flush_scheduled_) {
        pending_[f->flush_slot_] = nullptr;
        f->flush_scheduled_ = false;
    }
}

void FlushQueue::on_flush(evutil_socket_t, short, void* arg) { static_cast<FlushQueue*>(arg)->run(); }

void FlushQueue::run() {
    running_ = true;
    // A flush may schedule more (a failed server answers its clients): they
    // are appended and run in this same pass.
    for (std::size_t i = 0; i < pending_.size(); ++i) {
        Flushable* f = pending_[i];
        if (f != nullptr) {
            f->flush_scheduled_ = false;
            f->flush();
        }
    }
    pending_.clear();
    running_ = false;
}

}  // namespace cachemux
