// Gathers the segments of several messages into one writev, skipping the
// bytes an earlier, short writev already sent.
#pragma once

#include <sys/uio.h>

#include <cstddef>

#include "message_bytes.hpp"

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

private:
    static constexpr int kMax = 128;  // well under IOV_MAX
    iovec iov_[kMax];
    int count_ = 0;
    std::size_t skip_;
};

}  // namespace cachemux
