// An intrusive FIFO of requests, linked through Request::next_in_server, so
// queuing a request on a server connection never allocates.
#pragma once

#include "proxy/request.hpp"

namespace cachemux {

class RequestQueue {
public:
    bool empty() const { return head_ == nullptr; }
    Request* front() const { return head_; }

    void push_back(Request* r) {
        r->next_in_server = nullptr;
        if (tail_ == nullptr) {
            head_ = tail_ = r;
        } else {
            tail_->next_in_server = r;
            tail_ = r;
        }
    }

    void push_front(Request* r) {
        r->next_in_server = head_;
        head_ = r;
        if (tail_ == nullptr) {
            tail_ = r;
        }
    }

    Request* pop_front() {
        Request* r = head_;
        head_ = r->next_in_server;
        if (head_ == nullptr) {
            tail_ = nullptr;
        }
        r->next_in_server = nullptr;
        return r;
    }

    // Moves every request of `other` to the back of this queue.
    void splice_back(RequestQueue& other) {
        if (other.head_ == nullptr) {
            return;
        }
        if (tail_ == nullptr) {
            head_ = other.head_;
        } else {
            tail_->next_in_server = other.head_;
        }
        tail_ = other.tail_;
        other.head_ = other.tail_ = nullptr;
    }

private:
    Request* head_ = nullptr;
    Request* tail_ = nullptr;
};

}  // namespace cachemux
