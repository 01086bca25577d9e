#include "proxy/client_connection.hpp"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>

#include "buffers/iovec_batch.hpp"
#include "buffers/message_writer.hpp"
#include "process/log.hpp"
#include "proxy/copy_route.hpp"
#include "proxy/socket.hpp"
#include "proxy/worker.hpp"

namespace cachemux {

namespace {

// Collects the keys the parser reports for the request being parsed.
class KeyCollector final : public abi::RequestSink {
public:
    KeyCollector(Request& request, Mbuf* buf, abi::SessionState& session, const abi::PoolSettings& pool)
        : request_(request), buf_(buf), session_(session), pool_(pool) {}
    void key(const char* data, std::size_t len) override {
        request_.keys.push_back({data, static_cast<std::uint32_t>(len)});
        request_.key_bufs.push_back(buf_);
    }
    void key_payload(std::uint64_t begin, std::uint64_t size) override {
        if (request_.keys.empty()) {
            return;
        }
        request_.key_payloads.resize(request_.keys.size());
        request_.key_payloads.back() = {begin, size};
    }
    // The core appends a chunk's consumed bytes after the parse call.
    std::uint64_t offset() const override { return request_.bytes.size(); }
    abi::SessionState& session() override { return session_; }
    const abi::PoolSettings& pool() const override { return pool_; }

private:
    Request& request_;
    Mbuf* buf_;
    abi::SessionState& session_;
    const abi::PoolSettings& pool_;
};

// CLIENT ID: one counter for the process, so ids stay unique whichever
// worker or pool a client lands on. Taken once per connection.
std::atomic<std::uint64_t> next_client_id{1};

}  // namespace

ClientConnection::ClientConnection(Upstream& upstream, int fd)
    : upstream_(upstream),
      fd_(fd),
      in_(upstream.worker().mbufs()),
      id_(next_client_id.fetch_add(1, std::memory_order_relaxed)),
      connected_at_(std::time(nullptr)) {
    event_base* base = upstream_.worker().base();
    read_event_ = event_new(base, fd_, EV_READ | EV_PERSIST, &ClientConnection::on_read, this);
    write_event_ = event_new(base, fd_, EV_WRITE | EV_PERSIST, &ClientConnection::on_write, this);
    event_add(read_event_, nullptr);
}

ClientConnection::~ClientConnection() {
    event_free(read_event_);
    event_free(write_event_);
}

std::string_view ClientConnection::peer_address() {
    if (peer_address_.empty()) {
        peer_address_ = peer_address_of(fd_);
        if (peer_address_ == ":0") {
            peer_address_ = local_address();  // an unnamed unix peer: redis shows the socket's path
        }
    }
    return peer_address_;
}

std::string_view ClientConnection::local_address() {
    if (local_address_.empty()) {
        local_address_ = local_address_of(fd_);
    }
    return local_address_;
}

void ClientConnection::on_read(evutil_socket_t, short, void* arg) {
    static_cast<ClientConnection*>(arg)->read_requests();
}

void ClientConnection::on_write(evutil_socket_t, short events, void* arg) {
    auto* self = static_cast<ClientConnection*>(arg);
    if (events & EV_TIMEOUT) {
        CACHEMUX_LOG(kLogWarn, "pool '%s': closing a client that read no reply in %ld s (%u owed)",
                     self->upstream_.name().c_str(), static_cast<long>(kStalledWriteTimeout.tv_sec), self->owed_);
        self->close();
        return;
    }
    self->write_replies();
}

void ClientConnection::on_destroy(evutil_socket_t, short, void* arg) { delete static_cast<ClientConnection*>(arg); }

void ClientConnection::close() {
    if (closed_) {
        return;
    }
    closed_ = true;
    upstream_.worker().flushes().cancel(this);
    event_del(read_event_);
    event_del(write_event_);
    ::close(fd_);
    RequestPool& requests = upstream_.worker().requests();
    // Requests still on a server's wire finish there and are released then.
    for (Request* r = head_; r != nullptr;) {
        Request* next = r->next_in_client;
        r->client = nullptr;
        for (Request* f : r->fragments) {
            f->client = nullptr;
        }
        r->in_client_queue = false;
        r->next_in_client = nullptr;
        requests.release_if_unowned(r);
        r = next;
    }
    head_ = tail_ = nullptr;
    if (parsing_ != nullptr) {
        requests.release_if_unowned(parsing_);
        parsing_ = nullptr;
    }
    in_.reset();
    // nutcracker's counts: an EOF or quit is a client's normal end, any
    // other close (a parse error, a reset) an error.
    LivePoolMetrics& stats = upstream_.stats().pool;
    --stats.client_connections;
    ++(eof_ ? stats.client_eof : stats.client_err);
    upstream_.worker().connection_closed();
    upstream_.forget_client(this);
    // Deleted from the loop, never from under a callback still on the stack.
    event_base_once(upstream_.worker().base(), -1, EV_TIMEOUT, &ClientConnection::on_destroy, this, nullptr);
}

void ClientConnection::read_requests() {
    // Read until the socket is drained, parsing as we go, so that one
    // readiness event serves a whole pipeline.
    for (int rounds = 0; rounds < 16 && !closed_ && !eof_ && !paused_; ++rounds) {
        switch (in_.read_from(fd_)) {
        case InputBuffer::ReadResult::Data:
            parse_requests();
            continue;
        case InputBuffer::ReadResult::DataDrained:
            parse_requests();
            return;
        case InputBuffer::ReadResult::WouldBlock:
            return;
        case InputBuffer::ReadResult::Eof:
            // The client is done sending (perhaps only half-closed, as
            // `printf 'get k\r\n' | nc` does): answer what it sent, then close.
            eof_ = true;
            event_del(read_event_);
            close_if_done();
            return;
        case InputBuffer::ReadResult::Error:
        case InputBuffer::ReadResult::TokenTooLong:  // no way to resynchronise
            close();
            return;
        }
    }
}

void ClientConnection::drain() {
    if (closed_) {
        return;
    }
    // What the client sent before the switch is read and answered (with an
    // error: its pool is gone) rather than lost unread; then no more.
    if (!eof_ && !paused_) {
        read_requests();
        if (closed_) {
            return;
        }
    }
    eof_ = true;
    event_del(read_event_);
    close_if_done();
}

void ClientConnection::close_if_done() {
    if (eof_ && head_ == nullptr) {
        close();
    }
}

void ClientConnection::parse_requests() {
    const abi::Protocol& protocol = upstream_.pool().protocol();
    RequestPool& requests = upstream_.worker().requests();
    while (!closed_ && !paused_ && in_.unparsed_size() > 0) {
        if (parsing_ == nullptr) {
            parsing_ = requests.get();
            parsing_->client = this;
            std::memset(&parser_state_, 0, sizeof(parser_state_));
        }
        KeyCollector keys(*parsing_, in_.mbuf(), session_, upstream_.pool().settings());
        abi::ParseResult result =
            protocol.parse_request(parser_state_, in_.unparsed(), in_.unparsed_size(), parsing_->info, keys);
        parsing_->bytes.append(in_.mbuf(), in_.unparsed(), result.consumed);
        in_.consume(result.consumed);
        if (result.status == abi::ParseStatus::Done) {
            Request* request = parsing_;
            parsing_ = nullptr;
            bool last = request->info.close_after;
            dispatch(request);
            if (last) {
                // quit: nothing after it may reach a server, as with memcached.
                eof_ = true;
                event_del(read_event_);
                return;
            }
            if (owed_ >= kMaxOwedReplies) {
                pause_reading();
            }
        } else if (result.status == abi::ParseStatus::Error) {
            close();
            return;
        } else {
            return;  // Again: wait for more bytes
        }
    }
}

void ClientConnection::dispatch(Request* request) {
    const abi::RequestInfo& info = request->info;
    if (!info.noreply) {
        queue_reply(request);
    }
    switch (info.route) {
    case abi::Route::Local: {
        MessageBytesWriter writer(request->reply, upstream_.worker().scratch(), request);
        upstream_.pool().protocol().render_local(request->view(), upstream_.local_context(*this), writer);
        request->done = true;
        break;
    }
    case abi::Route::Forward:
    case abi::Route::Broadcast:
        if (upstream_.retired()) {
            // Sent before a reload removed the pool, read as it drains.
            refuse(request, "pool removed by a configuration reload");
        } else if (info.route == abi::Route::Forward) {
            forward(request);
        } else {
            broadcast(request);
        }
        break;
    }
    if (info.noreply) {
        // Nothing owed to the client: the servers' queues own what is left.
        upstream_.worker().requests().release_if_unowned(request);
    } else if (request->done && request == head_) {
        upstream_.worker().flushes().schedule(this);
    }
}

void ClientConnection::refuse(Request* request, const char* detail) {
    MessageBytesWriter writer(request->reply, upstream_.worker().scratch(), request);
    upstream_.pool().protocol().render_error(request->info, abi::ForwardError::ConnectionFailed, detail, writer);
    request->done = true;
    if (!request->info.noreply) {
        ++upstream_.stats().pool.forward_error;
    }
}

void ClientConnection::queue_reply(Request* request) {
    ++owed_;
    request->in_client_queue = true;
    if (tail_ == nullptr) {
        head_ = tail_ = request;
    } else {
        tail_->next_in_client = request;
        tail_ = request;
    }
}

void ClientConnection::forward(Request* request) {
    const ServerPool& pool = upstream_.routing_pool();
    if (pool.copies() > 1) {
        copy_route::send(upstream_, *this, request);
        return;
    }
    if (!pool.has_live_servers()) {
        // Every server ejected: nutcracker's reply is a refused connection.
        refuse(request, std::strerror(ECONNREFUSED));
        return;
    }
    const auto& keys = request->keys;
    std::uint32_t first = pool.server_for_key(keys[0].data, keys[0].len);
    if (keys.size() == 1) {
        upstream_.send(first, request);
        return;
    }
    // Several keys: always split, even when one server holds them all, so the
    // reply is the protocol's merge either way (nutcracker's replies, errors
    // included, depend on it).
    request->fragment_of_key.resize(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) {
        std::uint32_t server = i == 0 ? first : pool.server_for_key(keys[i].data, keys[i].len);
        request->fragment_of_key[i] = server;  // a server index for now; see fragment()
    }
    fragment(request);
}

// One fragment per server, carrying that server's keys in request order.
// On entry fragment_of_key holds each key's server; on exit its fragment.
void ClientConnection::fragment(Request* request) {
    Worker& worker = upstream_.worker();
    RoutingScratch& scratch = worker.routing();
    std::vector<std::uint32_t>& of_key = request->fragment_of_key;
    scratch.fragment_of_server.assign(upstream_.pool().servers().size(), UINT32_MAX);
    scratch.fragment_server.clear();
    for (std::uint32_t& slot : of_key) {
        std::uint32_t& fragment = scratch.fragment_of_server[slot];
        if (fragment == UINT32_MAX) {
            fragment = static_cast<std::uint32_t>(scratch.fragment_server.size());
            scratch.fragment_server.push_back(slot);
        }
        slot = fragment;
    }
    const std::uint32_t nfragments = static_cast<std::uint32_t>(scratch.fragment_server.size());
    for (std::uint32_t f = 0; f < nfragments; ++f) {
        scratch.key_indices.clear();
        for (std::uint32_t i = 0; i < of_key.size(); ++i) {
            if (of_key[i] == f) {
                scratch.key_indices.push_back(i);
            }
        }
        Request* frag = worker.requests().get();
        frag->parent = request;
        frag->client = this;
        frag->info = request->info;
        MessageBytesWriter writer(frag->bytes, worker.scratch(), request);
        upstream_.pool().protocol().write_fragment(request->view(), scratch.key_indices, writer);
        request->fragments.push_back(frag);
    }
    request->fragments_pending = nfragments;
    // Sending may complete fragments (and so the request) at once: send last.
    for (std::uint32_t f = 0; f < nfragments; ++f) {
        upstream_.send(scratch.fragment_server[f], request->fragments[f]);
    }
}

void ClientConnection::broadcast(Request* request) {
    Worker& worker = upstream_.worker();
    std::size_t nservers = upstream_.pool().servers().size();
    for (std::size_t s = 0; s < nservers; ++s) {
        Request* frag = worker.requests().get();
        frag->parent = request;
        frag->client = this;
        frag->info = request->info;
        frag->bytes.append_all(request->bytes);
        request->fragments.push_back(frag);
    }
    request->fragments_pending = static_cast<std::uint32_t>(nservers);
    for (std::size_t s = 0; s < nservers; ++s) {
        upstream_.send(static_cast<std::uint32_t>(s), request->fragments[s]);
    }
}

void ClientConnection::reply_ready() {
    if (!closed_ && head_ != nullptr && head_->done) {
        upstream_.worker().flushes().schedule(this);
    }
}

void ClientConnection::write_replies() {
    if (closed_ || writing_) {
        return;
    }
    writing_ = true;
    RequestPool& requests = upstream_.worker().requests();
    while (head_ != nullptr && head_->done && !closed_) {
        if (head_->info.close_after && head_written_ == head_->reply.size()) {
            // Everything before it is written: quit.
            writing_ = false;
            close();
            return;
        }
        IovecBatch batch(head_written_);
        for (Request* r = head_; r != nullptr && r->done; r = r->next_in_client) {
            if (!batch.add(r->reply) || r->info.close_after) {
                break;
            }
        }
        ssize_t n = batch.size() == 0 ? 0 : batch.write_to(fd_);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                // Re-armed after every write that made progress, so the
                // timeout measures time without any (on_write).
                event_add(write_event_, &kStalledWriteTimeout);
                pause_reading();
                writing_ = false;
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            writing_ = false;
            close();
            return;
        }
        // Retire every reply written in full.
        std::size_t written = static_cast<std::size_t>(n) + head_written_;
        while (head_ != nullptr && head_->done && !head_->info.close_after && written >= head_->reply.size()) {
            written -= head_->reply.size();
            Request* r = head_;
            head_ = r->next_in_client;
            if (head_ == nullptr) {
                tail_ = nullptr;
            }
            r->in_client_queue = false;
            r->next_in_client = nullptr;
            --owed_;
            requests.release_if_unowned(r);
        }
        head_written_ = written;
    }
    if (!closed_ && (head_ == nullptr || !head_->done)) {
        event_del(write_event_);
    }
    writing_ = false;
    if (paused_ && !closed_ && owed_ <= kMaxOwedReplies / 2) {
        resume_reading();
    }
    close_if_done();
}

void ClientConnection::pause_reading() {
    if (!paused_) {
        paused_ = true;
        event_del(read_event_);
    }
}

// Requests already read wait in the buffer: parse them first, since the
// socket may have nothing new to wake us with.
void ClientConnection::resume_reading() {
    paused_ = false;
    if (eof_) {
        return;
    }
    event_add(read_event_, nullptr);
    parse_requests();
}

}  // namespace cachemux
