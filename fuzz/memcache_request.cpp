// libFuzzer target: the memcache request parser, driven as the core drives it
// (see harness/stream.hpp for the input format and what is checked).
#include "cachemux/plugin_abi.hpp"
#include "harness/memcache.hpp"

namespace cachemux::memcache {
const abi::PluginDescriptor* plugin_descriptor();  // memcache_protocol.cpp, linked in
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const cachemux::abi::Protocol& protocol = *cachemux::memcache::plugin_descriptor()->protocols[0];
    cachemux::fuzz::memcache_profile::fuzz_requests(protocol, data, size);
    return 0;
}
