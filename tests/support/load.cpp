// Steady, checked load for the fault tests: see load.hpp.
#include "load.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <fstream>
#include <random>
#include <sstream>

namespace harness::load {

namespace {

struct Pending {
    Op op;
    std::vector<std::uint32_t> keys;  // indices into the client's keys
    Clock::time_point sent;
};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// "<key>:<seq>:" then 'x' up to `size` bytes.
std::string make_value(const std::string& key, std::uint64_t seq, std::size_t size) {
    std::string v = key + ":" + std::to_string(seq) + ":";
    if (v.size() < size) v.append(size - v.size(), 'x');
    return v;
}

// A value this client may have written for `key`.
bool value_of(std::string_view data, const std::string& key) {
    return data.size() > key.size() && starts_with(data, key) && data[key.size()] == ':';
}

// Checks one reply against its request.  Returns "" if it fits (setting
// *error / *hit), else what is wrong.
class Checker {
public:
    Checker(Protocol protocol, const std::vector<std::string>& keys, bool in_order)
        : protocol_(protocol), keys_(keys), in_order_(in_order) {}

    std::string check(const Pending& p, const std::string& reply, bool* error, bool* hit) const {
        *error = false;
        *hit = false;
        return protocol_ == Protocol::Memcache ? check_mc(p, reply, error, hit) : check_redis(p, reply, error, hit);
    }

private:
    std::string check_mc(const Pending& p, const std::string& reply, bool* error, bool* hit) const {
        if (starts_with(reply, "SERVER_ERROR ") && reply.find("\r\n") == reply.size() - 2) {
            *error = true;
            return "";
        }
        if (p.op == Op::Set) return reply == "STORED\r\n" ? "" : "set answered";
        std::vector<mc::Item> items;
        try {
            items = mc::parse_values(reply);
        } catch (const HarnessError& e) {
            return std::string("get answered (") + e.what() + ")";
        }
        // The values of keys it asked for, each once (in the order asked, if in_order_).
        std::size_t next = 0;
        std::vector<bool> seen(p.keys.size(), false);
        for (const auto& item : items) {
            if (!in_order_) next = 0;
            while (next < p.keys.size() && (keys_[p.keys[next]] != item.key || seen[next])) ++next;
            if (next == p.keys.size())
                return "value for a key not asked for" + std::string(in_order_ ? " (or out of order)" : "") +
                       " or twice: " + item.key;
            if (!value_of(item.data, item.key)) return "value not this client's: " + escape(item.data, 80);
            seen[next] = true;
            ++next;
        }
        *hit = !items.empty();
        return "";
    }

    // A bulk string at `pos`: true and advances if well-formed; `data` is
    // nullopt for $-1.
    static bool bulk(const std::string& r, std::size_t& pos, std::optional<std::string_view>* data) {
        if (pos >= r.size() || r[pos] != '$') return false;
        auto eol = r.find("\r\n", pos);
        if (eol == std::string::npos) return false;
        long long n = 0;
        auto [ptr, ec] = std::from_chars(r.data() + pos + 1, r.data() + eol, n);
        if (ec != std::errc() || ptr != r.data() + eol) return false;
        pos = eol + 2;
        if (n == -1) {
            *data = std::nullopt;
            return true;
        }
        if (n < 0 || pos + static_cast<std::size_t>(n) + 2 > r.size()) return false;
        *data = std::string_view(r).substr(pos, static_cast<std::size_t>(n));
        pos += static_cast<std::size_t>(n);
        if (r.compare(pos, 2, "\r\n") != 0) return false;
        pos += 2;
        return true;
    }

    std::string check_redis(const Pending& p, const std::string& reply, bool* error, bool* hit) const {
        if (starts_with(reply, "-")) {
            *error = true;
            return "";
        }
        if (p.op == Op::Set) return reply == "+OK\r\n" ? "" : "SET answered";
        std::size_t pos = 0;
        std::size_t n = 1;
        if (p.op == Op::MultiGet) {
            std::string header = "*" + std::to_string(p.keys.size()) + "\r\n";
            if (!starts_with(reply, header)) return "MGET answered";
            pos = header.size();
            n = p.keys.size();
        }
        for (std::size_t i = 0; i < n; ++i) {
            std::optional<std::string_view> data;
            if (!bulk(reply, pos, &data)) return "malformed bulk in reply";
            if (data) {
                if (!value_of(*data, keys_[p.keys[i]])) return "value not this client's: " + escape(*data, 80);
                *hit = true;
            }
        }
        if (pos != reply.size()) return "trailing bytes in reply";
        return "";
    }

    Protocol protocol_;
    const std::vector<std::string>& keys_;
    bool in_order_;
};

}  // namespace

Load::Load(Options options) : options_(std::move(options)) {
    options_.window = std::max<std::size_t>(options_.window, 2);
    options_.multi_keys = std::clamp<std::size_t>(options_.multi_keys, 2, options_.keys);
}

Load::~Load() {
    try {
        stop();
    } catch (...) {
    }
}

std::string Load::key(std::size_t c, std::size_t k) const {
    return options_.tag + "c" + std::to_string(c) + ":k" + std::to_string(k);
}

std::vector<std::string> Load::all_keys() const {
    std::vector<std::string> v;
    for (std::size_t c = 0; c < options_.clients; ++c)
        for (std::size_t k = 0; k < options_.keys; ++k) v.push_back(key(c, k));
    return v;
}

void Load::start() {
    results_.assign(options_.clients, {});
    for (std::size_t c = 0; c < options_.clients; ++c) {
        results_[c].client = c;
        threads_.emplace_back([this, c] { run_client(c); });
    }
}

const std::vector<ClientResult>& Load::stop() {
    if (stopped_) return results_;
    stopped_ = true;
    stopping_ = true;
    for (auto& t : threads_) t.join();
    return results_;
}

void Load::run_client(std::size_t c) {
    ClientResult& result = results_[c];
    const Options& o = options_;
    std::vector<std::string> keys;
    for (std::size_t k = 0; k < o.keys; ++k) keys.push_back(key(c, k));
    Checker checker(o.protocol, keys, o.multiget_in_order);
    std::mt19937 rng(o.seed * 7919u + static_cast<std::uint32_t>(c));
    std::uniform_int_distribution<std::uint32_t> pick_key(0, static_cast<std::uint32_t>(o.keys - 1));
    std::uniform_int_distribution<int> pick_op(0, 9);
    std::uint64_t seq = 0;
    const auto deadline = Clock::now() + o.max_duration;

    std::unique_ptr<Connection> conn;
    try {
        conn = std::make_unique<Connection>(o.port);
    } catch (const std::exception& e) {
        result.failure = std::string("connect: ") + e.what();
        return;
    }
    std::deque<Pending> in_flight;
    auto framer = o.protocol == Protocol::Memcache
                      ? std::function<std::size_t(std::string_view)>(mc::reply_length)
                      : std::function<std::size_t(std::string_view)>(resp::reply_length);

    // Reads and checks one reply; false (with result.failure set) if
    // something went wrong and the client must stop.
    auto read_one = [&](Millis timeout) -> bool {
        std::string reply;
        try {
            reply = conn->read_until(framer, timeout);
        } catch (const std::exception& e) {
            result.closed_by_proxy = conn->closed();
            result.failure = std::string(conn->closed() ? "closed by the proxy: " : "no reply: ") + e.what() +
                             " (" + std::to_string(in_flight.size()) + " requests in flight)";
            return false;
        }
        const Pending& p = in_flight.front();
        Event ev{p.sent, Clock::now(), p.keys[0], p.op, false, false};
        std::string wrong = checker.check(p, reply, &ev.error, &ev.hit);
        if (!wrong.empty()) {
            std::string asked;
            for (auto k : p.keys) asked += " " + keys[k];
            result.failure = wrong + ": request " + std::to_string(result.replies) + " (" +
                             (p.op == Op::Set ? "set" : p.op == Op::Get ? "get" : "multi-get") + asked +
                             ") answered \"" + escape(reply, 200) + "\"";
            return false;
        }
        ++result.replies;
        ++replies_;
        if (ev.error) {
            ++result.errors;
            std::string text = reply.substr(0, reply.size() - 2);
            if (result.error_texts.size() < 8 &&
                std::find(result.error_texts.begin(), result.error_texts.end(), text) == result.error_texts.end())
                result.error_texts.push_back(text);
        } else if (p.op != Op::Set) {
            ev.hit ? ++result.hits : ++result.misses;
        }
        result.events.push_back(ev);
        in_flight.pop_front();
        return true;
    };

    try {
        bool ok = true;
        while (ok && !stopping_ && result.sent < o.max_requests && Clock::now() < deadline) {
            std::string batch;
            auto now = Clock::now();
            while (in_flight.size() < o.window && result.sent < o.max_requests) {
                Pending p{Op::Get, {pick_key(rng)}, now};
                int r = pick_op(rng);
                if (r < o.sets_in_10) {
                    p.op = Op::Set;
                    const std::string& k = keys[p.keys[0]];
                    std::string v = make_value(k, ++seq, o.value_size);
                    batch += o.protocol == Protocol::Memcache ? mc::set(k, v) : resp::cmd("SET", k, v);
                } else if (r < 10 - o.multigets_in_10) {
                    const std::string& k = keys[p.keys[0]];
                    batch += o.protocol == Protocol::Memcache ? "get " + k + "\r\n" : resp::cmd("GET", k);
                } else {
                    p.op = Op::MultiGet;
                    // Distinct keys, consecutive from a random start.
                    for (std::size_t i = 1; i < o.multi_keys; ++i)
                        p.keys.push_back(static_cast<std::uint32_t>((p.keys[0] + i) % o.keys));
                    std::vector<std::string> args;
                    for (auto k : p.keys) args.push_back(keys[k]);
                    if (o.protocol == Protocol::Memcache) {
                        batch += mc::get(args);
                    } else {
                        args.insert(args.begin(), "MGET");
                        batch += resp::command(args);
                    }
                }
                in_flight.push_back(std::move(p));
                ++result.sent;
            }
            conn->send_all(batch, o.read_timeout);
            // Keep the pipe half full: read until half the window is free.
            while (ok && in_flight.size() > o.window / 2) ok = read_one(o.read_timeout);
            if (ok && o.pause.count() > 0) std::this_thread::sleep_for(o.pause);
        }
        // Drain: every reply still owed, within one read_timeout in all.
        auto drain_deadline = Clock::now() + o.read_timeout;
        while (ok && !in_flight.empty()) {
            auto left = std::chrono::duration_cast<Millis>(drain_deadline - Clock::now());
            ok = read_one(std::max(left, Millis(1)));
        }
        // Nothing more may arrive: a reply nobody asked for is a duplicate.
        if (ok) {
            std::string extra = conn->read_for(Millis(50));
            if (!extra.empty()) result.failure = "unrequested bytes after the last reply: " + escape(extra, 200);
            else if (conn->closed()) {
                result.closed_by_proxy = true;
                result.failure = "closed by the proxy after the last reply";
            }
        }
    } catch (const std::exception& e) {
        if (result.failure.empty()) result.failure = std::string("send: ") + e.what();
        result.closed_by_proxy = conn->closed();
    }
}

std::string summary(const std::vector<ClientResult>& results) {
    std::ostringstream out;
    for (const auto& r : results) {
        out << "client " << r.client << ": " << r.sent << " requests, " << r.replies << " replies (" << r.errors
            << " errors, " << r.hits << " hits, " << r.misses << " misses)";
        if (r.closed_by_proxy) out << ", closed by the proxy";
        if (!r.failure.empty()) out << ", FAILED: " << r.failure;
        for (const auto& t : r.error_texts) out << " [" << escape(t, 80) << "]";
        out << "\n";
    }
    return out.str();
}

std::size_t rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (starts_with(line, "VmRSS:")) {
            std::istringstream fields(line.substr(6));
            std::size_t kib = 0;
            fields >> kib;
            return kib;
        }
    }
    return 0;
}

}  // namespace harness::load
