// Gathers the segments of several messages into one write, skipping the
// bytes an earlier, short write already sent.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>

#include "buffers/message_bytes.hpp"

namespace cachemux {

class IovecBatch {
public:
    explicit IovecBatch(std::size_t already_written) : skip_(already_written) {}

    // Adds what fits of `bytes`; false once the batch is full.
    bool add(const MessageBytes& bytes) {
        for (const Segment& s : bytes.segments()) {
            if (count_ == kMax) {
                return false;
            }
            if (skip_ >= s.len) {
                skip_ -= s.len;
                continue;
            }
            iov_[count_++] = {const_cast<char*>(s.data + skip_), s.len - skip_};
            skip_ = 0;
        }
        return count_ < kMax;
    }

    const iovec* data() const { return iov_; }
    int size() const { return count_; }

    // One system call for the whole batch, through the socket calls rather
    // than write()/writev(): they skip the VFS layer, and a loopback write +
    // read round costs about 5% less CPU (bench/syscall_cost.cpp). A single
    // segment (most replies of unpipelined clients) needs no msghdr.
    // MSG_NOSIGNAL: a closed peer is an error, not SIGPIPE.
    ssize_t write_to(int fd) const {
        if (count_ == 1) {
            return ::send(fd, iov_[0].iov_base, iov_[0].iov_len, MSG_NOSIGNAL);
        }
        msghdr message{};
        message.msg_iov = const_cast<iovec*>(iov_);
        message.msg_iovlen = static_cast<std::size_t>(count_);
        return ::sendmsg(fd, &message, MSG_NOSIGNAL);
    }

private:
    static constexpr int kMax = 128;  // well under IOV_MAX
    iovec iov_[kMax];
    int count_ = 0;
    std::size_t skip_;
};

}  // namespace cachemux
