// OriginClient: blocking HTTP/1.1 GETs to one origin (scheme, host, port),
// for the http: loader. It keeps up to max_idle_connections keep-alive
// connections for reuse; Get may be called from many threads at once, each
// call using a connection of its own (the idle list is mutex-guarded; a
// connection in use belongs to the calling thread alone). Beast and OpenSSL
// stay behind this header.
//
// Every Get is bounded by min(now + timeout, the caller's deadline). A
// reused connection that the origin closed while it was idle is detected
// before use (it has something to read: EOF or an alert), or, if the close
// races the request, by an error before any byte of the response: the GET
// (idempotent) is then sent once more, on a new connection. A response cut
// short is never retried.
//
// Example:
//   auto client = OriginClient::Create(*tmpl, {.timeout = 2s}, &stats);
//   if (!client.ok()) return client.status();
//   Result<OriginResponse> r = (*client)->Get(ctx, "/images/a.png");

#ifndef GROUPCACHE_CMD_GROUPCACHED_ORIGIN_CLIENT_H_
#define GROUPCACHE_CMD_GROUPCACHED_ORIGIN_CLIENT_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "groupcache/context.h"
#include "groupcache/status.h"
#include "origin_rules.h"
#include "origin_stats.h"

namespace groupcache::daemon {

struct OriginClientOptions {
  // Bound of one Get (connection, TLS handshake, request and response).
  std::chrono::milliseconds timeout{10000};
  // Largest response body; a longer one is not read past this + 1 bytes.
  size_t max_body_bytes = size_t{64} << 20;
  // PEM CAs the origin's certificate must chain to; empty: the system's.
  std::string ca_file;
  // Keep-alive connections kept for reuse, and how long one may stay idle
  // (servers close idle connections; Apache after 5 s, nginx after 75 s).
  size_t max_idle_connections = 8;
  std::chrono::milliseconds max_idle{30000};
};

// A response with a status; only the headers OriginExpiry wants.
struct OriginResponse {
  int status = 0;
  std::string body;
  std::string cache_control;
  std::string expires;
  std::string date;
  std::string age;
};

class OriginClient {
 public:
  // `origin` gives scheme, host, port and Host header. `stats` (may be
  // null) must outlive the client. Errors: InvalidArgument if ca_file
  // cannot be used (or the system CAs, for https), or an option is zero.
  static Result<std::unique_ptr<OriginClient>> Create(const OriginTemplate& origin,
                                                      const OriginClientOptions& options,
                                                      OriginStats* stats);
  ~OriginClient();
  OriginClient(const OriginClient&) = delete;
  OriginClient& operator=(const OriginClient&) = delete;

  // GET `target` (origin-form: "/path?query"). Any status is a response.
  // Errors: the context's DeadlineExceeded or Cancelled once it is done;
  // ResourceExhausted if the body is over max_body_bytes; Unavailable
  // naming the URL and what failed (resolve, connect, TLS handshake with
  // the verification failure, timeout, a response cut short or malformed).
  Result<OriginResponse> Get(const Context& ctx, const std::string& target);

  // Connections opened so far (tests: keep-alive reuse).
  int64_t connections_opened() const;

 private:
  class Impl;
  explicit OriginClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_ORIGIN_CLIENT_H_
