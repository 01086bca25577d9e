// The core's MessageWriter: where a protocol plugin writes fragments and
// replies. Values and response bytes are appended by reference. Short
// literals and short keys are copied into scratch space instead, where
// consecutive copies join into one segment: a fragment like
// "get k1 k2 k3 \r\n" becomes one contiguous piece, one iovec to write and
// a message of a few segments whatever its key count (so a Request's
// reserved capacity is enough, and the steady state allocates nothing).
#pragma once

#include <cstring>

#include "buffers/message_bytes.hpp"
#include "cachemux/protocol_abi.hpp"
#include "proxy/request.hpp"

namespace cachemux {

// A small bump allocator over mbufs for the few bytes the proxy renders itself.
class ScratchSpace {
public:
    explicit ScratchSpace(MbufPool& pool) : pool_(pool) {}
    ~ScratchSpace() {
        if (current_ != nullptr) {
            mbuf_release(current_);
        }
    }
    ScratchSpace(const ScratchSpace&) = delete;
    ScratchSpace& operator=(const ScratchSpace&) = delete;

    void append_copy(MessageBytes& out, std::string_view bytes) {
        while (!bytes.empty()) {
            if (current_ == nullptr || current_->free_space() == 0) {
                if (current_ != nullptr) {
                    mbuf_release(current_);
                }
                current_ = pool_.get();
            }
            std::size_t n = std::min(bytes.size(), current_->free_space());
            std::memcpy(current_->last, bytes.data(), n);
            out.append(current_, current_->last, n);
            current_->last += n;
            bytes.remove_prefix(n);
        }
    }

private:
    MbufPool& pool_;
    Mbuf* current_ = nullptr;
};

class MessageBytesWriter final : public abi::MessageWriter {
public:
    // `source` is the request whose keys and fragment replies may be referenced.
    MessageBytesWriter(MessageBytes& out, ScratchSpace& scratch, const Request* source)
        : out_(out), scratch_(scratch), source_(source) {}

    void literal(std::string_view bytes) override {
        if (bytes.size() <= kCopyBelow) {
            scratch_.append_copy(out_, bytes);
        } else {
            out_.append_static(bytes);
        }
    }
    void copy(std::string_view bytes) override { scratch_.append_copy(out_, bytes); }
    void key(std::uint32_t index) override {
        const abi::KeyRef& k = source_->keys[index];
        if (k.len <= kCopyBelow) {
            scratch_.append_copy(out_, k.view());
        } else {
            out_.append(source_->key_bufs[index], k.data, k.len);
        }
    }
    void key_payload(std::uint32_t index) override {
        if (index < source_->key_payloads.size()) {
            const abi::KeyPayload& p = source_->key_payloads[index];
            out_.append_range(source_->bytes, p.begin, p.begin + p.size);
        }
    }
    void response(std::uint32_t fragment, std::uint64_t begin, std::uint64_t end) override {
        out_.append_range(source_->fragments[fragment]->reply, begin, end);
    }
    void request(std::uint64_t begin, std::uint64_t end) override { out_.append_range(source_->bytes, begin, end); }

private:
    // Copying this much costs less than a segment of its own (and its iovec).
    static constexpr std::size_t kCopyBelow = 128;

    MessageBytes& out_;
    ScratchSpace& scratch_;
    const Request* source_;
};

}  // namespace cachemux
