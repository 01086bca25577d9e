#include "buffers/input_buffer.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cachemux {

void InputBuffer::reset() {
    if (in_ != nullptr) {
        mbuf_release(in_);
        in_ = nullptr;
        parse_pos_ = nullptr;
    }
}

bool InputBuffer::make_room() {
    if (in_ != nullptr && in_->free_space() > 0) {
        return true;
    }
    Mbuf* fresh = pool_.get();
    if (in_ != nullptr) {
        std::size_t pending = unparsed_size();
        if (pending == in_->capacity()) {
            mbuf_release(fresh);
            return false;
        }
        std::memcpy(fresh->start, parse_pos_, pending);
        fresh->last += pending;
        mbuf_release(in_);
    }
    in_ = fresh;
    parse_pos_ = in_->start;
    return true;
}

InputBuffer::ReadResult InputBuffer::read_from(int fd) {
    if (!make_room()) {
        return ReadResult::TokenTooLong;
    }
    for (;;) {
        std::size_t space = in_->free_space();
        // recv(), not read(): the socket path skips the VFS layer
        // (bench/syscall_cost.cpp). Every fd read here is a socket.
        ssize_t n = ::recv(fd, in_->last, space, 0);
        if (n > 0) {
            in_->last += n;
            return static_cast<std::size_t>(n) < space ? ReadResult::DataDrained : ReadResult::Data;
        }
        if (n == 0) {
            return ReadResult::Eof;
        }
        if (errno == EINTR) {
            continue;
        }
        return errno == EAGAIN || errno == EWOULDBLOCK ? ReadResult::WouldBlock : ReadResult::Error;
    }
}

}  // namespace cachemux
