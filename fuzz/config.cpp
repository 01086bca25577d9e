// libFuzzer target: the config loader (parse_config) on any bytes, with a
// resolver that never touches the network (see harness/config.hpp).
#include "harness/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    cachemux::fuzz::fuzz_config(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
