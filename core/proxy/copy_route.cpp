#include "proxy/copy_route.hpp"

#include <cerrno>
#include <cstring>
#include <span>

#include "buffers/message_writer.hpp"
#include "proxy/client_connection.hpp"
#include "proxy/upstream.hpp"
#include "proxy/worker.hpp"

namespace cachemux::copy_route {

namespace {

using abi::CopyRule;

bool failed(const Request* attempt) {
    return attempt->reply_info.is_error || attempt->reply_info.forward_failed;
}

// Byte for byte, whatever the segments: two copies' replies to one write.
bool same_bytes(const MessageBytes& a, const MessageBytes& b) {
    if (a.size() != b.size()) {
        return false;
    }
    const std::vector<Segment>& sa = a.segments();
    const std::vector<Segment>& sb = b.segments();
    std::size_t i = 0, j = 0, oi = 0, oj = 0;
    while (i < sa.size() && j < sb.size()) {
        std::size_t n = std::min(sa[i].len - oi, sb[j].len - oj);
        if (std::memcmp(sa[i].data + oi, sb[j].data + oj, n) != 0) {
            return false;
        }
        oi += n;
        oj += n;
        if (oi == sa[i].len) {
            ++i;
            oi = 0;
        }
        if (oj == sb[j].len) {
            ++j;
            oj = 0;
        }
    }
    return true;
}

// The server of copy `copy` for the unit's key; kNoServer when a reload
// has since left the pool with fewer copies.
constexpr std::uint32_t kNoServer = UINT32_MAX;
std::uint32_t server_of(const ServerPool& pool, const Request* unit, std::size_t copy) {
    return copy < pool.copies() ? pool.server_in_copy(copy, unit->key_hash) : kNoServer;
}

// An attempt at copy `copy`: the unit's bytes, without a noreply marker so
// that the copy answers and a failure is seen; the client still hears
// nothing, since the unit owes it no reply.
Request* add_attempt(Upstream& upstream, Request* unit, std::size_t copy) {
    Request* attempt = upstream.worker().requests().get();
    attempt->parent = unit;
    attempt->client = unit->client;
    attempt->info = unit->info;
    attempt->info.noreply = false;
    const abi::RequestInfo& info = unit->info;
    if (info.noreply && info.noreply_len > 0) {
        attempt->bytes.append_range(unit->bytes, 0, info.noreply_at);
        attempt->bytes.append_range(unit->bytes, info.noreply_at + info.noreply_len, unit->bytes.size());
    } else {
        attempt->bytes.append_all(unit->bytes);
    }
    attempt->copy = static_cast<std::uint8_t>(copy);
    unit->fragments.push_back(attempt);
    ++unit->fragments_pending;
    return attempt;
}

// The copy a read asks `nth` (from 0): read: primary goes 0, 1, ...;
// read: spread starts at a copy chosen by the key, the same for every
// proxy, and goes on from there.
std::size_t read_copy(const ServerPool& pool, const Request* unit, std::size_t nth) {
    std::size_t start = pool.config().copy_read == PoolConfig::CopyRead::Spread ? unit->key_hash % pool.copies() : 0;
    return (start + nth) % pool.copies();
}

// Sends the unit's next read to the next live copy; false when none is left.
bool ask_next(Upstream& upstream, Request* unit) {
    const ServerPool& pool = upstream.pool();
    while (unit->copies_asked < pool.copies()) {
        std::size_t copy = read_copy(pool, unit, unit->copies_asked++);
        std::uint32_t server = server_of(pool, unit, copy);
        if (pool.live(server)) {
            upstream.send(server, add_attempt(upstream, unit, copy));
            return true;
        }
    }
    return false;
}

// Deletes the unit's keys on `server`, a copy that disagreed or may have
// missed the write. Nobody waits for the reply.
void invalidate(Upstream& upstream, const Request* unit, std::uint32_t server) {
    if (server == kNoServer) {
        return;
    }
    for (const abi::KeyRef& key : unit->keys) {
        ++upstream.stats().copies.copy_invalidations;
        Request* repair = upstream.worker().requests().get();
        repair->origin = Request::Origin::Repair;
        MessageBytesWriter writer(repair->bytes, upstream.worker().scratch(), repair);
        upstream.pool().protocol().write_invalidate(key, writer);
        upstream.send(server, repair);
    }
}

// The hit `hit` (the unit's attempt number `index`) is written back to the
// copies asked before it that answered a clean miss: only if the key is
// still absent there, so that a write since wins.
void backfill(Upstream& upstream, Request* unit, const Request* hit, std::uint32_t index) {
    const ServerPool& pool = upstream.pool();
    const int ttl = pool.config().backfill_ttl_s;
    if (ttl <= 0 || unit->info.copies != CopyRule::Read) {
        return;
    }
    std::string& text = upstream.worker().routing().reply_text;  // reused: no allocation once grown
    text.clear();
    for (const Segment& s : hit->reply.segments()) {
        text.append(s.data, s.len);
    }
    for (std::uint32_t i = 0; i < index; ++i) {
        const Request* missed = unit->fragments[i];
        if (failed(missed) || !missed->reply_info.is_miss) {
            continue;
        }
        Request* repair = upstream.worker().requests().get();
        repair->origin = Request::Origin::Repair;
        MessageBytesWriter writer(repair->bytes, upstream.worker().scratch(), unit);
        std::uint32_t server = server_of(pool, unit, missed->copy);
        if (server == kNoServer ||
            !pool.protocol().write_backfill(unit->keys[0], text, index, static_cast<std::uint32_t>(ttl), writer)) {
            upstream.worker().requests().release_if_unowned(repair);
            return;
        }
        ++upstream.stats().copies.copy_backfills;
        upstream.send(server, repair);
    }
}

// The unit is done: to its client, or to its whole request.
void hand_on(Upstream& upstream, Request* unit) {
    unit->done = true;
    if (unit->awaiting_copies) {
        // noreply: every copy has answered, nobody else waits.
        unit->awaiting_copies = false;
        upstream.worker().requests().release_if_unowned(unit);
    } else if (!unit->info.noreply) {
        upstream.request_done(unit);
    }
    // A noreply unit that sent nothing: dispatch() releases it.
}

void finish(Upstream& upstream, Request* unit, const Request* chosen) {
    unit->reply.append_all(chosen->reply);
    unit->reply_info = chosen->reply_info;
    unit->records.assign(chosen->records.begin(), chosen->records.end());
    hand_on(upstream, unit);
}

// No live copy holds the key: nutcracker's reply when every server of a
// pool is ejected.
void fail_unit(Upstream& upstream, Request* unit) {
    MessageBytesWriter writer(unit->reply, upstream.worker().scratch(), unit);
    upstream.pool().protocol().render_error(unit->info, abi::ForwardError::ConnectionFailed,
                                            std::strerror(ECONNREFUSED), writer);
    unit->reply_info.is_error = true;
    unit->reply_info.forward_failed = true;
    hand_on(upstream, unit);
}

void start_unit(Upstream& upstream, Request* unit) {
    const ServerPool& pool = upstream.pool();
    unit->copy_unit = true;
    unit->key_hash = pool.key_hash(unit->keys[0].data, unit->keys[0].len);
    unit->awaiting_copies = unit->info.noreply;
    switch (unit->info.copies) {
    case CopyRule::Read:
    case CopyRule::ReadPrimary:
        if (ask_next(upstream, unit)) {
            return;
        }
        break;
    case CopyRule::WritePrimary:
        for (std::size_t copy = 0; copy < pool.copies(); ++copy) {
            std::uint32_t server = server_of(pool, unit, copy);
            if (pool.live(server)) {
                upstream.send(server, add_attempt(upstream, unit, copy));
                return;
            }
        }
        break;
    case CopyRule::WriteAll:
    case CopyRule::Unclassified:  // refused before this
        for (std::size_t copy = 0; copy < pool.copies(); ++copy) {
            if (pool.live(server_of(pool, unit, copy))) {
                add_attempt(upstream, unit, copy);
            }
        }
        // Every attempt is counted before any is sent.
        for (Request* attempt : unit->fragments) {
            upstream.send(server_of(pool, unit, attempt->copy), attempt);
        }
        if (!unit->fragments.empty()) {
            return;
        }
        break;
    }
    unit->awaiting_copies = false;
    fail_unit(upstream, unit);
}

void read_done(Upstream& upstream, Request* unit, Request* attempt) {
    const bool error = failed(attempt);
    const bool miss_fails_over = attempt->reply_info.is_miss && unit->info.copies == CopyRule::Read &&
                                 upstream.pool().config().read_failover_on_miss;
    if (!error && !miss_fails_over) {
        if (attempt != unit->fragments.front()) {
            ++upstream.stats().copies.copy_failovers;
            if (!attempt->reply_info.is_miss) {
                backfill(upstream, unit, attempt, static_cast<std::uint32_t>(unit->fragments.size() - 1));
            }
        }
        finish(upstream, unit, attempt);
        return;
    }
    if (ask_next(upstream, unit)) {
        return;
    }
    // Every copy asked: a clean miss beats an error; else the first error.
    const Request* best = unit->fragments.front();
    for (const Request* a : unit->fragments) {
        if (!failed(a)) {
            best = a;
            break;
        }
    }
    finish(upstream, unit, best);
}

// Every live copy answered a WriteAll. The first success is what the
// copies should now agree on: a copy that answered otherwise, or failed
// (a timed-out write may still be applied), is invalidated.
void write_all_done(Upstream& upstream, Request* unit) {
    const std::vector<Request*>& attempts = unit->fragments;
    const Request* truth = nullptr;
    const Request* first_error = nullptr;
    for (const Request* a : attempts) {
        if (failed(a)) {
            first_error = first_error != nullptr ? first_error : a;
        } else if (truth == nullptr) {
            truth = a;
        }
    }
    const ServerPool& pool = upstream.pool();
    const Request* chosen;
    if (pool.config().copy_write == PoolConfig::CopyWrite::All) {
        chosen = first_error != nullptr ? first_error : attempts.front();
    } else {
        chosen = truth != nullptr ? truth : attempts.front();
    }
    if (truth != nullptr) {
        for (const Request* a : attempts) {
            if (a != truth && (failed(a) || !same_bytes(a->reply, truth->reply))) {
                invalidate(upstream, unit, server_of(pool, unit, a->copy));
            }
        }
    }
    finish(upstream, unit, chosen);
}

// The primary ran a WritePrimary: the other live copies lose the key, as
// they cannot be trusted to repeat what it did.
void write_primary_done(Upstream& upstream, Request* unit, const Request* attempt) {
    const ServerPool& pool = upstream.pool();
    for (std::size_t copy = 0; copy < pool.copies(); ++copy) {
        std::uint32_t server = server_of(pool, unit, copy);
        if (copy != attempt->copy && pool.live(server)) {
            invalidate(upstream, unit, server);
        }
    }
    finish(upstream, unit, attempt);
}

}  // namespace

void send(Upstream& upstream, ClientConnection& client, Request* request) {
    if (request->info.copies == CopyRule::Unclassified) {
        client.refuse(request, "command not supported in a pool with replicas");
        return;
    }
    if (request->keys.size() == 1) {
        start_unit(upstream, request);
        return;
    }
    // A unit per key, each a fragment the protocol merges as it merges a
    // split request's.
    Worker& worker = upstream.worker();
    const abi::RequestView view = request->view();
    const std::uint32_t nkeys = static_cast<std::uint32_t>(request->keys.size());
    request->fragment_of_key.resize(nkeys);
    for (std::uint32_t i = 0; i < nkeys; ++i) {
        Request* unit = worker.requests().get();
        unit->parent = request;
        unit->client = &client;
        unit->info = request->info;
        MessageBytesWriter writer(unit->bytes, worker.scratch(), request);
        upstream.pool().protocol().write_fragment(view, std::span<const std::uint32_t>(&i, 1), writer);
        unit->keys.push_back(request->keys[i]);
        unit->key_bufs.push_back(request->key_bufs[i]);
        request->fragments.push_back(unit);
        request->fragment_of_key[i] = i;
    }
    request->fragments_pending = nkeys;
    for (std::uint32_t i = 0; i < nkeys; ++i) {
        start_unit(upstream, request->fragments[i]);
    }
}

void attempt_done(Upstream& upstream, Request* attempt) {
    Request* unit = attempt->parent;
    --unit->fragments_pending;
    switch (unit->info.copies) {
    case CopyRule::Read:
    case CopyRule::ReadPrimary:
        read_done(upstream, unit, attempt);
        break;
    case CopyRule::WritePrimary:
        write_primary_done(upstream, unit, attempt);
        break;
    case CopyRule::WriteAll:
    case CopyRule::Unclassified:
        if (unit->fragments_pending == 0) {
            write_all_done(upstream, unit);
        }
        break;
    }
}

}  // namespace cachemux::copy_route
