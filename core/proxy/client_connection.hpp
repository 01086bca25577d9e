// A client of one pool: reads and parses its requests, routes them, and
// writes the replies back in the order the requests came.
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <string>

#include "buffers/input_buffer.hpp"
#include "cachemux/protocol_abi.hpp"
#include "proxy/flush_queue.hpp"
#include "proxy/request.hpp"

namespace cachemux {

class Upstream;

class ClientConnection final : public Flushable, public abi::ClientSession {
public:
    // What one client may make the proxy hold for it. Reading from a client
    // pauses while it is owed this many replies (requests read and not yet
    // answered in full), and resumes at half; so a pipelining client keeps
    // at most this many requests and their replies in memory.
    static constexpr std::uint32_t kMaxOwedReplies = 1024;
    // Reading also pauses while the client's socket takes no more replies;
    // a client that then takes no byte for this long is closed (it is not
    // reading its replies; nutcracker would hold them forever).
    static constexpr timeval kStalledWriteTimeout{10, 0};

    ClientConnection(Upstream& upstream, int fd);
    ClientConnection(const ClientConnection&) = delete;
    ClientConnection& operator=(const ClientConnection&) = delete;

    // A request of this client has its reply (or a fragment finished).
    void reply_ready();
    // Answers `request` at once with the protocol's error for a request no
    // server can take, saying `detail`.
    void refuse(Request* request, const char* detail);
    // Closes the socket and lets go of every request; deletes itself later.
    void close();
    // Its pool left the configuration: reads what the socket holds already
    // (answered with an error), then no more, and closes once every reply
    // it is owed is written.
    void drain();
    // Writes the replies that are ready (end of the loop turn).
    void flush() override { write_replies(); }

    // abi::ClientSession: what local replies (CLIENT, HELLO, INFO) see of the client.
    std::uint64_t id() const override { return id_; }
    std::string_view name() const override { return name_; }
    void set_name(std::string_view name) override { name_.assign(name); }
    abi::SessionState& state() override { return session_; }
    std::string_view peer_address() override;
    std::string_view local_address() override;
    int fd() const override { return fd_; }
    std::int64_t connected_at() const override { return connected_at_; }

private:
    ~ClientConnection();
    static void on_read(evutil_socket_t fd, short events, void* arg);
    static void on_write(evutil_socket_t fd, short events, void* arg);
    static void on_destroy(evutil_socket_t fd, short events, void* arg);

    void read_requests();
    void parse_requests();
    void dispatch(Request* request);
    void forward(Request* request);
    void fragment(Request* request);
    void broadcast(Request* request);
    void queue_reply(Request* request);
    void write_replies();
    void close_if_done();
    // Backpressure: stop and start taking requests from the socket.
    void pause_reading();
    void resume_reading();

    Upstream& upstream_;
    int fd_;
    event* read_event_ = nullptr;
    event* write_event_ = nullptr;
    bool closed_ = false;
    bool writing_ = false;
    bool eof_ = false;  // no more requests (EOF or quit): close once every reply is written
    bool paused_ = false;  // not reading: too many replies owed, or the socket is full

    InputBuffer in_;
    Request* parsing_ = nullptr;      // the request being parsed
    abi::ParserState parser_state_{};
    abi::SessionState session_{};

    // Asked of rarely (CLIENT INFO, CLIENT SETNAME), so kept apart from the
    // request path; the addresses are looked up on first use.
    std::uint64_t id_;
    std::int64_t connected_at_;
    std::string name_;
    std::string peer_address_;
    std::string local_address_;

    // Replies owed, in request order; written from the head.
    Request* head_ = nullptr;
    Request* tail_ = nullptr;
    std::size_t head_written_ = 0;  // bytes of head's reply already written
    std::uint32_t owed_ = 0;        // requests from head_ to tail_
};

}  // namespace cachemux
