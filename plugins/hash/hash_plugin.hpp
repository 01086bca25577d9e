// One-hash plugin helper: a hash plugin source is the hash function plus one
// CACHEMUX_HASH_PLUGIN("name", fn) line, which exports a descriptor with
// exactly that one HashFunction.
//
// All hash functions reproduce nutcracker 0.5.0 as built for x86-64 Debian,
// quirks included. Where nutcracker reads the key through a plain `char`
// (signed on x86-64) and widens it, bytes >= 0x80 are sign-extended; the
// helpers below make that explicit so the result does not depend on the
// signedness of `char` on the machine that builds cachemux.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cachemux/plugin_abi.hpp"

namespace cachemux::hash {

// A key byte as nutcracker's `(uint32_t)key[i]` sees it on x86-64.
inline std::uint32_t sext32(char c) noexcept {
    return static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(c)));
}
// A key byte as nutcracker's `(uint64_t)key[i]` sees it on x86-64.
inline std::uint64_t sext64(char c) noexcept {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<signed char>(c)));
}
// A key byte read as unsigned.
inline std::uint32_t ubyte(char c) noexcept { return static_cast<unsigned char>(c); }

}  // namespace cachemux::hash

#define CACHEMUX_HASH_PLUGIN(NAME, FN)                                                  \
    namespace {                                                                         \
    constexpr ::cachemux::abi::HashFunction cachemux_hash_list[] = {{NAME, &FN}};       \
    constexpr ::cachemux::abi::PluginDescriptor cachemux_hash_descriptor{               \
        ::cachemux::abi::kAbiVersion, "nutcracker-compatible hash " NAME,               \
        cachemux_hash_list, {}, {}};                                                    \
    const ::cachemux::abi::PluginDescriptor* cachemux_hash_entry() {                    \
        return &cachemux_hash_descriptor;                                               \
    }                                                                                   \
    }                                                                                   \
    CACHEMUX_PLUGIN(cachemux_hash_entry)
