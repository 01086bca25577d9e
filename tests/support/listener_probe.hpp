// Probes of a proxy's listening port from the outside: does a new client get
// served there, and how soon does a port stop accepting.
#pragma once

#include <string>

#include "harness.hpp"
#include "protocol_requests.hpp"

namespace harness {

// A set and a get of a fresh key on a new connection; "" if both replies
// fit, else what happened.
std::string serves(Protocol p, int port, const std::string& key);

// Waits (bounded) until nothing accepts on the port; the ms it took, or -1.
long long wait_refused(int port, Millis bound);

}  // namespace harness
