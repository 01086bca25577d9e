#include "pair_client.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <sstream>

namespace harness {

using namespace std::chrono_literals;

namespace {

// The value a GET reply carries (nullopt: a miss), or throws HarnessError if
// the reply is not a GET's reply for `key`.
std::optional<std::string> get_value(Protocol p, const std::string& key, const std::string& reply) {
    if (p == Protocol::Memcache) {
        std::vector<mc::Item> items = mc::parse_values(reply);
        if (items.size() > 1 || (items.size() == 1 && (items[0].key != key || items[0].flags != 0)))
            throw HarnessError("not a reply to get " + key);
        if (items.empty()) return std::nullopt;
        return items[0].data;
    }
    if (reply == "$-1\r\n") return std::nullopt;
    auto eol = reply.find("\r\n");
    long long n = -2;
    if (reply.starts_with("$") && eol != std::string::npos) std::from_chars(reply.data() + 1, reply.data() + eol, n);
    if (n < 0 || eol + 2 + static_cast<std::size_t>(n) + 2 != reply.size() || !reply.ends_with("\r\n"))
        throw HarnessError("not a bulk string");
    return reply.substr(eol + 2, static_cast<std::size_t>(n));
}

// `data` is an older value this client wrote for `key`: "<key>:<seq>:vvv"
// with a seq below `seq`.
bool older_value(const std::string& data, const std::string& key, std::uint64_t seq) {
    if (data.size() <= key.size() + 1 || !data.starts_with(key + ":")) return false;
    const char* end = data.data() + data.size();
    std::uint64_t old = 0;
    auto [ptr, ec] = std::from_chars(data.data() + key.size() + 1, end, old);
    return ec == std::errc() && ptr < end && *ptr == ':' && old < seq &&
           data.find_first_not_of('v', static_cast<std::size_t>(ptr - data.data()) + 1) == std::string::npos;
}

}  // namespace

bool is_pool_removed_reply(Protocol p, const std::string& reply) {
    const std::string text = kPoolRemovedError;
    return reply == (p == Protocol::Memcache ? "SERVER_ERROR " + text + "\r\n" : "-ERR " + text + "\r\n");
}

void PairClient::fail(std::string what) {
    if (r_.failure.empty()) r_.failure = std::move(what);
}

void PairClient::run() {
    std::unique_ptr<Connection> conn;
    try {
        conn = std::make_unique<Connection>(o_.port, 2000ms);
    } catch (const std::exception& e) {
        fail(std::string("connect: ") + e.what());
    }
    if (conn) {
        std::mt19937 rng(o_.seed);
        bool going = true;
        for (const auto deadline = Clock::now() + o_.max_duration; going && !stopping_ && Clock::now() < deadline;) {
            Batch batch = make_batch(rng);
            going = exchange(*conn, batch) && watch_pause(*conn);
        }
        if (going) finish(*conn);
    }
    finished_ = true;
}

PairClient::Batch PairClient::make_batch(std::mt19937& rng) {
    Batch batch;
    for (std::size_t i = 0; i < o_.pairs; ++i) {
        // One pair in four on a moving key, if there are any.
        bool moving = !o_.moving.empty() && rng() % 4 == 0;
        const auto& keys = moving ? o_.moving : o_.stable;
        Pair pr{keys[rng() % keys.size()], "", moving, ++seq_};
        pr.value = pr.key + ":" + std::to_string(pr.seq) + ":";
        pr.value.append(48 - std::min<std::size_t>(48, pr.value.size()) + (rng() % 16), 'v');
        batch.bytes += set_request(o_.protocol, pr.key, pr.value) + get_request(o_.protocol, pr.key);
        batch.pairs.push_back(std::move(pr));
    }
    return batch;
}

bool PairClient::exchange(Connection& conn, Batch& batch) {
    auto framer = [p = o_.protocol](std::string_view s) { return reply_length(p, s); };
    batch.sent = Clock::now();
    r_.requests += 2 * batch.pairs.size();
    try {
        conn.send_all(batch.bytes, o_.read_timeout);
    } catch (const std::exception& e) {
        if (conn.closed() || o_.removed_pool) closed_during(batch, 0, std::string("(send: ") + e.what() + ")");
        else fail(o_.name + ": send: " + e.what());
        return false;
    }
    std::size_t got = 0;  // replies of this batch read
    for (const Pair& pr : batch.pairs) {
        std::string set_reply, get_reply;
        try {
            set_reply = conn.read_until(framer, o_.read_timeout);
            ++got;
            get_reply = conn.read_until(framer, o_.read_timeout);
            ++got;
        } catch (const std::exception& e) {
            if (conn.closed()) closed_during(batch, got, "");
            else fail(o_.name + ": no reply (" + e.what() + ") in batch " + std::to_string(r_.batches));
            return false;
        }
        r_.replies += 2;
        std::string wrong = check(pr, set_reply, get_reply, batch.sent);
        if (!wrong.empty()) {
            fail(o_.name + ": " + wrong);
            return false;
        }
    }
    ++r_.batches;
    ++batches_;
    return true;
}

void PairClient::closed_during(const Batch& batch, std::size_t got, const std::string& how) {
    r_.closed = true;
    if (o_.removed_pool && got == 0) {  // the batch raced the close: never read by the proxy
        r_.unanswered += 2 * batch.pairs.size();
        r_.unanswered_sent = batch.sent;
        return;
    }
    fail(o_.name + ": closed by the proxy " + how + " after " + std::to_string(got) + " of " +
         std::to_string(2 * batch.pairs.size()) + " replies of batch " + std::to_string(r_.batches));
}

bool PairClient::watch_pause(Connection& conn) {
    if (o_.pause.count() <= 0) return true;
    // A close while no request is in flight is seen here, before the next
    // batch is written (a batch then unanswered really raced the close).
    std::string extra = conn.read_for(o_.pause);
    if (!extra.empty()) {
        fail(o_.name + ": unrequested bytes between batches: " + escape(extra, 200));
        return false;
    }
    if (!conn.closed()) return true;
    r_.closed = true;
    r_.closed_idle = true;
    if (!o_.removed_pool) fail(o_.name + ": closed by the proxy between batches");
    return false;
}

void PairClient::finish(Connection& conn) {
    // Nothing more may arrive, and a client of a surviving pool stays connected.
    std::string extra = conn.read_for(50ms);
    if (!extra.empty()) fail(o_.name + ": unrequested bytes after the last reply: " + escape(extra, 200));
    if (conn.closed()) {
        r_.closed = true;
        if (!o_.removed_pool) fail(o_.name + ": closed by the proxy after the last reply");
    }
}

void PairClient::note_error(const std::string& reply, Clock::time_point sent) {
    if (o_.removed_pool && is_pool_removed_reply(o_.protocol, reply)) {
        if (r_.removal_errors++ == 0 || sent < r_.removal_error_sent) r_.removal_error_sent = sent;
    } else {
        ++r_.errors;
    }
    std::string text = reply.substr(0, reply.size() >= 2 ? reply.size() - 2 : 0);
    if (r_.error_texts.size() < 8 &&
        std::find(r_.error_texts.begin(), r_.error_texts.end(), text) == r_.error_texts.end())
        r_.error_texts.push_back(text);
}

std::string PairClient::check(const Pair& pair, const std::string& set_reply, const std::string& get_reply,
                              Clock::time_point sent) {
    const Protocol p = o_.protocol;
    bool set_failed = false;
    if (is_error(p, set_reply)) {
        note_error(set_reply, sent);
        set_failed = true;
    } else if (!is_stored(p, set_reply)) {
        return (pair.moving ? "moving" : "stable") + std::string(" key ") + pair.key + " (seq " +
               std::to_string(pair.seq) + "): SET answered " + escape(set_reply, 200);
    }
    if (is_error(p, get_reply)) {
        note_error(get_reply, sent);
        return "";
    }
    return check_value(pair, set_failed, get_reply);
}

std::string PairClient::check_value(const Pair& pair, bool set_failed, const std::string& get_reply) {
    const std::string what = (pair.moving ? "moving" : "stable") + std::string(" key ") + pair.key + " (seq " +
                             std::to_string(pair.seq) + "): ";
    std::optional<std::string> data;
    try {
        data = get_value(o_.protocol, pair.key, get_reply);
    } catch (const std::exception& e) {
        return what + "GET answered " + escape(get_reply, 200) + " (" + e.what() + ")";
    }
    if (data && *data == pair.value) {
        ++r_.exact;
        return "";
    }
    if (!pair.moving && !set_failed)
        return what + "GET answered " + escape(get_reply, 120) + ", not the value just set (" +
               escape(pair.value, 60) + ")";
    if (!data) {
        ++r_.moved_miss;
        return "";
    }
    if (older_value(*data, pair.key, pair.seq)) {
        ++r_.moved_stale;
        return "";
    }
    return what + "GET answered " + escape(get_reply, 120) + ": neither this pair's value nor an older one";
}

std::string describe(const PairClient& c) {
    const auto& r = c.result();
    std::ostringstream out;
    out << c.options().name << ": " << r.batches << " batches, " << r.requests << " requests, " << r.replies
        << " replies (" << r.exact << " exact, " << r.moved_miss << " moved-miss, " << r.moved_stale
        << " moved-stale, " << r.errors << " errors)";
    if (r.removal_errors) out << ", " << r.removal_errors << " answered '" << kPoolRemovedError << "'";
    if (r.unanswered) out << ", " << r.unanswered << " written as it closed";
    if (r.closed) out << ", closed by the proxy" << (r.closed_idle ? " (idle)" : "");
    if (!r.failure.empty()) out << ", FAILED: " << r.failure;
    for (const auto& t : r.error_texts) out << " [" << escape(t, 80) << "]";
    return out.str();
}

}  // namespace harness
