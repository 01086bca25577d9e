// The mbuf a connection reads into, and how far its parser has got in it.
//
// Parsed bytes stay where they are (messages hold references to them). When
// the buffer fills while the parser is inside a token, the unparsed tail moves
// to a fresh mbuf, so that every token a parser sees is contiguous; that tail
// is the only data the proxy ever copies.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "buffers/mbuf.hpp"

namespace cachemux {

class InputBuffer {
public:
    explicit InputBuffer(MbufPool& pool) : pool_(pool) {}
    ~InputBuffer() { reset(); }
    InputBuffer(const InputBuffer&) = delete;
    InputBuffer& operator=(const InputBuffer&) = delete;

    enum class ReadResult {
        Data,          // new bytes to parse, and the read filled the buffer: read again
        DataDrained,   // new bytes, and the read came up short: the socket is drained
                       // (saves the read that would only say EAGAIN; epoll tells of more)
        WouldBlock,    // the socket is drained
        Eof,           // the peer closed its side
        Error,         // errno says why
        TokenTooLong,  // one token fills a whole mbuf: the stream cannot go on
    };
    ReadResult read_from(int fd);

    Mbuf* mbuf() const { return in_; }
    const char* unparsed() const { return parse_pos_; }
    std::size_t unparsed_size() const { return static_cast<std::size_t>(in_->last - parse_pos_); }
    void consume(std::size_t n) { parse_pos_ += n; }
    // Lets go of the mbuf (connection closed).
    void reset();

private:
    bool make_room();

    MbufPool& pool_;
    Mbuf* in_ = nullptr;
    const char* parse_pos_ = nullptr;
};

}  // namespace cachemux
