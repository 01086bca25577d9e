// bench/loadgen: a small closed-loop load generator for the cachemux
// benchmark (bench/run builds it with g++ directly; it is not part of the
// project's CMake build).
//
// One thread, epoll, N connections to one host:port, each keeping up to
// --pipeline requests in flight (refilled as replies arrive).  Speaks the
// memcached ASCII protocol (--proto mc) or RESP (--proto redis).
//
//   --op fill   set keys 0..keyspace-1 once each, in order (preloading)
//   --op mix    single-key get/set, --get-ratio of them gets, random keys
//   --op mget   multi-key get of --keys random keys (mc: "get k1 .. kN",
//               redis: MGET k1 .. kN)
//
// Keys are "key:" + 12 zero-padded digits, as redis-benchmark's
// key:__rand_int__ expands.  Values are --value-size bytes of 'x'.
//
// Prints one line of JSON: requests, seconds, ops_per_sec, avg_ms, p50_ms, p99_ms,
// errors (error replies), hits/misses (values returned / keys not found, for
// gets), error (a message if the run failed: connection closed, timeout).
// Exit status 0 if every request got a reply, else 2.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Options {
    std::string host = "127.0.0.1";
    int port = 0;
    bool redis = false;
    enum class Op { fill, mix, mget } op = Op::mix;
    int conns = 100;
    int pipeline = 1;
    uint64_t requests = 100000;
    uint64_t keyspace = 100000;
    size_t value_size = 1024;
    double get_ratio = 0.9;
    int keys = 10;
    uint64_t seed = 1;
    double timeout = 600;
};

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr,
                 "loadgen: %s\n"
                 "usage: loadgen --port P [--host H] [--proto mc|redis] [--op fill|mix|mget]\n"
                 "       [--conns N] [--pipeline N] [--requests N] [--keyspace N]\n"
                 "       [--value-size B] [--get-ratio F] [--keys N] [--seed S] [--timeout SEC]\n",
                 msg);
    std::exit(64);
}

uint64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

struct Rng {  // xorshift64*
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull | 1) {}
    uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 2685821657736338717ull;
    }
    uint64_t below(uint64_t n) { return next() % n; }
    double unit() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
};

constexpr size_t kKeyLen = 16;  // "key:" + 12 digits

void append_key(std::string& out, uint64_t k) {
    char buf[kKeyLen] = {'k', 'e', 'y', ':'};
    for (int i = 15; i >= 4; --i) {
        buf[i] = char('0' + k % 10);
        k /= 10;
    }
    out.append(buf, kKeyLen);
}

void append_num(std::string& out, uint64_t n) {
    char buf[24];
    int len = std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
    out.append(buf, size_t(len));
}

enum class Kind : uint8_t { get, set, mget };

struct Pending {
    uint64_t sent_ns;
    Kind kind;
    uint16_t keys;
};

struct Conn {
    int fd = -1;
    std::string out;
    size_t out_off = 0;
    bool want_write = false;
    std::vector<char> in;
    size_t in_start = 0, in_end = 0;
    std::deque<Pending> inflight;
};

struct Stats {
    uint64_t completed = 0;
    uint64_t errors = 0;
    uint64_t hits = 0;
    uint64_t misses = 0;
    std::vector<uint64_t> latency_ns;
    std::string first_error;
};

// Result of trying to parse one reply from [p, end).
struct Parsed {
    bool complete = false;
    size_t len = 0;
    bool error = false;
    uint32_t values = 0;  // values (hits) in a get reply
    uint32_t nils = 0;    // redis nil bulk strings (misses)
};

const char* find_crlf(const char* p, const char* end) {
    while (p + 1 < end) {
        const char* r = static_cast<const char*>(std::memchr(p, '\r', size_t(end - p - 1)));
        if (!r) return nullptr;
        if (r[1] == '\n') return r;
        p = r + 1;
    }
    return nullptr;
}

bool starts_with(const char* p, const char* e, std::string_view s) {
    return size_t(e - p) >= s.size() && std::memcmp(p, s.data(), s.size()) == 0;
}

// memcached ASCII: a get reply is VALUE blocks then END; a set reply one line.
Parsed parse_mc(const char* begin, const char* end, Kind kind) {
    Parsed r;
    const char* p = begin;
    for (;;) {
        const char* eol = find_crlf(p, end);
        if (!eol) return r;
        if (kind != Kind::set && starts_with(p, eol, "VALUE ")) {
            // VALUE <key> <flags> <bytes> [<cas>]
            const char* q = p + 6;
            int field = 0;
            uint64_t bytes = 0;
            while (q < eol && field < 3) {
                while (q < eol && *q == ' ') ++q;
                const char* tok = q;
                while (q < eol && *q != ' ') ++q;
                if (field == 2) bytes = std::strtoull(std::string(tok, q).c_str(), nullptr, 10);
                ++field;
            }
            const char* next = eol + 2 + bytes + 2;
            if (next > end) return r;
            ++r.values;
            p = next;
            continue;
        }
        r.complete = true;
        r.len = size_t(eol + 2 - begin);
        if (kind == Kind::set) {
            r.error = !starts_with(p, eol, "STORED");
        } else {
            r.error = !(eol - p == 3 && starts_with(p, eol, "END"));
        }
        return r;
    }
}

// RESP: one value (arrays one level deep are enough for MGET).
bool parse_resp_value(const char*& p, const char* end, Parsed& r, int depth) {
    const char* eol = find_crlf(p, end);
    if (!eol || p == eol) return false;
    char type = *p;
    long long n = std::strtoll(std::string(p + 1, eol).c_str(), nullptr, 10);
    const char* next = eol + 2;
    switch (type) {
    case '+':
    case ':':
        p = next;
        return true;
    case '-':
        r.error = true;
        p = next;
        return true;
    case '$':
        if (n < 0) {
            ++r.nils;
            p = next;
            return true;
        }
        if (next + n + 2 > end) return false;
        ++r.values;
        p = next + n + 2;
        return true;
    case '*':
        if (depth > 4) {
            r.error = true;
            p = next;
            return true;
        }
        p = next;
        for (long long i = 0; i < n; ++i)
            if (!parse_resp_value(p, end, r, depth + 1)) return false;
        return true;
    default:
        r.error = true;  // garbage: treat the line as one error reply
        p = next;
        return true;
    }
}

Parsed parse_redis(const char* begin, const char* end) {
    Parsed r;
    const char* p = begin;
    if (!parse_resp_value(p, end, r, 0)) return Parsed{};
    r.complete = true;
    r.len = size_t(p - begin);
    return r;
}

class Runner {
public:
    explicit Runner(const Options& o) : o_(o), rng_(o.seed), value_(o.value_size, 'x') {
        stats_.latency_ns.reserve(std::min<uint64_t>(o.requests, 50'000'000));
    }

    int run() {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) return fail("epoll_create1: " + std::string(std::strerror(errno)));
        conns_.resize(size_t(o_.conns));
        for (size_t i = 0; i < conns_.size(); ++i)
            if (!connect_one(conns_[i], i)) return report();
        start_ns_ = now_ns();
        const uint64_t deadline = start_ns_ + uint64_t(o_.timeout * 1e9);
        for (auto& c : conns_) {
            top_up(c);
            if (!flush(c)) return report();
        }
        std::vector<epoll_event> events(conns_.size());
        while (stats_.completed < o_.requests && failed_.empty()) {
            uint64_t t = now_ns();
            if (t >= deadline) {
                failed_ = "timeout after " + std::to_string(o_.timeout) + " s with " +
                          std::to_string(o_.requests - stats_.completed) + " requests unanswered";
                break;
            }
            int ms = int(std::min<uint64_t>((deadline - t) / 1000000 + 1, 1000));
            int n = epoll_wait(ep_, events.data(), int(events.size()), ms);
            if (n < 0) {
                if (errno == EINTR) continue;
                failed_ = "epoll_wait: " + std::string(std::strerror(errno));
                break;
            }
            for (int i = 0; i < n && failed_.empty(); ++i) {
                Conn& c = conns_[events[i].data.u64];
                if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                    if (!on_readable(c)) break;
                }
                if (events[i].events & EPOLLOUT) {
                    if (!flush(c)) break;
                }
            }
        }
        end_ns_ = now_ns();
        return report();
    }

private:
    int fail(const std::string& msg) {
        failed_ = msg;
        return report();
    }

    bool connect_one(Conn& c, size_t idx) {
        c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(uint16_t(o_.port));
        if (inet_pton(AF_INET, o_.host.c_str(), &sa.sin_addr) != 1) {
            failed_ = "bad host " + o_.host;
            return false;
        }
        if (::connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            failed_ = "connect " + o_.host + ":" + std::to_string(o_.port) + ": " + std::strerror(errno);
            return false;
        }
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
        c.in.resize(65536);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = idx;
        epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev);
        return true;
    }

    uint64_t pick_key() { return rng_.below(o_.keyspace); }

    void add_request(Conn& c) {
        std::string& out = c.out;
        Kind kind;
        uint16_t nkeys = 1;
        if (o_.op == Options::Op::mget) {
            kind = Kind::mget;
            nkeys = uint16_t(o_.keys);
            if (o_.redis) {
                out += '*';
                append_num(out, uint64_t(o_.keys) + 1);
                out += "\r\n$4\r\nMGET\r\n";
                for (int i = 0; i < o_.keys; ++i) {
                    out += "$16\r\n";
                    append_key(out, pick_key());
                    out += "\r\n";
                }
            } else {
                out += "get";
                for (int i = 0; i < o_.keys; ++i) {
                    out += ' ';
                    append_key(out, pick_key());
                }
                out += "\r\n";
            }
        } else {
            uint64_t key;
            if (o_.op == Options::Op::fill) {
                kind = Kind::set;
                key = issued_;
            } else {
                kind = rng_.unit() < o_.get_ratio ? Kind::get : Kind::set;
                key = pick_key();
            }
            if (o_.redis) {
                if (kind == Kind::get) {
                    out += "*2\r\n$3\r\nGET\r\n$16\r\n";
                    append_key(out, key);
                    out += "\r\n";
                } else {
                    out += "*3\r\n$3\r\nSET\r\n$16\r\n";
                    append_key(out, key);
                    out += "\r\n$";
                    append_num(out, value_.size());
                    out += "\r\n";
                    out += value_;
                    out += "\r\n";
                }
            } else {
                if (kind == Kind::get) {
                    out += "get ";
                    append_key(out, key);
                    out += "\r\n";
                } else {
                    out += "set ";
                    append_key(out, key);
                    out += " 0 0 ";
                    append_num(out, value_.size());
                    out += "\r\n";
                    out += value_;
                    out += "\r\n";
                }
            }
        }
        c.inflight.push_back(Pending{now_ns(), kind, nkeys});
        ++issued_;
    }

    void top_up(Conn& c) {
        while (issued_ < o_.requests && c.inflight.size() < size_t(o_.pipeline)) add_request(c);
    }

    bool flush(Conn& c) {
        while (c.out_off < c.out.size()) {
            ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
            if (n > 0) {
                c.out_off += size_t(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (!c.want_write) set_events(c, true);
                return true;
            }
            failed_ = "send: " + std::string(std::strerror(errno));
            return false;
        }
        c.out.clear();
        c.out_off = 0;
        if (c.want_write) set_events(c, false);
        return true;
    }

    void set_events(Conn& c, bool write) {
        c.want_write = write;
        epoll_event ev{};
        ev.events = EPOLLIN | (write ? EPOLLOUT : 0u);
        ev.data.u64 = uint64_t(&c - conns_.data());
        epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    bool on_readable(Conn& c) {
        for (;;) {
            if (c.in_end == c.in.size()) {
                if (c.in_start > 0) {
                    std::memmove(c.in.data(), c.in.data() + c.in_start, c.in_end - c.in_start);
                    c.in_end -= c.in_start;
                    c.in_start = 0;
                } else {
                    c.in.resize(c.in.size() * 2);
                }
            }
            const size_t room = c.in.size() - c.in_end;
            ssize_t n = ::recv(c.fd, c.in.data() + c.in_end, room, 0);
            if (n > 0) {
                c.in_end += size_t(n);
                if (size_t(n) < room) break;  // a short read: the socket is drained
                continue;
            }
            if (n == 0) {
                failed_ = "server closed a connection with " + std::to_string(c.inflight.size()) +
                          " requests in flight";
                return false;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            failed_ = "recv: " + std::string(std::strerror(errno));
            return false;
        }
        const uint64_t t = now_ns();
        while (c.in_start < c.in_end) {
            if (c.inflight.empty()) {
                failed_ = "unexpected bytes from the server: " +
                          std::string(c.in.data() + c.in_start, std::min<size_t>(c.in_end - c.in_start, 80));
                return false;
            }
            const Pending& pend = c.inflight.front();
            const char* b = c.in.data() + c.in_start;
            const char* e = c.in.data() + c.in_end;
            Parsed r = o_.redis ? parse_redis(b, e) : parse_mc(b, e, pend.kind);
            if (!r.complete) break;
            if (r.error) {
                ++stats_.errors;
                if (stats_.first_error.empty()) {
                    std::string_view line(b, std::min<size_t>(r.len, 120));
                    stats_.first_error = std::string(line.substr(0, line.find('\r')));
                }
            }
            if (pend.kind != Kind::set && !r.error) {
                stats_.hits += r.values;
                stats_.misses += o_.redis ? r.nils : uint64_t(pend.keys) - std::min<uint64_t>(r.values, pend.keys);
            }
            stats_.latency_ns.push_back(t - pend.sent_ns);
            ++stats_.completed;
            c.inflight.pop_front();
            c.in_start += r.len;
        }
        if (c.in_start == c.in_end) c.in_start = c.in_end = 0;
        top_up(c);
        return flush(c);
    }

    static void json_str(std::string& out, const std::string& s) {
        out += '"';
        for (unsigned char ch : s) {
            if (ch == '"' || ch == '\\') {
                out += '\\';
                out += char(ch);
            } else if (ch < 0x20 || ch >= 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", ch);
                out += buf;
            } else {
                out += char(ch);
            }
        }
        out += '"';
    }

    int report() {
        if (end_ns_ == 0) end_ns_ = now_ns();
        const double secs = start_ns_ ? double(end_ns_ - start_ns_) / 1e9 : 0.0;
        auto& lat = stats_.latency_ns;
        auto pct = [&](double q) -> double {
            if (lat.empty()) return 0.0;
            size_t idx = std::min(lat.size() - 1, size_t(q * double(lat.size())));
            std::nth_element(lat.begin(), lat.begin() + long(idx), lat.end());
            return double(lat[idx]) / 1e6;
        };
        double sum = 0;
        for (uint64_t v : lat) sum += double(v);
        const double avg = lat.empty() ? 0.0 : sum / double(lat.size()) / 1e6;
        const double p50 = pct(0.50), p99 = pct(0.99);
        std::string out = "{";
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "\"requests\": %llu, \"completed\": %llu, \"seconds\": %.6f, \"ops_per_sec\": %.1f, "
                      "\"avg_ms\": %.3f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"errors\": %llu, \"hits\": %llu, \"misses\": %llu, ",
                      static_cast<unsigned long long>(o_.requests),
                      static_cast<unsigned long long>(stats_.completed), secs,
                      secs > 0 ? double(stats_.completed) / secs : 0.0, avg, p50, p99,
                      static_cast<unsigned long long>(stats_.errors), static_cast<unsigned long long>(stats_.hits),
                      static_cast<unsigned long long>(stats_.misses));
        out += buf;
        out += "\"first_error_reply\": ";
        json_str(out, stats_.first_error);
        out += ", \"error\": ";
        json_str(out, failed_);
        out += "}\n";
        std::fputs(out.c_str(), stdout);
        std::fflush(stdout);
        return failed_.empty() && stats_.completed == o_.requests ? 0 : 2;
    }

    const Options& o_;
    Rng rng_;
    std::string value_;
    int ep_ = -1;
    std::vector<Conn> conns_;
    uint64_t issued_ = 0;
    uint64_t start_ns_ = 0, end_ns_ = 0;
    Stats stats_;
    std::string failed_;
};

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--host") o.host = val();
        else if (a == "--port") o.port = std::atoi(val().c_str());
        else if (a == "--proto") {
            std::string p = val();
            if (p == "mc") o.redis = false;
            else if (p == "redis") o.redis = true;
            else usage("--proto is mc or redis");
        } else if (a == "--op") {
            std::string p = val();
            if (p == "fill") o.op = Options::Op::fill;
            else if (p == "mix") o.op = Options::Op::mix;
            else if (p == "mget") o.op = Options::Op::mget;
            else usage("--op is fill, mix or mget");
        } else if (a == "--conns") o.conns = std::atoi(val().c_str());
        else if (a == "--pipeline") o.pipeline = std::atoi(val().c_str());
        else if (a == "--requests") o.requests = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--keyspace") o.keyspace = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--value-size") o.value_size = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--get-ratio") o.get_ratio = std::atof(val().c_str());
        else if (a == "--keys") o.keys = std::atoi(val().c_str());
        else if (a == "--seed") o.seed = std::strtoull(val().c_str(), nullptr, 10);
        else if (a == "--timeout") o.timeout = std::atof(val().c_str());
        else usage(("unknown option " + a).c_str());
    }
    if (o.port <= 0 || o.port > 65535) usage("--port is required");
    if (o.conns < 1 || o.pipeline < 1 || o.keys < 1 || o.keys > 1000 || o.keyspace < 1) usage("bad counts");
    if (o.op == Options::Op::fill) o.requests = o.keyspace;
    if (uint64_t(o.conns) > o.requests) o.conns = int(std::max<uint64_t>(o.requests, 1));
    Runner r(o);
    return r.run();
}
