// How a pool with copies (`replicas:`) sends a request: to every live copy
// of its key for a write, to one copy after another for a read.
//
// A request becomes a *unit* per key: a one-key request is its own unit; a
// multi-key one gets a unit per key, its fragments, whose replies the
// protocol merges as it merges a split request's (so each key fails over
// on its own, and the reply keeps the request's order). A unit sends
// *attempts*, one per copy asked, as its own fragments. What the protocol
// said of the command (abi::CopyRule) decides what is sent where and which
// attempt's reply becomes the unit's; copies whose reply disagrees with the
// one believed are sent an invalidation of the key.
//
// Liveness is the pool's ring: an ejected server is skipped, and its key's
// other copies answer; nothing is ever rehashed to another server of the
// same copy.
#pragma once

namespace cachemux {

class ClientConnection;
class Upstream;
struct Request;

namespace copy_route {

// Sends `request`, a Forward request of a pool with copies from `client`.
void send(Upstream& upstream, ClientConnection& client, Request* request);
// `attempt`, one of a unit's attempts, has its reply (or an error in its
// place): the unit asks the next copy, or takes its reply and is done.
void attempt_done(Upstream& upstream, Request* attempt);
// Every fragment of a multi-key read batched per server has answered: the
// keys that missed or failed ask their next copies, or the reply is merged.
void batch_done(Upstream& upstream, Request* request);

}  // namespace copy_route

}  // namespace cachemux
