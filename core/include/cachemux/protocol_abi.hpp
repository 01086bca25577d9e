// The protocol part of the plugin ABI (see plugin_abi.hpp).
#pragma once

namespace cachemux::abi {

class Protocol;

}  // namespace cachemux::abi
