// SIGUSR1 reloads and the listening socket of an unchanged `listen`: it
// survives them. A client that connects, asks and disconnects in a loop is
// never refused or reset, and the socket in LISTEN state is the very same one
// (inode, fd).
//
// Every loop is bounded in count and time; no doctest assertion runs on the
// churning thread (its results are plain data the main thread asserts on).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <thread>

#include "backend_servers.hpp"
#include "harness.hpp"
#include "proc_view.hpp"
#include "reloader.hpp"
#include "stats_reader.hpp"

using namespace harness;
using namespace std::chrono_literals;

namespace {

long long ms(Clock::duration d) { return std::chrono::duration_cast<Millis>(d).count(); }

// Connect, one set, read its reply, close (with a reset, so that 10^4
// connections leave no TIME_WAIT behind), as fast as it goes, on a thread.
class Churn {
public:
    std::uint64_t connects = 0, served = 0, refused = 0, reset = 0, timeouts = 0, wrong = 0;
    std::string first_problem;

    explicit Churn(int port) : port_(port) {}
    ~Churn() { stop(); }
    void start() { thread_ = std::thread([this] { run(); }); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    // Connections done so far.
    std::uint64_t progress() const { return progress_.load(); }

private:
    void note(std::uint64_t& counter, std::string what) {
        ++counter;
        if (first_problem.empty()) first_problem = std::move(what);
    }
    void run() {
        const auto deadline = Clock::now() + 20s;
        for (std::uint64_t n = 0; !stop_ && n < 30000 && Clock::now() < deadline; ++n) {
            if (!once(n)) break;
        }
    }
    // One connection (counted in progress() if it connected); false if no
    // socket could be made at all.
    bool once(std::uint64_t n) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            note(wrong, std::string("socket: ") + std::strerror(errno));
            return false;
        }
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ++connects;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            int e = errno;
            note(e == ECONNREFUSED ? refused : reset, "connect " + std::to_string(n) + ": " + std::strerror(e));
            ::close(fd);
            return true;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ask(fd, n);
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd);
        ++progress_;
        return true;
    }
    void ask(int fd, std::uint64_t n) {
        const std::string req = mc::set("churn" + std::to_string(n % 64), "v" + std::to_string(n));
        if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
            note(reset, "send " + std::to_string(n) + ": " + std::strerror(errno));
            return;
        }
        std::string reply;
        const auto until = Clock::now() + 3000ms;
        while (reply.find("\r\n") == std::string::npos) {
            auto left = ms(until - Clock::now());
            pollfd p{fd, POLLIN, 0};
            if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
                note(timeouts, "connection " + std::to_string(n) + ": no reply in 3 s");
                return;
            }
            char buf[256];
            ssize_t got = ::recv(fd, buf, sizeof buf, 0);
            if (got <= 0) {
                note(reset, "connection " + std::to_string(n) + ": " +
                                (got == 0 ? std::string("EOF") : std::strerror(errno)) + " before the reply");
                return;
            }
            reply.append(buf, static_cast<std::size_t>(got));
        }
        if (reply == "STORED\r\n") ++served;
        else note(wrong, "connection " + std::to_string(n) + " answered " + escape(reply));
    }

    int port_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> progress_{0};
    std::thread thread_;
};

}  // namespace

TEST_CASE("reload_load: an unchanged listen keeps its socket; no connect is refused or reset during 20 reloads" *
          doctest::test_suite("reload_load")) {
    BackendServers mcb(Protocol::Memcache, 2);
    PoolSpec pool;
    pool.name = "lsn";
    pool.servers = mcb.specs(0, 2, "s");
    pool.set("hash", "fnv1a_64").set("distribution", "ketama");
    Proxy proxy(ProxyKind::Cachemux, {pool});
    const pid_t pid = proxy.process().pid();
    const int port = proxy.port();
    const std::vector<PoolSpec> same = proxy.pools();

    Reloader reloader(proxy);
    const auto listen_before = listen_inodes(port);
    REQUIRE(listen_before.size() == 1);
    const int listen_fd = fd_of_inode(pid, *listen_before.begin());
    REQUIRE(listen_fd >= 0);
    Connection idle(port);  // connected before, used after
    REQUIRE(idle.mc(mc::set("idle", "before")) == "STORED\r\n");

    Churn churn(port);
    churn.start();
    for (auto deadline = Clock::now() + 3s; churn.progress() < 50 && Clock::now() < deadline;)
        std::this_thread::sleep_for(5ms);
    REQUIRE(churn.progress() >= 50);
    const std::uint64_t before = churn.progress();
    std::mt19937 rng(7);
    constexpr int kReloads = 20;
    const auto t0 = Clock::now();
    for (int i = 1; i <= kReloads; ++i) {
        std::string why = reloader.reload(same);
        REQUIRE_MESSAGE(why.empty(), "reload " << i << ": " << why);
        CHECK(listen_inodes(port) == listen_before);
        std::this_thread::sleep_for(Millis(30 + rng() % 31));
    }
    const long long reload_ms = ms(Clock::now() - t0);
    std::this_thread::sleep_for(100ms);
    churn.stop();
    const std::uint64_t during = churn.progress() - before;

    MESSAGE("listener: " << churn.connects << " connections (" << during << " during " << kReloads << " reloads in "
                         << reload_ms << " ms), " << churn.served << " served, " << churn.refused << " refused, "
                         << churn.reset << " reset/closed, " << churn.timeouts << " timed out, " << churn.wrong
                         << " wrong" << (churn.first_problem.empty() ? "" : "; first: " + churn.first_problem));
    CHECK(churn.refused == 0);
    CHECK(churn.reset == 0);
    CHECK(churn.timeouts == 0);
    CHECK(churn.wrong == 0);
    CHECK(churn.served == churn.connects);
    CHECK(during >= 100);
    // The very same listening socket, on the same fd.
    CHECK(listen_inodes(port) == listen_before);
    CHECK(fd_of_inode(pid, *listen_before.begin()) == listen_fd);
    // The client connected before the reloads is still served.
    CHECK(idle.mc(mc::get({"idle"})) == mc::value("idle", "before") + "END\r\n");
    std::string m = metrics(proxy.stats_port());
    CHECK(metric(m, "cachemux_config_reloads_total") == kReloads);
    CHECK(metric(m, "cachemux_config_generation") == kReloads + 1);
}
