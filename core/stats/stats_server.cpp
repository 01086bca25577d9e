#include "stats/stats_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string_view>

#include "proxy/socket.hpp"

namespace cachemux {

namespace {

// How long a new connection may take to show an HTTP request before it is
// taken for a plain reader and sent the JSON. HTTP clients send their
// request right behind the handshake, so this is generous.
constexpr int kFirstBytesWaitMs = 100;
// How long the rest of an HTTP request may take.
constexpr int kRequestWaitMs = 2000;
constexpr std::size_t kMaxRequestBytes = 8192;

bool is_prefix_of(std::string_view text, std::string_view word) {
    return text.size() <= word.size() ? word.substr(0, text.size()) == text : text.substr(0, word.size()) == word;
}

std::string http_response(std::string_view status, std::string_view content_type, const std::string& body,
                          bool head) {
    std::string out = "HTTP/1.1 ";
    out += status;
    out += "\r\nContent-Type: ";
    out += content_type;
    out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head) {
        out += body;
    }
    return out;
}

}  // namespace

// One connection to the stats port: waits briefly to see whether it is an
// HTTP request, writes its answer, closes, and deletes itself.
class StatsServer::Session {
public:
    Session(StatsServer& server, int fd) : server_(server), fd_(fd) {
        server_.sessions_.insert(this);
        event_ = event_new(server_.base_, fd_, EV_READ | EV_PERSIST, &Session::on_event, this);
        arm(kFirstBytesWaitMs);
    }
    ~Session() {
        server_.sessions_.erase(this);
        event_free(event_);
        ::close(fd_);
    }

private:
    static void on_event(evutil_socket_t, short events, void* arg) {
        auto* self = static_cast<Session*>(arg);
        if (self->writing_) {
            self->write_some();
        } else if (events & EV_TIMEOUT) {
            self->answer();
        } else {
            self->read_some();
        }
    }

    void arm(int wait_ms) {
        timeval tv{wait_ms / 1000, (wait_ms % 1000) * 1000};
        event_add(event_, &tv);
    }

    void read_some() {
        char buf[2048];
        ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        if (n <= 0) {
            answer();  // the reader half-closed (or failed): the JSON, as nutcracker sends it
            return;
        }
        request_.append(buf, static_cast<std::size_t>(n));
        bool http = is_prefix_of(request_, "GET ") || is_prefix_of(request_, "HEAD ");
        if (!http || request_.find("\r\n\r\n") != std::string::npos ||
            request_.find("\n\n") != std::string::npos || request_.size() > kMaxRequestBytes) {
            answer();
        } else if (request_.size() == static_cast<std::size_t>(n)) {
            arm(kRequestWaitMs);  // an HTTP request has begun: wait for the rest of it
        }
    }

    // What was read decides: an HTTP GET gets an HTTP answer, anything else
    // (nothing at all, as nutcracker's readers send) the bare JSON.
    void answer() {
        bool head = request_.starts_with("HEAD ");
        if (!head && !request_.starts_with("GET ")) {
            out_ = render_json(server_.current());
        } else {
            std::string_view line(request_);
            line = line.substr(line.find(' ') + 1);
            std::string_view path = line.substr(0, line.find_first_of(" \r\n"));
            path = path.substr(0, path.find('?'));
            if (path == "/metrics") {
                out_ = http_response("200 OK", "text/plain; version=0.0.4; charset=utf-8",
                                     render_prometheus(server_.current()), head);
            } else if (path == "/" || path == "/stats") {
                out_ = http_response("200 OK", "application/json", render_json(server_.current()), head);
            } else {
                out_ = http_response("404 Not Found", "text/plain; charset=utf-8",
                                     "not found: try /metrics (Prometheus) or / (nutcracker's JSON)\n", head);
            }
        }
        writing_ = true;
        event_del(event_);
        event_assign(event_, server_.base_, fd_, EV_WRITE | EV_PERSIST, &Session::on_event, this);
        write_some();
    }

    void write_some() {
        while (written_ < out_.size()) {
            ssize_t n = ::send(fd_, out_.data() + written_, out_.size() - written_, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0 && errno == EAGAIN) {
                arm(kRequestWaitMs);  // a reader that stops reading is dropped after this
                return;
            }
            if (n <= 0) {
                break;
            }
            written_ += static_cast<std::size_t>(n);
        }
        delete this;
    }

    StatsServer& server_;
    int fd_;
    event* event_;
    std::string request_;
    std::string out_;
    std::size_t written_ = 0;
    bool writing_ = false;
};

StatsServer::StatsServer(event_base* base, std::string address, int port, Collect collect)
    : base_(base), address_(std::move(address)), port_(port), collect_(std::move(collect)) {}

StatsServer::~StatsServer() {
    while (!sessions_.empty()) {
        delete *sessions_.begin();
    }
    if (accept_event_ != nullptr) {
        event_free(accept_event_);
    }
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
    }
}

void StatsServer::listen() {
    Endpoint endpoint;
    endpoint.host = address_;
    endpoint.port = port_;
    try {
        listen_fd_ = listen_on(endpoint, 512, 0);
    } catch (const std::exception& e) {
        throw std::runtime_error("stats port " + address_ + ":" + std::to_string(port_) + ": " + e.what());
    }
    accept_event_ = event_new(base_, listen_fd_, EV_READ | EV_PERSIST, &StatsServer::on_accept, this);
    event_add(accept_event_, nullptr);
}

void StatsServer::set_identity(std::string source, std::string version, std::int64_t started_at) {
    snapshot_.source = std::move(source);
    snapshot_.version = std::move(version);
    snapshot_.started_at = started_at;
}

const StatsSnapshot& StatsServer::current() {
    collect_(snapshot_);
    snapshot_.taken_at = std::time(nullptr);
    return snapshot_;
}

void StatsServer::on_accept(evutil_socket_t fd, short, void* arg) {
    auto* self = static_cast<StatsServer*>(arg);
    for (int accepted = 0; accepted < 16; ++accepted) {
        int client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
            return;
        }
        new Session(*self, client);
    }
}

}  // namespace cachemux
