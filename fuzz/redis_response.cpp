// libFuzzer target: the redis response parser, driven as the core drives it
// (see harness/stream.hpp for the input format and what is checked).
#include "cachemux/plugin_abi.hpp"
#include "harness/redis.hpp"

namespace cachemux::redis {
const abi::PluginDescriptor* plugin_descriptor();  // redis_protocol.cpp, linked in
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const cachemux::abi::Protocol& protocol = *cachemux::redis::plugin_descriptor()->protocols[0];
    cachemux::fuzz::redis_profile::fuzz_responses(protocol, data, size);
    return 0;
}
