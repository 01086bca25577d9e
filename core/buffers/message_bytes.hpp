// The bytes of one message as a chain of spans over mbufs (or over static
// storage), so a message can be forwarded with one writev and no copy.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "buffers/mbuf.hpp"

namespace cachemux {

struct Segment {
    Mbuf* buf;  // holds a reference; nullptr for static bytes
    const char* data;
    std::uint32_t len;
};

class MessageBytes {
public:
    MessageBytes() = default;
    ~MessageBytes() { clear(); }
    MessageBytes(const MessageBytes&) = delete;
    MessageBytes& operator=(const MessageBytes&) = delete;

    // Appends bytes living in `buf` (retained); joins the last segment when adjacent.
    void append(Mbuf* buf, const char* data, std::size_t len);
    void append_static(std::string_view bytes);
    // Appends bytes [begin, end) of `other`, by reference.
    void append_range(const MessageBytes& other, std::uint64_t begin, std::uint64_t end);
    void append_all(const MessageBytes& other) { append_range(other, 0, other.size()); }
    // Drops every reference; keeps the capacity for the next message.
    void clear();
    void reserve(std::size_t segments) { segments_.reserve(segments); }

    std::uint64_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    const std::vector<Segment>& segments() const { return segments_; }
    // The message as text (copies: for tests, logs and once-per-connection replies).
    std::string to_string() const;

private:
    std::vector<Segment> segments_;
    std::uint64_t size_ = 0;
};

}  // namespace cachemux
