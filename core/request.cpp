#include "request.hpp"

namespace cachemux {

void Request::reset() {
    client = nullptr;
    parent = nullptr;
    info = {};
    bytes.clear();
    keys.clear();
    key_bufs.clear();
    key_payloads.clear();
    origin = Origin::Client;
    sent_at_ms = 0;
    reply.clear();
    reply_info = {};
    records.clear();
    done = false;
    fragments.clear();
    fragment_of_key.clear();
    fragments_pending = 0;
    in_client_queue = false;
    in_server_queue = false;
    next_in_client = nullptr;
    next_in_server = nullptr;
}

RequestPool::~RequestPool() {
    for (Request* r : all_) {
        delete r;
    }
}

Request* RequestPool::get() {
    if (free_.empty()) {
        all_.push_back(new Request());
        return all_.back();
    }
    Request* r = free_.back();
    free_.pop_back();
    return r;
}

void RequestPool::release_if_unowned(Request* r) {
    if (r->in_client_queue || r->in_server_queue) {
        return;
    }
    if (r->parent != nullptr) {
        // A fragment lives as long as its whole request, which releases it.
        return;
    }
    for (Request* f : r->fragments) {
        if (f->in_server_queue) {
            // Still on a server's wire: detach it; the server releases it when it answers.
            f->parent = nullptr;
            f->client = nullptr;
            continue;
        }
        f->reset();
        free_.push_back(f);
    }
    r->reset();
    free_.push_back(r);
}

}  // namespace cachemux
