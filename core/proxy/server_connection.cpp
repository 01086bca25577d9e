#include "proxy/server_connection.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "buffers/iovec_batch.hpp"
#include "buffers/message_writer.hpp"
#include "process/log.hpp"
#include "process/steady_clock.hpp"
#include "proxy/client_connection.hpp"
#include "proxy/worker.hpp"

namespace cachemux {

namespace {

// Records the value records of the response being parsed into its request.
class RecordCollector final : public abi::ResponseSink {
public:
    explicit RecordCollector(Request& request) : request_(request) {}
    void record(std::uint64_t begin, std::uint64_t end, abi::KeyRef key, bool miss) override {
        request_.records.push_back({begin, end, key, miss});
    }
    std::uint64_t offset() const override { return request_.reply.size(); }

private:
    Request& request_;
};

}  // namespace

ServerConnection::ServerConnection(Upstream& upstream, const Server& server, std::uint32_t index)
    : upstream_(upstream),
      server_(&server),
      index_(index),
      stats_(&upstream.server_stats(index)),
      in_(upstream.worker().mbufs()) {}

void ServerConnection::rebind(const Server& server, std::uint32_t index) {
    server_ = &server;
    index_ = index;
    stats_ = &upstream_.server_stats(index);
    if (timer_ == nullptr) {
        // Requests are stamped only under a timeout: one a reload brings
        // counts from now for what is already in flight.
        std::int64_t now = now_ms();
        for (Request* r = in_flight_.front(); r != nullptr; r = r->next_in_server) {
            r->sent_at_ms = now;
        }
    }
    arm_timer();  // the pool's timeout may have changed
}

void ServerConnection::retire() {
    if (index_ == kRetiredServer) {
        return;
    }
    LiveServerMetrics& stats = *stats_;
    if (connected_) {
        --stats.server_connections;
    }
    for (Request* r = in_flight_.front(); r != nullptr; r = r->next_in_server) {
        count_in_flight(r, -1);
    }
    for (Request* r = to_send_.front(); r != nullptr; r = r->next_in_server) {
        count_queued(r, -1);
    }
    index_ = kRetiredServer;
    stats_ = &upstream_.server_stats(kRetiredServer);
}

void ServerConnection::on_timeout(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<ServerConnection*>(arg);
    if (self->connecting_) {
        self->fail(ETIMEDOUT);
        return;
    }
    if (self->in_flight_.empty() || self->upstream_.pool().config().timeout_ms <= 0) {
        return;
    }
    std::int64_t deadline = self->in_flight_.front()->sent_at_ms + self->upstream_.pool().config().timeout_ms;
    if (now_ms() >= deadline) {
        // As nutcracker: the connection goes, and every request on it gets
        // "Connection timed out"; the next request connects afresh.
        self->fail(ETIMEDOUT);
    } else {
        self->arm_timer();
    }
}

void ServerConnection::arm_timer() {
    std::int64_t timeout = upstream_.pool().config().timeout_ms;
    if (timeout <= 0) {
        if (timer_ != nullptr) {
            evtimer_del(timer_);  // a reload took the pool's timeout away
        }
        return;
    }
    if (timer_ == nullptr) {
        timer_ = evtimer_new(upstream_.worker().base(), &ServerConnection::on_timeout, this);
    }
    std::int64_t wait;
    if (connecting_) {
        wait = timeout;
    } else if (!in_flight_.empty()) {
        wait = std::max<std::int64_t>(0, in_flight_.front()->sent_at_ms + timeout - now_ms());
    } else {
        evtimer_del(timer_);
        return;
    }
    timeval tv{static_cast<time_t>(wait / 1000), static_cast<suseconds_t>((wait % 1000) * 1000)};
    evtimer_add(timer_, &tv);
}

ServerConnection::~ServerConnection() {
    // The worker is shutting down: nobody waits for these replies any more.
    upstream_.worker().flushes().cancel(this);
    if (timer_ != nullptr) {
        event_free(timer_);
    }
    if (connect_failed_ != nullptr) {
        event_free(connect_failed_);
    }
    RequestPool& requests = upstream_.worker().requests();
    in_flight_.splice_back(to_send_);
    while (!in_flight_.empty()) {
        Request* r = in_flight_.pop_front();
        r->in_server_queue = false;
        if (r->parent == nullptr) {
            requests.release_if_unowned(r);
        }
    }
    if (read_event_ != nullptr) {
        event_free(read_event_);
        event_free(write_event_);
    }
    if (fd_ >= 0) {
        ::close(fd_);
        upstream_.worker().connection_closed();  // a reload retired it, or the worker stops
    }
}

void ServerConnection::on_read(evutil_socket_t, short, void* arg) {
    static_cast<ServerConnection*>(arg)->read_responses();
}

void ServerConnection::on_write(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<ServerConnection*>(arg);
    if (self->connecting_) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            self->fail(err);
            return;
        }
        self->connecting_ = false;
        self->connected_ = true;
        ++self->stats_->server_connections;
        self->arm_timer();
    }
    self->write_requests();
}

void ServerConnection::connect() {
    if (!resolved_) {
        try {
            address_ = resolve(server_->endpoint);
            resolved_ = true;
        } catch (const std::exception&) {
            errno = EHOSTUNREACH;
        }
    }
    fd_ = resolved_ ? connect_nonblocking(address_) : -1;
    if (fd_ < 0) {
        // Fail from the loop, never from inside send(): the caller may still
        // be walking the request being failed.
        // An event of its own, freed with the connection: a one-shot event
        // would fire on a connection already deleted (worker stop, reload).
        connect_errno_ = errno;
        if (connect_failed_ == nullptr) {
            connect_failed_ = evtimer_new(upstream_.worker().base(), &ServerConnection::on_connect_failed, this);
        }
        timeval now{0, 0};
        evtimer_add(connect_failed_, &now);
        return;
    }
    connect_pending_ = false;
    connecting_ = true;
    upstream_.worker().connection_opened();
    queue_handshake();
    if (upstream_.pool().config().tcpkeepalive) {
        set_tcp_keepalive(fd_);
    }
    event_base* base = upstream_.worker().base();
    if (read_event_ == nullptr) {
        read_event_ = event_new(base, fd_, EV_READ | EV_PERSIST, &ServerConnection::on_read, this);
        write_event_ = event_new(base, fd_, EV_WRITE | EV_PERSIST, &ServerConnection::on_write, this);
    } else {
        event_assign(read_event_, base, fd_, EV_READ | EV_PERSIST, &ServerConnection::on_read, this);
        event_assign(write_event_, base, fd_, EV_WRITE | EV_PERSIST, &ServerConnection::on_write, this);
    }
    event_add(read_event_, nullptr);
    event_add(write_event_, nullptr);
    arm_timer();  // a connect that hangs times out like a request
}

void ServerConnection::on_connect_failed(evutil_socket_t, short, void* arg) {
    auto* self = static_cast<ServerConnection*>(arg);
    self->connect_pending_ = false;
    self->fail(self->connect_errno_);
}

void ServerConnection::preconnect() {
    if (fd_ < 0 && !connect_pending_) {
        connect_pending_ = true;
        connect();
    }
}

// Requests are written when the socket is writable, so that everything the
// clients sent in one loop turn leaves in one writev.
// The protocol's greeting (redis: AUTH, SELECT) goes out before anything else.
void ServerConnection::queue_handshake() {
    RequestPool& requests = upstream_.worker().requests();
    Request* handshake = requests.get();
    handshake->origin = Request::Origin::Handshake;
    MessageBytesWriter writer(handshake->bytes, upstream_.worker().scratch(), handshake);
    handshake_replies_ = upstream_.pool().protocol().write_handshake(upstream_.pool().settings(), writer);
    handshake_index_ = 0;
    if (handshake_replies_ == 0) {
        requests.release_if_unowned(handshake);
        return;
    }
    handshake->in_server_queue = true;
    to_send_.push_front(handshake);
}

void ServerConnection::count_queued(const Request* r, int sign) {
    if (r->origin != Request::Origin::Client) {
        return;  // the proxy's own (AUTH, SELECT, a flush): not counted, as in nutcracker
    }
    LiveServerMetrics& stats = *stats_;
    stats.in_queue += sign;
    stats.in_queue_bytes += sign * static_cast<std::int64_t>(r->bytes.size());
}

void ServerConnection::count_in_flight(const Request* r, int sign) {
    if (r->origin != Request::Origin::Client) {
        return;
    }
    LiveServerMetrics& stats = *stats_;
    stats.out_queue += sign;
    stats.out_queue_bytes += sign * static_cast<std::int64_t>(r->bytes.size());
}

void ServerConnection::send(Request* request) {
    request->in_server_queue = true;
    to_send_.push_back(request);
    if (request->origin == Request::Origin::Client) {
        LiveServerMetrics& stats = *stats_;
        ++stats.requests;
        stats.request_bytes += static_cast<std::int64_t>(request->bytes.size());
        count_queued(request, +1);
    }
    if (fd_ < 0) {
        if (!connect_pending_) {
            connect_pending_ = true;
            connect();
        }
    } else if (!connecting_) {
        upstream_.worker().flushes().schedule(this);
    }
}

void ServerConnection::flush() {
    if (fd_ >= 0 && !connecting_) {
        write_requests();
    }
}

void ServerConnection::write_requests() {
    RequestPool& requests = upstream_.worker().requests();
    while (!to_send_.empty()) {
        IovecBatch batch(head_written_);
        for (Request* r = to_send_.front(); r != nullptr; r = r->next_in_server) {
            if (!batch.add(r->bytes)) {
                break;
            }
        }
        ssize_t n = batch.write_to(fd_);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                event_add(write_event_, nullptr);
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            fail(errno);
            return;
        }
        std::size_t written = static_cast<std::size_t>(n) + head_written_;
        while (!to_send_.empty() && written >= to_send_.front()->bytes.size()) {
            Request* r = to_send_.pop_front();
            written -= r->bytes.size();
            count_queued(r, -1);
            if (r->info.noreply) {
                // The server will not answer: the request is finished.
                r->in_server_queue = false;
                requests.release_if_unowned(r);
            } else {
                bool was_idle = in_flight_.empty();
                in_flight_.push_back(r);
                count_in_flight(r, +1);
                if (timer_ != nullptr) {
                    r->sent_at_ms = now_ms();
                    if (was_idle) {
                        arm_timer();
                    }
                }
            }
        }
        head_written_ = written;
    }
    event_del(write_event_);
}

void ServerConnection::read_responses() {
    for (int rounds = 0; rounds < 16 && fd_ >= 0; ++rounds) {
        switch (in_.read_from(fd_)) {
        case InputBuffer::ReadResult::Data:
            parse_responses();
            continue;
        case InputBuffer::ReadResult::DataDrained:
            parse_responses();
            return;
        case InputBuffer::ReadResult::WouldBlock:
            return;
        case InputBuffer::ReadResult::Eof:
            fail(ECONNRESET, Close::Eof);
            return;
        case InputBuffer::ReadResult::Error:
            fail(errno);
            return;
        case InputBuffer::ReadResult::TokenTooLong:
            fail(EPROTO);
            return;
        }
    }
}

void ServerConnection::parse_responses() {
    const abi::Protocol& protocol = upstream_.pool().protocol();
    while (fd_ >= 0 && in_.unparsed_size() > 0) {
        if (in_flight_.empty()) {
            fail(EPROTO);  // a response nobody asked for
            return;
        }
        Request* request = in_flight_.front();
        if (!parsing_) {
            std::memset(&parser_state_, 0, sizeof(parser_state_));
            parsing_ = true;
        }
        RecordCollector records(*request);
        abi::ParseResult result =
            protocol.parse_response(parser_state_, in_.unparsed(), in_.unparsed_size(), request->reply_info, records);
        request->reply.append(in_.mbuf(), in_.unparsed(), result.consumed);
        in_.consume(result.consumed);
        if (result.status == abi::ParseStatus::Done) {
            parsing_ = false;
            if (request->origin == Request::Origin::Handshake) {
                handshake_reply(request);
                continue;
            }
            in_flight_.pop_front();
            count_in_flight(request, -1);
            arm_timer();
            upstream_.server_answered(index_);
            if (request->client != nullptr) {  // not a reply nobody waits for
                LiveServerMetrics& stats = *stats_;
                ++stats.responses;
                stats.response_bytes += static_cast<std::int64_t>(request->reply.size());
            }
            if (request->origin == Request::Origin::Probe) {
                probe_reply(request);
            } else {
                complete(request);
            }
        } else if (result.status == abi::ParseStatus::Error) {
            fail(EPROTO);
            return;
        } else {
            return;
        }
    }
}

// One reply to the handshake. An error is swallowed, as nutcracker swallows
// a server's refusal of its AUTH: the server's own replies (NOAUTH) then tell
// clients what is wrong, request by request. What the server says of its
// version is kept for the proxy's own replies (redis INFO, HELLO).
void ServerConnection::handshake_reply(Request* handshake) {
    // Once per connection, so a copy to make the reply contiguous is cheap.
    std::string reply = handshake->reply.to_string();
    std::string_view version = upstream_.pool().protocol().read_handshake_reply(handshake_index_++, reply);
    if (!version.empty()) {
        upstream_.server_version(index_, version);
    }
    handshake->reply.clear();
    handshake->reply_info = {};
    if (--handshake_replies_ == 0) {
        in_flight_.pop_front();
        arm_timer();
        handshake->in_server_queue = false;
        upstream_.worker().requests().release_if_unowned(handshake);
    }
}

// The flush of a rejoining server answered: it rejoins unless the answer
// is an error.
void ServerConnection::probe_reply(Request* probe) {
    bool flushed = !probe->reply_info.is_error;
    probe->in_server_queue = false;
    upstream_.worker().requests().release_if_unowned(probe);
    upstream_.probe_done(index_, flushed);
}

// A request has its response (or its error reply): hand it on.
void ServerConnection::complete(Request* request) {
    request->in_server_queue = false;
    request->done = true;
    upstream_.request_done(request);
}

void ServerConnection::fail(int err, Close how) {
    LiveServerMetrics& stats = *stats_;
    if (fd_ >= 0) {
        event_del(read_event_);
        event_del(write_event_);
        ::close(fd_);
        fd_ = -1;
        upstream_.worker().connection_closed();
    }
    if (connected_) {
        connected_ = false;
        --stats.server_connections;
    }
    if (err == ETIMEDOUT) {
        ++stats.server_timedout;
    } else if (how == Close::Eof) {
        ++stats.server_eof;
    } else {
        ++stats.server_err;
    }
    connecting_ = false;
    parsing_ = false;
    head_written_ = 0;
    handshake_replies_ = 0;
    if (timer_ != nullptr) {
        evtimer_del(timer_);
    }
    in_.reset();
    upstream_.server_failed(index_);  // may eject the server from the ring
    // Every request still owed a response gets an error reply, in order.
    const abi::Protocol& protocol = upstream_.pool().protocol();
    for (Request* r = in_flight_.front(); r != nullptr; r = r->next_in_server) {
        count_in_flight(r, -1);
    }
    for (Request* r = to_send_.front(); r != nullptr; r = r->next_in_server) {
        count_queued(r, -1);
    }
    RequestQueue failed;
    failed.splice_back(in_flight_);
    failed.splice_back(to_send_);
    const char* detail = std::strerror(err);
    CACHEMUX_LOG(kLogInfo, "pool '%s': server '%s' %s: %s", upstream_.name().c_str(), server_->pname.c_str(),
                 how == Close::Eof ? "closed the connection" : "connection failed", detail);
    while (!failed.empty()) {
        Request* r = failed.pop_front();
        r->reply.clear();
        r->records.clear();
        r->reply_info.is_error = true;
        r->reply_info.forward_failed = true;
        if (r->info.noreply || r->origin != Request::Origin::Client) {
            bool probe = r->origin == Request::Origin::Probe;
            r->in_server_queue = false;
            upstream_.worker().requests().release_if_unowned(r);
            if (probe) {
                upstream_.probe_done(index_, false);
            }
            continue;
        }
        MessageBytesWriter writer(r->reply, upstream_.worker().scratch(), r);
        protocol.render_error(r->info, abi::ForwardError::ConnectionFailed, detail, writer);
        complete(r);
    }
}

}  // namespace cachemux
