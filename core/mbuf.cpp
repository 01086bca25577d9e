#include "mbuf.hpp"

#include <cassert>
#include <cstdlib>
#include <new>

namespace cachemux {

MbufPool::MbufPool(std::size_t chunk_size) : chunk_size_(chunk_size) {}

MbufPool::~MbufPool() {
    for (Mbuf* m : all_) {
        std::free(m);
    }
}

Mbuf* MbufPool::get() {
    Mbuf* m = free_;
    if (m != nullptr) {
        free_ = m->next_free;
        --free_count_;
    } else {
        // Header and data in one block: one allocation per mbuf, ever.
        void* block = std::malloc(sizeof(Mbuf) + chunk_size_);
        if (block == nullptr) {
            throw std::bad_alloc();
        }
        m = static_cast<Mbuf*>(block);
        m->start = reinterpret_cast<char*>(m + 1);
        m->end = m->start + chunk_size_;
        m->pool = this;
        all_.push_back(m);
        ++allocated_;
    }
    m->last = m->start;
    m->refs = 1;
    m->next_free = nullptr;
    return m;
}

void MbufPool::put(Mbuf* m) {
    m->next_free = free_;
    free_ = m;
    ++free_count_;
}

void mbuf_release(Mbuf* m) {
    assert(m->refs > 0);
    if (--m->refs == 0) {
        m->pool->put(m);
    }
}

}  // namespace cachemux
