#include <doctest/doctest.h>

#include <cstring>

#include "buffers/message_bytes.hpp"

using namespace cachemux;

namespace {

Mbuf* filled(MbufPool& pool, const char* text) {
    Mbuf* m = pool.get();
    std::size_t n = std::strlen(text);
    std::memcpy(m->last, text, n);
    m->last += n;
    return m;
}

}  // namespace

TEST_CASE("mbufs are recycled, not freed, when their last reference goes") {
    MbufPool pool(512);
    Mbuf* a = pool.get();
    CHECK(pool.allocated() == 1);
    mbuf_retain(a);
    mbuf_release(a);
    CHECK(pool.free_count() == 0);
    mbuf_release(a);
    CHECK(pool.free_count() == 1);
    Mbuf* b = pool.get();
    CHECK(b == a);
    CHECK(pool.allocated() == 1);
    CHECK(b->last == b->start);
    CHECK(b->capacity() == 512);
    mbuf_release(b);
}

TEST_CASE("message bytes join adjacent spans and slice by byte range") {
    MbufPool pool(512);
    Mbuf* one = filled(pool, "hello world");
    Mbuf* two = filled(pool, "!tail");
    {
        MessageBytes msg;
        msg.append(one, one->start, 5);
        msg.append(one, one->start + 5, 6);  // adjacent: same segment
        msg.append_static("--");
        msg.append(two, two->start, 5);
        CHECK(msg.size() == 18);
        CHECK(msg.segments().size() == 3);
        CHECK(msg.to_string() == "hello world--!tail");
        CHECK(one->refs == 2);

        MessageBytes slice;
        slice.append_range(msg, 3, 15);
        CHECK(slice.to_string() == "lo world--!t");
        CHECK(two->refs == 3);
        slice.clear();
        CHECK(two->refs == 2);
    }
    CHECK(one->refs == 1);
    CHECK(two->refs == 1);
    mbuf_release(one);
    mbuf_release(two);
    CHECK(pool.free_count() == 2);
}
