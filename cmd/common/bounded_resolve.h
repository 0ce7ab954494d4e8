// A host name lookup that ends by a deadline, or when a context is
// cancelled, whatever the system resolver does; for the daemon's origin
// client and the CLI, which connect to one host at a time.
//
// Why a thread: getaddrinfo cannot be interrupted, and Asio's resolver
// only drops a cancelled lookup's answer after getaddrinfo returns (its
// io_context waits for it, up to the resolver's own timeout in
// resolv.conf, seconds). Here a lookup runs on a thread of its own; a
// caller that stops waiting leaves it behind, detached, to finish in the
// background. Callers of one Resolver asking for the same host and port
// while a lookup of it is under way share that lookup (and its thread), so
// a DNS server that never answers costs one thread per host at a time, not
// one per caller. An IP literal needs no lookup and no thread.
//
// Thread-safe. A Resolver may be destroyed with lookups under way: they
// finish on their own and their answers are dropped.

#ifndef GROUPCACHE_CMD_COMMON_BOUNDED_RESOLVE_H_
#define GROUPCACHE_CMD_COMMON_BOUNDED_RESOLVE_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <map>
#include <memory>
#include <mutex>
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

class Resolver {
 public:
  Resolved Resolve(const std::string& host, const std::string& port, Clock::time_point deadline,
                   const Context& ctx = Context::Background());

 private:
  struct Lookup;
  // Runs the lookup on a detached thread of its own. Throws if no thread
  // (or no memory) can be had.
  static void StartLookup(const std::shared_ptr<Lookup>& lookup, const std::string& host,
                          const std::string& port);
  std::mutex mu_;
  // The latest lookup of each "host port", under way or done.
  std::map<std::string, std::shared_ptr<Lookup>> lookups_;  // GUARDED_BY(mu_)
};

// One lookup, on a Resolver of its own (the CLI's).
Resolved ResolveBy(const std::string& host, const std::string& port, Clock::time_point deadline,
                   const Context& ctx = Context::Background());

}  // namespace groupcache::cmd

#endif  // GROUPCACHE_CMD_COMMON_BOUNDED_RESOLVE_H_
