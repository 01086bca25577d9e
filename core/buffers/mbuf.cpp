#include "buffers/mbuf.hpp"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <new>

#include "buffers/free_list_trim.hpp"

namespace cachemux {

namespace {
constexpr std::size_t kSpareMbufs = 64;  // never trimmed below: 1 MiB at the default 16 KiB
}  // namespace

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
        m->slot = static_cast<std::uint32_t>(all_.size());
        all_.push_back(m);
        ++allocated_;
    }
    peak_in_use_ = std::max(peak_in_use_, allocated_ - free_count_);
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

std::size_t MbufPool::trim() {
    const std::size_t keep = trim_target(peak_in_use_, kSpareMbufs);
    std::size_t freed = 0;
    while (allocated_ > keep && free_ != nullptr) {
        Mbuf* m = free_;
        free_ = m->next_free;
        --free_count_;
        all_[m->slot] = all_.back();
        all_[m->slot]->slot = m->slot;
        all_.pop_back();
        --allocated_;
        std::free(m);
        ++freed;
    }
    peak_in_use_ = allocated_ - free_count_;
    return freed;
}

void mbuf_release(Mbuf* m) {
    assert(m->refs > 0);
    if (--m->refs == 0) {
        m->pool->put(m);
    }
}

}  // namespace cachemux
