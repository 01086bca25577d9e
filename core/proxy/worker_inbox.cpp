#include "proxy/worker_inbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace cachemux {

WorkerInbox::WorkerInbox() : eventfd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (eventfd_ < 0) {
        throw std::runtime_error(std::string("cannot create a worker's eventfd: ") + std::strerror(errno));
    }
}

WorkerInbox::~WorkerInbox() {
    if (event_ != nullptr) {
        event_free(event_);
    }
    for (int fd : take_unread_sockets()) {
        ::close(fd);
    }
    ::close(eventfd_);
}

void WorkerInbox::attach(event_base* base, Handler handler) {
    handler_ = std::move(handler);
    event_ = event_new(base, eventfd_, EV_READ | EV_PERSIST, &WorkerInbox::on_ready, this);
    event_add(event_, nullptr);
}

void WorkerInbox::post(const WorkerMessage& message) {
    bool first;
    {
        std::lock_guard lock(mutex_);
        first = queued_.empty();
        queued_.push_back(message);
    }
    // One wakeup for a batch: the worker drains the whole queue per wakeup.
    if (first) {
        std::uint64_t one = 1;
        ssize_t ignored = ::write(eventfd_, &one, sizeof one);
        (void)ignored;  // only fails when the counter is full, and then it is readable anyway
    }
}

void WorkerInbox::on_ready(evutil_socket_t fd, short, void* arg) {
    auto* self = static_cast<WorkerInbox*>(arg);
    std::uint64_t count;
    ssize_t ignored = ::read(fd, &count, sizeof count);
    (void)ignored;
    {
        std::lock_guard lock(self->mutex_);
        self->taken_.swap(self->queued_);
    }
    for (std::size_t i = 0; i < self->taken_.size(); ++i) {
        self->handler_(self->taken_[i]);
    }
    self->taken_.clear();
}

std::vector<int> WorkerInbox::take_unread_sockets() {
    std::vector<int> fds;
    std::lock_guard lock(mutex_);
    for (const WorkerMessage& m : queued_) {
        if (m.kind == WorkerMessage::Kind::Client) {
            fds.push_back(m.fd);
        }
    }
    queued_.clear();
    return fds;
}

}  // namespace cachemux
