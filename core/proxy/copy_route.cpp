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
std::size_t read_copy(const ServerPool& pool, std::uint32_t key_hash, std::size_t nth) {
    std::size_t start = pool.config().copy_read == PoolConfig::CopyRead::Spread ? key_hash % pool.copies() : 0;
    return (start + nth) % pool.copies();
}

// Sends the unit's next read to the next live copy; false when none is left.
bool ask_next(Upstream& upstream, Request* unit) {
    const ServerPool& pool = upstream.pool();
    while (unit->copies_asked < pool.copies()) {
        std::size_t copy = read_copy(pool, unit->key_hash, unit->copies_asked++);
        std::uint32_t server = server_of(pool, unit, copy);
        if (pool.live(server)) {
            upstream.send(server, add_attempt(upstream, unit, copy));
            return true;
        }
    }
    return false;
}

// Takes what a plugin writes and drops it: to learn what it would do.
class NullWriter final : public abi::MessageWriter {
public:
    void literal(std::string_view) override {}
    void copy(std::string_view) override {}
    void key(std::uint32_t) override {}
    void key_payload(std::uint32_t) override {}
    void response(std::uint32_t, std::uint64_t, std::uint64_t) override {}
    void request(std::uint64_t, std::uint64_t) override {}
};

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

// The unit's hit, its attempt number `index`, is written back to `server`,
// a copy that answered a clean miss: only if the key is still absent there,
// so that a write since wins.
void backfill_to(Upstream& upstream, Request* unit, std::uint32_t index, std::uint32_t server) {
    const ServerPool& pool = upstream.pool();
    const int ttl = pool.config().backfill_ttl_s;
    if (ttl <= 0 || unit->info.copies != CopyRule::Read || server == kNoServer) {
        return;
    }
    std::string& text = upstream.worker().routing().reply_text;  // reused: no allocation once grown
    text.clear();
    for (const Segment& s : unit->fragments[index]->reply.segments()) {
        text.append(s.data, s.len);
    }
    Request* repair = upstream.worker().requests().get();
    repair->origin = Request::Origin::Repair;
    MessageBytesWriter writer(repair->bytes, upstream.worker().scratch(), unit);
    if (!pool.protocol().write_backfill(unit->keys[0], text, index, static_cast<std::uint32_t>(ttl), writer)) {
        upstream.worker().requests().release_if_unowned(repair);
        return;
    }
    ++upstream.stats().copies.copy_backfills;
    upstream.send(server, repair);
}

// Every copy the unit asked before its hit (attempt `index`) that answered
// a clean miss is backfilled.
void backfill(Upstream& upstream, Request* unit, std::uint32_t index) {
    for (std::uint32_t i = 0; i < index; ++i) {
        const Request* missed = unit->fragments[i];
        if (!failed(missed) && missed->reply_info.is_miss) {
            backfill_to(upstream, unit, index, server_of(upstream.pool(), unit, missed->copy));
        }
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
                backfill(upstream, unit, static_cast<std::uint32_t>(unit->fragments.size() - 1));
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

// The primary ran a WritePrimary: the protocol says what the other live
// copies get. A stored cas is sent on as a set of its item; anything the
// copies cannot be trusted to repeat (SPOP, or a primary that failed)
// costs them the key.
void write_primary_done(Upstream& upstream, Request* unit, const Request* attempt) {
    const ServerPool& pool = upstream.pool();
    abi::Followup followup = abi::Followup::Invalidate;
    if (!failed(attempt)) {
        std::string& text = upstream.worker().routing().reply_text;
        text.clear();
        for (const Segment& s : attempt->reply.segments()) {
            text.append(s.data, s.len);
        }
        NullWriter probe;
        followup = pool.protocol().write_followup(unit->view(), text, probe);
    }
    for (std::size_t copy = 0; copy < pool.copies(); ++copy) {
        std::uint32_t server = server_of(pool, unit, copy);
        if (copy == attempt->copy || !pool.live(server)) {
            continue;
        }
        if (followup == abi::Followup::Invalidate) {
            invalidate(upstream, unit, server);
        } else if (followup == abi::Followup::Written) {
            Request* repair = upstream.worker().requests().get();
            repair->origin = Request::Origin::Repair;
            MessageBytesWriter writer(repair->bytes, upstream.worker().scratch(), unit);
            pool.protocol().write_followup(unit->view(), upstream.worker().routing().reply_text, writer);
            ++upstream.stats().copies.copy_propagations;
            upstream.send(server, repair);
        }
    }
    finish(upstream, unit, attempt);
}

// Key `i` of `request` as a unit of its own: a fragment of it, with that
// one key, written by the protocol as it writes a split request's.
Request* key_unit(Upstream& upstream, Request* request, std::uint32_t i) {
    Worker& worker = upstream.worker();
    Request* unit = worker.requests().get();
    unit->parent = request;
    unit->client = request->client;
    unit->info = request->info;
    MessageBytesWriter writer(unit->bytes, worker.scratch(), request);
    upstream.pool().protocol().write_fragment(request->view(), std::span<const std::uint32_t>(&i, 1), writer);
    unit->keys.push_back(request->keys[i]);
    unit->key_bufs.push_back(request->key_bufs[i]);
    request->fragments.push_back(unit);
    return unit;
}

// --- a multi-key read, in rounds. The first asks every key's first live
// copy in read order, one fragment per server, as a plain pool would; a key
// that missed or failed there asks its next copies as a unit of its own,
// and only those keys do.

constexpr std::uint32_t kNoRecord = UINT32_MAX;

// The first round: each key's first live copy in read order, one
// fragment per server (fragments [0, F)); a key without a live copy gets
// a unit holding the error already (after them).
void send_batched_read(Upstream& upstream, Request* request) {
    const ServerPool& pool = upstream.pool();
    Worker& worker = upstream.worker();
    RoutingScratch& scratch = worker.routing();
    const auto nkeys = static_cast<std::uint32_t>(request->keys.size());
    request->copy_batch = true;
    request->key_source.assign(nkeys, 0);
    request->key_record.assign(nkeys, kNoRecord);
    scratch.fragment_of_server.assign(pool.servers().size(), UINT32_MAX);
    scratch.fragment_server.clear();
    scratch.key_server.assign(nkeys, kNoServer);
    for (std::uint32_t i = 0; i < nkeys; ++i) {
        const std::uint32_t hash = pool.key_hash(request->keys[i].data, request->keys[i].len);
        for (std::size_t nth = 0; nth < pool.copies() && scratch.key_server[i] == kNoServer; ++nth) {
            std::uint32_t server = pool.server_in_copy(read_copy(pool, hash, nth), hash);
            if (pool.live(server)) {
                scratch.key_server[i] = server;
            }
        }
        if (scratch.key_server[i] != kNoServer) {
            std::uint32_t& fragment = scratch.fragment_of_server[scratch.key_server[i]];
            if (fragment == UINT32_MAX) {
                fragment = static_cast<std::uint32_t>(scratch.fragment_server.size());
                scratch.fragment_server.push_back(scratch.key_server[i]);
            }
            request->key_source[i] = fragment;
        }
    }
    const auto nfragments = static_cast<std::uint32_t>(scratch.fragment_server.size());
    for (std::uint32_t f = 0; f < nfragments; ++f) {
        scratch.key_indices.clear();
        for (std::uint32_t i = 0; i < nkeys; ++i) {
            if (scratch.key_server[i] != kNoServer && request->key_source[i] == f) {
                scratch.key_indices.push_back(i);
            }
        }
        Request* frag = worker.requests().get();
        frag->parent = request;
        frag->client = request->client;
        frag->info = request->info;
        frag->copy = static_cast<std::uint8_t>(pool.copy_of(scratch.fragment_server[f]));
        MessageBytesWriter writer(frag->bytes, worker.scratch(), request);
        pool.protocol().write_fragment(request->view(), scratch.key_indices, writer);
        request->fragments.push_back(frag);
    }
    for (std::uint32_t i = 0; i < nkeys; ++i) {
        if (scratch.key_server[i] == kNoServer) {
            Request* unit = key_unit(upstream, request, i);
            unit->copy_unit = true;  // a unit that asked no copy, and never will
            MessageBytesWriter writer(unit->reply, worker.scratch(), unit);
            pool.protocol().render_error(unit->info, abi::ForwardError::ConnectionFailed,
                                         std::strerror(ECONNREFUSED), writer);
            unit->reply_info.is_error = unit->reply_info.forward_failed = true;
            unit->done = true;
            request->key_source[i] = static_cast<std::uint32_t>(request->fragments.size() - 1);
        }
    }
    request->fragment_of_key = request->key_source;
    request->fragments_pending = nfragments;
    if (nfragments == 0) {
        batch_done(upstream, request);
        return;
    }
    // Every fragment is counted before any is sent.
    for (std::uint32_t f = 0; f < nfragments; ++f) {
        upstream.send(scratch.fragment_server[f], request->fragments[f]);
    }
}

// What the first round found: each key's record in its fragment, read as
// the protocol lays records out (by key, a miss having none; or one per
// key, in order). A failed fragment's keys have none.
void read_first_round(Upstream& upstream, Request* request) {
    std::vector<std::uint32_t>& cursor = upstream.worker().routing().key_indices;
    cursor.assign(request->fragments.size(), 0);
    for (std::uint32_t i = 0; i < request->keys.size(); ++i) {
        const std::uint32_t f = request->key_source[i];
        const Request* src = request->fragments[f];
        if (src->copy_unit || failed(src) || cursor[f] >= src->records.size()) {
            continue;
        }
        const abi::Record& r = src->records[cursor[f]];
        if (r.key.data == nullptr || r.key.view() == request->keys[i].view()) {
            request->key_record[i] = cursor[f]++;
        }
    }
}

bool first_round_hit(const Request* request, std::uint32_t i) {
    const Request* src = request->fragments[request->key_source[i]];
    std::uint32_t r = request->key_record[i];
    return !failed(src) && r != kNoRecord && !src->records[r].miss;
}

// Keys that failed, or missed under read_failover: miss, ask on from the
// copy after the one the first round asked. False when none did.
bool second_round(Upstream& upstream, Request* request) {
    read_first_round(upstream, request);
    const ServerPool& pool = upstream.pool();
    const bool on_miss = request->info.copies == CopyRule::Read && pool.config().read_failover_on_miss;
    bool any = false;
    for (std::uint32_t i = 0; i < request->keys.size(); ++i) {
        const Request* src = request->fragments[request->key_source[i]];
        if (src->copy_unit || first_round_hit(request, i) || (!failed(src) && !on_miss)) {
            continue;
        }
        Request* unit = key_unit(upstream, request, i);
        unit->copy_unit = true;
        unit->key_hash = pool.key_hash(unit->keys[0].data, unit->keys[0].len);
        std::size_t asked = 0;
        while (asked + 1 < pool.copies() && read_copy(pool, unit->key_hash, asked) != src->copy) {
            ++asked;
        }
        unit->copies_asked = static_cast<std::uint8_t>(asked + 1);
        ++request->fragments_pending;
        if (ask_next(upstream, unit)) {
            request->fragment_of_key[i] = static_cast<std::uint32_t>(request->fragments.size() - 1);
            any = true;
        } else {
            --request->fragments_pending;  // no copy left: the first round's answer stands
        }
    }
    return any;
}

// Merging with one fragment per key, so that each key's answer, from
// whichever round, reaches the protocol's merge as a split request's would:
// fragment numbers the merge writes are mapped back to the real ones.
class FragmentMapWriter final : public abi::MessageWriter {
public:
    FragmentMapWriter(abi::MessageWriter& out, const std::vector<std::uint32_t>& real) : out_(out), real_(real) {}
    void literal(std::string_view bytes) override { out_.literal(bytes); }
    void copy(std::string_view bytes) override { out_.copy(bytes); }
    void key(std::uint32_t index) override { out_.key(index); }
    void key_payload(std::uint32_t index) override { out_.key_payload(index); }
    void response(std::uint32_t fragment, std::uint64_t begin, std::uint64_t end) override {
        out_.response(real_[fragment], begin, end);
    }
    void request(std::uint64_t begin, std::uint64_t end) override { out_.request(begin, end); }

private:
    abi::MessageWriter& out_;
    const std::vector<std::uint32_t>& real_;
};

// Each key's answer: a second-round unit's if it hit, or if it failed
// where the first round had a clean miss (a clean miss beats an error);
// else the first round's record.
void merge_rounds(Upstream& upstream, Request* request) {
    RoutingScratch& scratch = upstream.worker().routing();
    scratch.replies.clear();
    scratch.fragment_server.clear();  // per key: the real fragment
    scratch.key_indices.clear();      // per key: its own fragment
    bool forward_failed = false;
    for (std::uint32_t i = 0; i < request->keys.size(); ++i) {
        std::uint32_t source = request->fragment_of_key[i];
        const Request* first = request->fragments[request->key_source[i]];
        std::span<const abi::Record> records;
        if (source != request->key_source[i]) {
            Request* unit = request->fragments[source];
            if (failed(unit) && !failed(first)) {
                source = request->key_source[i];
            } else {
                records = unit->records;
                if (!failed(unit) && !unit->reply_info.is_miss) {
                    ++upstream.stats().copies.copy_failovers;
                    backfill_to(upstream, unit, static_cast<std::uint32_t>(unit->fragments.size() - 1),
                                failed(first) ? kNoServer : server_of(upstream.pool(), unit, first->copy));
                }
            }
        }
        const Request* answer = request->fragments[source];
        if (source == request->key_source[i] && request->key_record[i] != kNoRecord) {
            records = std::span<const abi::Record>(&answer->records[request->key_record[i]], 1);
        }
        forward_failed = forward_failed || answer->reply_info.forward_failed;
        scratch.replies.push_back({answer->reply_info, answer->reply.size(), records});
        scratch.fragment_server.push_back(source);
        scratch.key_indices.push_back(i);
    }
    const abi::RequestView view = request->view();
    const abi::MergeInput input{view, scratch.key_indices, scratch.replies};
    MessageBytesWriter out(request->reply, upstream.worker().scratch(), request);
    FragmentMapWriter writer(out, scratch.fragment_server);
    upstream.pool().protocol().merge_replies(input, writer);
    if (forward_failed && request->client != nullptr) {
        ++upstream.stats().pool.forward_error;
    }
    upstream.merged(request);
}

}  // namespace

void batch_done(Upstream& upstream, Request* request) {
    if (request->copies_asked == 0) {
        request->copies_asked = 1;  // the first round is in
        if (second_round(upstream, request)) {
            return;
        }
    }
    merge_rounds(upstream, request);
}

void send(Upstream& upstream, ClientConnection& client, Request* request) {
    if (request->info.copies == CopyRule::Unclassified) {
        client.refuse(request, "command not supported in a pool with replicas");
        return;
    }
    if (request->keys.size() == 1) {
        start_unit(upstream, request);
        return;
    }
    const CopyRule rule = request->info.copies;
    if (rule == CopyRule::Read || rule == CopyRule::ReadPrimary) {
        send_batched_read(upstream, request);
        return;
    }
    // A write: a unit per key, each a fragment the protocol merges as it
    // merges a split request's.
    const auto nkeys = static_cast<std::uint32_t>(request->keys.size());
    request->fragment_of_key.resize(nkeys);
    for (std::uint32_t i = 0; i < nkeys; ++i) {
        key_unit(upstream, request, i);
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
