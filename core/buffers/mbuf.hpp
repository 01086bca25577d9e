// Fixed-size, reference-counted I/O buffers from a per-worker free list.
//
// A connection reads into an mbuf; every message that refers to bytes in it
// (a request's keys and value, a response's value) holds a reference, so
// values travel from one socket to another without being copied. An mbuf goes
// back to the free list when its last reference is dropped. Spare mbufs
// beyond what recent traffic needed are freed by trim(), so that memory
// taken by a burst (a backlog behind a stalled server) goes back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cachemux {

class MbufPool;

struct Mbuf {
    char* start;  // first byte of the data area
    char* last;   // one past the last byte written
    char* end;    // one past the data area
    std::uint32_t refs;
    MbufPool* pool;
    Mbuf* next_free;
    std::uint32_t slot;  // index in the pool's list of every mbuf

    std::size_t free_space() const { return static_cast<std::size_t>(end - last); }
    std::size_t capacity() const { return static_cast<std::size_t>(end - start); }
};

class MbufPool {
public:
    explicit MbufPool(std::size_t chunk_size);
    ~MbufPool();
    MbufPool(const MbufPool&) = delete;
    MbufPool& operator=(const MbufPool&) = delete;

    // An empty mbuf holding one reference.
    Mbuf* get();
    std::size_t chunk_size() const { return chunk_size_; }
    std::size_t allocated() const { return allocated_; }
    std::size_t free_count() const { return free_count_; }
    // Frees spare mbufs beyond trim_target() (free_list_trim.hpp); returns
    // how many it freed.
    std::size_t trim();

private:
    friend void mbuf_release(Mbuf* m);
    void put(Mbuf* m);

    std::size_t chunk_size_;
    Mbuf* free_ = nullptr;
    std::size_t allocated_ = 0;
    std::size_t free_count_ = 0;
    std::size_t peak_in_use_ = 0;  // since the last trim()
    std::vector<Mbuf*> all_;  // every mbuf alive, freed with the pool
};

inline void mbuf_retain(Mbuf* m) { ++m->refs; }
void mbuf_release(Mbuf* m);

}  // namespace cachemux
