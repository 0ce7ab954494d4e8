// The HTTP client side of the peer protocol: a PeerClient per peer URL,
// with a keep-alive connection pool, on an I/O thread the ClientIo owns.

#ifndef GROUPCACHE_SRC_TRANSPORT_HTTP_CLIENT_H_
#define GROUPCACHE_SRC_TRANSPORT_HTTP_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "groupcache/http_pool.h"
#include "groupcache/peers.h"

namespace groupcache::internal {

// One I/O thread that runs every client request of a pool. Clients are
// blocking: the calling thread waits while the request runs here. A single
// thread keeps each connection's state single-threaded without strands;
// peer requests are short and few next to cache hits.
class ClientIo {
 public:
  explicit ClientIo(const HttpPoolOptions& options);
  ~ClientIo();
  ClientIo(const ClientIo&) = delete;
  ClientIo& operator=(const ClientIo&) = delete;

  // A client for `url` ("http://host:port" or "https://host:port").
  // Clients stay usable after the ClientIo is gone (they then fail with
  // Unavailable).
  std::shared_ptr<PeerClient> NewClient(const std::string& url);
  // NewClient as a function that holds the I/O side, not this object (a
  // picker that outlives its pool keeps it).
  std::function<std::shared_ptr<PeerClient>(const std::string&)> Factory() const;

  // OK, or the InvalidArgument that options.client_tls gave (https://
  // clients fail with it).
  Status tls_status() const;

  // Fails every request in flight with Unavailable (their callbacks run),
  // refuses new ones, and joins the thread. Idempotent.
  void Stop();

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_HTTP_CLIENT_H_
