// One client request on its way through the proxy, and the free list that
// recycles them so the steady state allocates nothing per request.
#pragma once

#include <cstdint>
#include <vector>

#include "buffers/message_bytes.hpp"
#include "cachemux/protocol_abi.hpp"

namespace cachemux {

class ClientConnection;

struct Request {
    // --- set by the client connection
    ClientConnection* client = nullptr;  // nullptr once the client is gone
    Request* parent = nullptr;           // a fragment's whole request
    abi::RequestInfo info;
    MessageBytes bytes;               // what a server is sent
    std::vector<abi::KeyRef> keys;    // into `bytes`' mbufs (whole requests only)
    std::vector<Mbuf*> key_bufs;      // the mbuf each key lies in (referenced by `bytes`)
    // Bytes of `bytes` that travel with each key when split (MSET's values);
    // empty unless the protocol reports payloads, else parallel to `keys`.
    std::vector<abi::KeyPayload> key_payloads;
    // Who sent it: a client, or the proxy itself (nobody waits for the reply).
    enum class Origin : std::uint8_t {
        Client,
        Handshake,  // a server connection's greeting (redis AUTH, SELECT)
        Probe,      // flush_on_rejoin's flush of a rejoining server
        Repair,     // a pool with copies invalidating a key on a copy (copy_route.cpp)
    } origin = Origin::Client;
    std::int64_t sent_at_ms = 0;  // when it was written to its server (steady clock)

    // --- the reply
    MessageBytes reply;  // to the client, or a fragment's response
    abi::ResponseInfo reply_info;
    std::vector<abi::Record> records;  // a fragment response's value records
    bool done = false;                 // `reply` is complete

    // --- fragments of a multi-key or broadcast request
    std::vector<Request*> fragments;
    std::vector<std::uint32_t> fragment_of_key;
    std::uint32_t fragments_pending = 0;

    // --- a pool with copies (copy_route.cpp). A unit (a whole request, or
    // one key's part of a multi-key one) sends attempts, one per copy it
    // asks; they are its fragments, in the order they were sent.
    bool copy_unit = false;        // its fragments are attempts, not parts by server
    bool awaiting_copies = false;  // a noreply unit, held until its copies answered
    std::uint8_t copy = 0;         // an attempt: the copy it went to
    std::uint8_t copies_asked = 0; // a read unit: how many copies, in read order, it tried
    std::uint32_t key_hash = 0;    // a unit: its key's placement hash
    // A multi-key read batched per server (copy_route.cpp, "rounds"): per
    // key, the first round's fragment and its record there (kNoRecord for
    // none); fragment_of_key then says who answers each key in the end.
    bool copy_batch = false;
    std::vector<std::uint32_t> key_source;
    std::vector<std::uint32_t> key_record;

    // --- ownership: released when neither a client nor a server queue holds it
    bool in_client_queue = false;
    bool in_server_queue = false;
    Request* next_in_client = nullptr;  // the client's reply order
    Request* next_in_server = nullptr;  // a server connection's queue (RequestQueue)
    std::uint32_t pool_slot = 0;        // index in RequestPool's list (kept by reset())

    // Room for a typical request (a few keys, a few segments), made once per
    // Request object: reset() keeps capacity, so the steady state allocates
    // nothing however the pool's objects are reused.
    void reserve_typical();
    void reset();
    abi::RequestView view() const { return {info, keys, key_payloads, bytes.size()}; }
};

class RequestPool {
public:
    RequestPool() = default;
    ~RequestPool();
    RequestPool(const RequestPool&) = delete;
    RequestPool& operator=(const RequestPool&) = delete;

    Request* get();
    // Returns `r` (and its fragments) once nothing holds it any more.
    void release_if_unowned(Request* r);
    std::size_t allocated() const { return all_.size(); }
    // Frees spare requests beyond trim_target() (free_list_trim.hpp);
    // returns how many.
    std::size_t trim();

private:
    void release_tree(Request* r);

    std::vector<Request*> free_;
    std::vector<Request*> all_;
    std::size_t peak_in_use_ = 0;  // since the last trim()
};

}  // namespace cachemux
