// MbufPool::trim() and RequestPool::trim(): spares beyond recent use are
// freed, what steady traffic keeps using is not.
#include <doctest/doctest.h>

#include <vector>

#include "buffers/mbuf.hpp"
#include "proxy/request.hpp"

using namespace cachemux;

TEST_CASE("mbuf pool: a burst's spare mbufs are freed by the trim after the one that saw it") {
    MbufPool pool(512);
    std::vector<Mbuf*> burst;
    for (int i = 0; i < 1000; ++i) burst.push_back(pool.get());
    for (Mbuf* m : burst) mbuf_release(m);
    CHECK(pool.allocated() == 1000);
    // The interval that saw the burst keeps what it used.
    CHECK(pool.trim() == 0);
    // Quiet since: only the margin of spares stays.
    CHECK(pool.trim() == 1000 - 64);
    CHECK(pool.allocated() == 64);
    CHECK(pool.free_count() == 64);

    // Steady use of 200 keeps 200 plus a quarter, and frees nothing next time.
    std::vector<Mbuf*> steady;
    for (int i = 0; i < 200; ++i) steady.push_back(pool.get());
    CHECK(pool.trim() == 0);
    for (Mbuf* m : steady) mbuf_release(m);
    steady.clear();
    for (int i = 0; i < 200; ++i) steady.push_back(pool.get());
    CHECK(pool.trim() == 0);
    CHECK(pool.allocated() == 200);
    // Mbufs still in use are never freed, and stay usable.
    for (Mbuf* m : steady) {
        *m->last++ = 'x';
        mbuf_release(m);
    }
}

TEST_CASE("request pool: a burst's spare requests are freed, those in use are kept") {
    RequestPool pool;
    std::vector<Request*> burst;
    for (int i = 0; i < 2000; ++i) burst.push_back(pool.get());
    Request* held = burst.back();
    burst.pop_back();
    for (Request* r : burst) pool.release_if_unowned(r);
    CHECK(pool.trim() == 0);
    CHECK(pool.trim() == 2000 - 257);  // one in use, plus 256 spares
    CHECK(pool.allocated() == 257);
    held->bytes.clear();  // still alive
    pool.release_if_unowned(held);
}
