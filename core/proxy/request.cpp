#include "proxy/request.hpp"

#include <algorithm>

#include "buffers/free_list_trim.hpp"

namespace cachemux {

void Request::reserve_typical() {
    // A few keys; a message of a few segments (short keys and literals are
    // copied together, see MessageBytesWriter). MSET's payloads grow on
    // first use and keep their room like the rest.
    constexpr std::size_t kKeys = 8;
    keys.reserve(kKeys);
    key_bufs.reserve(kKeys);
    records.reserve(kKeys);
    fragment_of_key.reserve(kKeys);
    key_source.reserve(kKeys);
    key_record.reserve(kKeys);
    // A pool with copies splits a request into a unit per key (and merges
    // a segment or two per key), so room for kKeys of each.
    fragments.reserve(kKeys);
    bytes.reserve(4);
    reply.reserve(kKeys + 4);
}

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
    copy_unit = false;
    copy_batch = false;
    key_source.clear();
    key_record.clear();
    awaiting_copies = false;
    copy = 0;
    copies_asked = 0;
    key_hash = 0;
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
    Request* r;
    if (free_.empty()) {
        r = new Request();
        r->reserve_typical();
        r->pool_slot = static_cast<std::uint32_t>(all_.size());
        all_.push_back(r);
    } else {
        r = free_.back();
        free_.pop_back();
    }
    peak_in_use_ = std::max(peak_in_use_, all_.size() - free_.size());
    return r;
}

std::size_t RequestPool::trim() {
    constexpr std::size_t kSpareRequests = 256;
    const std::size_t keep = trim_target(peak_in_use_, kSpareRequests);
    std::size_t freed = 0;
    while (all_.size() > keep && !free_.empty()) {
        Request* r = free_.back();
        free_.pop_back();
        all_[r->pool_slot] = all_.back();
        all_[r->pool_slot]->pool_slot = r->pool_slot;
        all_.pop_back();
        delete r;
        ++freed;
    }
    peak_in_use_ = all_.size() - free_.size();
    return freed;
}

void RequestPool::release_if_unowned(Request* r) {
    if (r->in_client_queue || r->in_server_queue || r->awaiting_copies) {
        return;
    }
    if (r->parent != nullptr) {
        // A fragment lives as long as its whole request, which releases it.
        return;
    }
    release_tree(r);
}

// A request's fragments go with it, and theirs (a unit's attempts) with
// them; one still on a server's wire is detached instead, and the server
// releases it when it answers.
void RequestPool::release_tree(Request* r) {
    for (Request* f : r->fragments) {
        if (f->in_server_queue) {
            f->parent = nullptr;
            f->client = nullptr;
            continue;
        }
        release_tree(f);
    }
    r->reset();
    free_.push_back(r);
}

}  // namespace cachemux
