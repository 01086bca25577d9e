// A SIGUSR1 reload that removes a pool while its client has requests in
// flight (its server stopped): the client gets every reply it is owed, then
// EOF; the removed server's connection closes once idle.
//
// The continuous clients of reload_load_test meet a removal with requests in
// flight only by chance; here the server is stopped so that they surely are.
#include <doctest/doctest.h>

#include <csignal>

#include "backend_servers.hpp"
#include "backend_stats.hpp"
#include "harness.hpp"
#include "listener_probe.hpp"
#include "reloader.hpp"
#include "settle.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

constexpr int kKeys = 20;

std::string owed_value(int i) {
    return "owed:" + std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i) * 13, 'o');
}

// SIGCONT for a frozen server, now or on the way out of the test.
struct Resume {
    Process& p;
    bool stopped = true;
    void go() {
        if (stopped) p.signal(SIGCONT);
        stopped = false;
    }
    ~Resume() { go(); }
};

// The kKeys values, set through `gc`.
void set_owed_values(Connection& gc) {
    std::string sets;
    for (int i = 0; i < kKeys; ++i) sets += mc::set("owed" + std::to_string(i), owed_value(i));
    gc.send_all(sets);
    for (int i = 0; i < kKeys; ++i) REQUIRE(gc.read_mc_reply() == "STORED\r\n");
}

// Every GET's reply, in order, then EOF.
void check_owed_replies(Connection& gc) {
    for (int i = 0; i < kKeys; ++i) {
        CAPTURE(i);
        std::string r;
        try {
            r = gc.read_mc_reply(5000ms);
        } catch (const std::exception& e) {
            FAIL_CHECK("reply " << i << " of " << kKeys << " owed to the removed pool's client: " << e.what());
            break;
        }
        CHECK(r == mc::value("owed" + std::to_string(i), owed_value(i)) + "END\r\n");
    }
    CHECK_MESSAGE(gc.wait_closed(3000ms), "the removed pool's client is not closed 3 s after its last reply");
    CHECK(gc.buffered().empty());
}

}  // namespace

TEST_CASE("reload_load: a removed pool's client gets every reply still owed, then EOF; its server connection closes" *
          doctest::test_suite("reload_load")) {
    BackendServers mcb(Protocol::Memcache, 2);
    const long long gone_conns_before = memcached_stat(mcb.port(1), "curr_connections");
    PoolSpec keep;
    keep.name = "keep";
    keep.servers = mcb.specs(0, 1, "k");
    PoolSpec gone;
    gone.name = "gone";
    gone.servers = mcb.specs(1, 2, "g");
    Proxy proxy(ProxyKind::Cachemux, {keep, gone});
    const std::vector<PoolSpec> all = proxy.pools();
    const int gone_port = proxy.port(1);
    Reloader reloader(proxy);

    Connection gc(gone_port);
    set_owed_values(gc);
    Connection kc(proxy.port(0));
    REQUIRE(kc.mc(mc::set("kept", "yes")) == "STORED\r\n");

    freeze(mcb.mc[1]->process());
    Resume resume{mcb.mc[1]->process()};
    std::string gets;
    for (int i = 0; i < kKeys; ++i) gets += "get owed" + std::to_string(i) + "\r\n";
    gc.send_all(gets);  // in flight: the server does not answer
    CHECK(gc.read_for(100ms).empty());

    REQUIRE(reloader.reload({all[0]}).empty());
    CHECK(wait_refused(gone_port, 1000ms) >= 0);
    // Removed, but it owes replies: not closed yet.
    CHECK(gc.read_for(300ms).empty());
    CHECK(!gc.closed());
    CHECK(kc.mc("get kept\r\n") == mc::value("kept", "yes") + "END\r\n");

    resume.go();
    check_owed_replies(gc);
    // The removed server's connection closes once idle.
    const auto t0 = Clock::now();
    const long long conns = settle([&] { return memcached_stat(mcb.port(1), "curr_connections"); },
                                   gone_conns_before, 5000ms * kSlackFactor);
    MESSAGE("the removed server's connections closed "
            << std::chrono::duration_cast<Millis>(Clock::now() - t0).count() << " ms after its last reply");
    CHECK(conns == gone_conns_before);
    CHECK(kc.mc("get kept\r\n") == mc::value("kept", "yes") + "END\r\n");
}
