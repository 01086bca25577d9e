// CPU per write+read round on a loopback TCP pair, for the system calls a
// proxy can use: writev()+read() (what nutcracker uses), sendmsg()+recv(),
// send()+recv() and write()+read(). One process does both ends, so the
// figure includes the whole kernel path of a loopback send and receive.
//
//   g++ -O2 -o /tmp/syscall_cost bench/syscall_cost.cpp && /tmp/syscall_cost 200000 3
//
// Runs each way `rounds` times per pass, interleaved, and prints the CPU time
// per round (getrusage, user + system). On a shared machine compare within
// one run only.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

enum class Way { WritevRead, SendmsgRecv, SendRecv, WriteRead };
constexpr const char* kNames[] = {"writev + read", "sendmsg + recv", "send + recv", "write + read"};

struct Pair {
    int client = -1;
    int server = -1;
};

Pair connect_pair() {
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || listen(listener, 1) != 0) {
        std::perror("listen");
        std::exit(1);
    }
    Pair p;
    p.client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(p.client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("connect");
        std::exit(1);
    }
    p.server = accept(listener, nullptr, nullptr);
    close(listener);
    int one = 1;
    setsockopt(p.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return p;
}

// CPU seconds per round of one 100-byte message written and read back.
double measure(Way way, int rounds) {
    Pair p = connect_pair();
    char message[100];
    std::memset(message, 'x', sizeof message);
    char buf[16384];
    double start = cpu_seconds();
    for (int i = 0; i < rounds; ++i) {
        iovec iov{message, sizeof message};
        ssize_t sent = 0;
        switch (way) {
        case Way::WritevRead: sent = writev(p.client, &iov, 1); break;
        case Way::SendmsgRecv: {
            msghdr m{};
            m.msg_iov = &iov;
            m.msg_iovlen = 1;
            sent = sendmsg(p.client, &m, MSG_NOSIGNAL);
            break;
        }
        case Way::SendRecv: sent = send(p.client, message, sizeof message, MSG_NOSIGNAL); break;
        case Way::WriteRead: sent = write(p.client, message, sizeof message); break;
        }
        if (sent != static_cast<ssize_t>(sizeof message)) {
            std::perror("write");
            std::exit(1);
        }
        for (ssize_t got = 0; got < sent;) {
            bool plain = way == Way::WritevRead || way == Way::WriteRead;
            ssize_t n = plain ? read(p.server, buf, sizeof buf) : recv(p.server, buf, sizeof buf, 0);
            if (n <= 0) {
                std::perror("read");
                std::exit(1);
            }
            got += n;
        }
    }
    double per_round = (cpu_seconds() - start) / rounds;
    close(p.client);
    close(p.server);
    return per_round;
}

}  // namespace

int main(int argc, char** argv) {
    int rounds = argc > 1 ? std::atoi(argv[1]) : 200000;
    int passes = argc > 2 ? std::atoi(argv[2]) : 3;
    if (rounds <= 0 || passes <= 0 || rounds > 10000000 || passes > 100) {
        std::fprintf(stderr, "usage: %s [rounds (<= 10M)] [passes (<= 100)]\n", argv[0]);
        return 2;
    }
    for (int pass = 0; pass < passes; ++pass) {
        for (int w = 0; w < 4; ++w) {
            std::printf("pass %d  %-15s %.3f us/round\n", pass + 1, kNames[w],
                        measure(static_cast<Way>(w), rounds) * 1e6);
        }
    }
}
