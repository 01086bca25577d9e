// The cachemux plugin ABI: the one header a plugin is written against.
//
// A plugin is a shared object that exports one function under the alias
// `cachemux_plugin` (see CACHEMUX_PLUGIN below). The function returns a
// descriptor that names what the object provides: hash functions, key
// distributions and protocols. The registry checks `abi_version` before it
// reads anything else, so a field may only ever be added at the end of
// `PluginDescriptor`, and any change to a type below bumps kAbiVersion.
//
// Plugins never own sockets, timers or the event loop, and nothing a plugin
// makes may outlive its shared object (the registry keeps every loaded object
// open for the life of the process).
//
// Threads (cachemux --workers N runs N event loops, one per thread):
//   - a HashFn, Continuum::server_for() and live_servers(), and every const
//     member of a Protocol are called from several threads at once, on the
//     same objects. They must be pure or touch only what their arguments
//     give them: no mutable global or static state, no lazy caches. (A
//     distribution that needs randomness keeps it thread_local, as the
//     bundled "random" does.)
//   - a Continuum is built once per ring change, on whichever thread made
//     the change, and then only read, by every worker, until its last user
//     lets it go (on any thread): it must not change after build().
//   - ParserState, SessionState and everything a call's arguments point to
//     belong to one connection, and so to one thread, for that call.
// This is the contract since ABI 1; the threads made it load-bearing, not
// different, so kAbiVersion did not change for them.
//
// What crosses the boundary, and the rule for the standard types that do:
//   - plain data (integers, enums, PODs of this header), raw pointers with
//     lengths, and abstract classes whose objects the plugin owns;
//   - std::string_view and std::span: non-owning views, a pointer and a size,
//     whose layout libstdc++ keeps stable; the viewed bytes belong to the
//     side that passes them and are valid only during the call, unless this
//     header says otherwise (names and descriptors: for the plugin's life);
//   - std::unique_ptr<Continuum>, returned by Distribution::build(): a single
//     pointer with the default deleter; the object is destroyed through its
//     virtual destructor, so the plugin's own code frees what it allocated.
// Nothing else from the standard library crosses (no std::string, no
// container, no std::function), and no exception does but std::bad_alloc,
// which may pass through either side when memory runs out. So a plugin must
// be built with g++ >= 12 and libstdc++ in C++20 mode (the SDK's
// cachemux::plugin target asks for C++20), and it may use any standard
// library type inside itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include <boost/dll/alias.hpp>

#include "cachemux/protocol_abi.hpp"

namespace cachemux::abi {

// 3: Protocol::write_flush; 4: ClientSession, read_handshake_reply; 5: CopyRule,
// the noreply span, ResponseInfo::is_miss, Protocol::write_invalidate,
// write_backfill, write_followup, MessageWriter::request, RequestInfo::marks (replicas:)
inline constexpr std::uint32_t kAbiVersion = 5;

// ---------------------------------------------------------------- hash

// A hash function maps a key to 32 bits. It is pure: no state, no allocation.
using HashFn = std::uint32_t (*)(const char* key, std::size_t len) noexcept;

struct HashFunction {
    std::string_view name;  // the name a pool's `hash:` selects, e.g. "fnv1a_64"
    HashFn hash;
};

// ---------------------------------------------------------------- distribution

// One server of a pool, as a distribution sees it.
struct ServerSpec {
    // The string the distribution places on its ring: the node name when the
    // server line carries one, else "host:port" ("host" alone when the port is
    // 11211, as libmemcached and nutcracker do).
    std::string_view name;
    std::uint32_t weight;
    bool live;  // ejected servers get no share of the keys
};

// An immutable key -> server map built from one list of servers. It can be
// built beside the live one and swapped in; it never changes after build.
class Continuum {
public:
    virtual ~Continuum() = default;
    // Index into the ServerSpec list the continuum was built from.
    // Only called when live_servers() > 0.
    virtual std::uint32_t server_for(std::uint32_t hash) const noexcept = 0;
    virtual std::uint32_t live_servers() const noexcept = 0;
};

class Distribution {
public:
    virtual ~Distribution() = default;
    virtual std::string_view name() const noexcept = 0;  // e.g. "ketama"
    virtual std::unique_ptr<Continuum> build(std::span<const ServerSpec> servers) const = 0;
};

// ---------------------------------------------------------------- descriptor

struct PluginDescriptor {
    std::uint32_t abi_version;  // must stay the first member, forever
    std::string_view description;
    std::span<const HashFunction> hashes;
    std::span<const Distribution* const> distributions;
    std::span<const Protocol* const> protocols;
};

using PluginEntryFn = const PluginDescriptor* (*)();

inline constexpr const char* kEntrySymbol = "cachemux_plugin";

}  // namespace cachemux::abi

// Exports `fn` (a `const PluginDescriptor* fn()`) under the fixed alias.
#define CACHEMUX_PLUGIN(fn) BOOST_DLL_ALIAS(fn, cachemux_plugin)
