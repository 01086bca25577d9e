// A protocol plugin of the build (build/plugins/<name>.so), loaded once per
// test binary through the core's registry, as the proxy loads it.
#pragma once

#include <doctest/doctest.h>

#include <string_view>

#include "registry/plugin_registry.hpp"

namespace cachemux::test {

inline const abi::Protocol& bundled_protocol(std::string_view name) {
    static PluginRegistry registry(CACHEMUX_PLUGIN_BUILD_DIR);
    const abi::Protocol* p = registry.protocol(name);
    REQUIRE(p != nullptr);
    return *p;
}

}  // namespace cachemux::test
