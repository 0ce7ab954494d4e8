// SplitHostPort: the host[:port] part of an address. The static provider's
// node addresses and the NATS provider's server URLs both use it, so both
// take IPv6 literals in brackets and refuse the same mistakes in the same
// words.

#ifndef GROUPCACHE_SRC_DISCOVERY_HOST_PORT_H_
#define GROUPCACHE_SRC_DISCOVERY_HOST_PORT_H_

#include <string>
#include <string_view>

#include "groupcache/status.h"

namespace groupcache::discovery::internal {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 literal
  int port = 0;      // 0: no port given (only when none was required)
};

// Splits "host:port" or "[v6]:port"; with port_required false also "host"
// and "[v6]". On error an InvalidArgument whose message is only what is
// wrong ("no port", "unclosed '['", "port is not a number in 1..65535",
// ...), for the caller to put in its own context.
Result<HostPort> SplitHostPort(std::string_view text, bool port_required);

}  // namespace groupcache::discovery::internal

#endif  // GROUPCACHE_SRC_DISCOVERY_HOST_PORT_H_
