// The provider state machine of provider.h, shared by the providers so that
// they accept the same calls in the same states and word their
// FailedPrecondition errors alike. Internal: not installed.

#ifndef GROUPCACHE_SRC_DISCOVERY_LIFECYCLE_H_
#define GROUPCACHE_SRC_DISCOVERY_LIFECYCLE_H_

#include <string_view>

#include "groupcache/status.h"

namespace groupcache::discovery::internal {

enum class State { kNew, kConfigured, kInitialized, kRegistered, kClosed };

// "new", "configured", "initialized", "registered", "closed".
std::string_view StateName(State state);

// The provider calls whose validity depends on the state.
enum class Call { kSetConfig, kInitialize, kRegister, kDeregister, kDiscoverNodes, kWatch };

// OK if `call` is valid in `state` (see provider.h), else FailedPrecondition
// such as "nats discovery: Register is not valid when configured (call
// Initialize first)". Deregister is valid in every state but new and
// configured; the caller treats initialized and closed as "nothing to do".
Status CheckCall(std::string_view provider_id, Call call, State state);

}  // namespace groupcache::discovery::internal

#endif  // GROUPCACHE_SRC_DISCOVERY_LIFECYCLE_H_
