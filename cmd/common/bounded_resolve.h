// A host name lookup that ends by a deadline, or when a context is
// cancelled, whatever the system resolver does; for the daemon's origin
// client and the CLI, which connect to one host at a time.
//
// Why a thread: getaddrinfo cannot be interrupted, and Asio's resolver
// only drops a cancelled lookup's answer after getaddrinfo returns (its
// io_context waits for it, up to the resolver's own timeout in
// resolv.conf, seconds). Here each lookup runs on a thread of its own; a
// caller that stops waiting leaves it behind, detached, to finish in the
// background, and its answer is dropped. An IP literal needs no lookup and
// no thread.
//
// Thread-safe.

#ifndef GROUPCACHE_CMD_COMMON_BOUNDED_RESOLVE_H_
#define GROUPCACHE_CMD_COMMON_BOUNDED_RESOLVE_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <string>
#include <vector>

#include "groupcache/context.h"

namespace groupcache::cmd {

struct Resolved {
  // asio::error::timed_out when the deadline passed first,
  // asio::error::operation_aborted when `ctx` was cancelled, else
  // getaddrinfo's own error.
  boost::system::error_code ec;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;  // when !ec
};

Resolved ResolveBy(const std::string& host, const std::string& port, Clock::time_point deadline,
                   const Context& ctx = Context::Background());

}  // namespace groupcache::cmd

#endif  // GROUPCACHE_CMD_COMMON_BOUNDED_RESOLVE_H_
