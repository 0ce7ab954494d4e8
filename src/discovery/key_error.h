// KeyError: the wording of an error about one discovery config key, shared
// by the providers that check their own keys (mDNS, NATS) so that every
// such message reads alike: `discovery config: key "<key>" <what>`.

#ifndef GROUPCACHE_SRC_DISCOVERY_KEY_ERROR_H_
#define GROUPCACHE_SRC_DISCOVERY_KEY_ERROR_H_

#include <string>
#include <string_view>

namespace groupcache::discovery::internal {

std::string KeyError(std::string_view key, std::string_view what);

}  // namespace groupcache::discovery::internal

#endif  // GROUPCACHE_SRC_DISCOVERY_KEY_ERROR_H_
