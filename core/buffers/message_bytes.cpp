#include "buffers/message_bytes.hpp"

#include <string>

namespace cachemux {

void MessageBytes::append(Mbuf* buf, const char* data, std::size_t len) {
    if (len == 0) {
        return;
    }
    size_ += len;
    if (!segments_.empty()) {
        Segment& last = segments_.back();
        if (last.buf == buf && last.data + last.len == data) {
            last.len += static_cast<std::uint32_t>(len);
            return;
        }
    }
    if (buf != nullptr) {
        mbuf_retain(buf);
    }
    segments_.push_back({buf, data, static_cast<std::uint32_t>(len)});
}

void MessageBytes::append_static(std::string_view bytes) { append(nullptr, bytes.data(), bytes.size()); }

void MessageBytes::append_range(const MessageBytes& other, std::uint64_t begin, std::uint64_t end) {
    std::uint64_t pos = 0;
    for (const Segment& s : other.segments_) {
        std::uint64_t seg_end = pos + s.len;
        if (seg_end > begin && pos < end) {
            std::uint64_t from = begin > pos ? begin - pos : 0;
            std::uint64_t to = end < seg_end ? end - pos : s.len;
            append(s.buf, s.data + from, static_cast<std::size_t>(to - from));
        }
        pos = seg_end;
        if (pos >= end) {
            break;
        }
    }
}

void MessageBytes::clear() {
    for (const Segment& s : segments_) {
        if (s.buf != nullptr) {
            mbuf_release(s.buf);
        }
    }
    segments_.clear();
    size_ = 0;
}

std::string MessageBytes::to_string() const {
    std::string out;
    out.reserve(size_);
    for (const Segment& s : segments_) {
        out.append(s.data, s.len);
    }
    return out;
}

}  // namespace cachemux
