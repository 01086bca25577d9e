// One persistent connection to a server, onto which many clients' requests
// are pipelined. Responses come back in the order requests were written, so
// each response is matched with the oldest request in flight.
#pragma once

#include <event2/event.h>

#include "buffers/input_buffer.hpp"
#include "cachemux/protocol_abi.hpp"
#include "proxy/flush_queue.hpp"
#include "proxy/request.hpp"
#include "proxy/request_queue.hpp"
#include "proxy/socket.hpp"
#include "stats/stats_metrics.hpp"

#include <cerrno>

namespace cachemux {

class Upstream;
struct Server;

class ServerConnection final : public Flushable {
public:
    ServerConnection(Upstream& upstream, const Server& server, std::uint32_t index);
    ~ServerConnection();
    ServerConnection(const ServerConnection&) = delete;
    ServerConnection& operator=(const ServerConnection&) = delete;

    void send(Request* request);
    // Connects now rather than on the first request (preconnect: true).
    void preconnect();

    // --- reload (on the worker's thread, between two loop turns)
    // The server carries on in the new configuration as server `index` of
    // its pool: the connection stays as it is.
    void rebind(const Server& server, std::uint32_t index);
    // The server left the configuration (or this connection is one too
    // many): it takes no new request, and its gauges leave the server's
    // numbers. What it has queued is still sent and answered.
    void retire();
    // Nothing queued or in flight: a retired connection may be deleted.
    bool idle() const { return to_send_.empty() && in_flight_.empty(); }
    // A retired connection's drain time is over: every request it still
    // holds gets an error reply ("Connection timed out"), as a timeout does.
    void expire() { fail(ETIMEDOUT); }
    // Writes the queued requests (end of the loop turn).
    void flush() override;

private:
    static void on_read(evutil_socket_t fd, short events, void* arg);
    static void on_write(evutil_socket_t fd, short events, void* arg);
    static void on_connect_failed(evutil_socket_t fd, short events, void* arg);
    static void on_timeout(evutil_socket_t fd, short events, void* arg);

    void connect();
    void write_requests();
    void read_responses();
    void parse_responses();
    // Why a connection ends, for the stats.
    enum class Close : std::uint8_t { Error, Eof };
    // Closes the socket and answers every queued request with an error.
    void fail(int err, Close how = Close::Error);
    // The stats of a request entering or leaving the queues (clients' only).
    void count_queued(const Request* r, int sign);
    void count_in_flight(const Request* r, int sign);
    void complete(Request* request);
    void queue_handshake();
    // The pool's `timeout`: arms the timer for the oldest request in flight
    // (or for the connect under way), or disarms it.
    void arm_timer();
    void handshake_reply(Request* handshake);
    void probe_reply(Request* probe);

    Upstream& upstream_;
    const Server* server_;
    std::uint32_t index_;  // the server's place in its pool, or kRetiredServer
    LiveServerMetrics* stats_;  // the worker's cells for the server (set again by rebind and retire)
    SocketAddress address_;
    bool resolved_ = false;
    int fd_ = -1;
    bool connecting_ = false;
    bool connected_ = false;  // the connect completed (server_connections counts it)
    bool connect_pending_ = false;  // a connect (or its deferred failure) is under way
    int connect_errno_ = 0;
    event* read_event_ = nullptr;
    event* write_event_ = nullptr;
    event* timer_ = nullptr;  // only with a pool `timeout`
    event* connect_failed_ = nullptr;  // reports a connect that failed at once, from the loop

    RequestQueue to_send_;            // not yet (fully) written
    std::size_t head_written_ = 0;    // bytes of to_send_.front() written
    RequestQueue in_flight_;          // written, awaiting their responses

    InputBuffer in_;
    abi::ParserState parser_state_{};
    bool parsing_ = false;  // a response has begun
    std::uint32_t handshake_replies_ = 0;  // handshake replies still to read
    std::uint32_t handshake_index_ = 0;    // the next handshake reply's number
};

}  // namespace cachemux
