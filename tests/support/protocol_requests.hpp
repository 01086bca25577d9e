// The few requests and replies a test writes for either protocol, so that one
// piece of test code can drive a memcache pool and a redis pool alike.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "load.hpp"

namespace harness {

using load::Protocol;

std::string set_request(Protocol p, const std::string& key, const std::string& value);
std::string get_request(Protocol p, const std::string& key);
// Bytes of the first complete reply in `buf`, 0 if none is complete yet.
std::size_t reply_length(Protocol p, std::string_view buf);
// The reply of a SET that stored its value.
bool is_stored(Protocol p, const std::string& reply);
// An error reply: memcache SERVER_ERROR / CLIENT_ERROR / ERROR, redis '-'.
bool is_error(Protocol p, const std::string& reply);

}  // namespace harness
