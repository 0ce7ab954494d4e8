// The HTTP client side of the peer protocol: a PeerClient per peer URL,
// with a keep-alive connection pool, on an I/O thread the ClientIo owns.

#ifndef GROUPCACHE_SRC_TRANSPORT_HTTP_CLIENT_H_
#define GROUPCACHE_SRC_TRANSPORT_HTTP_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "groupcache/http_pool.h"
#include "groupcache/peers.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace groupcache::internal {

// The one thread that runs every client request of a pool: an I/O thread
// of its own, or the server's single I/O thread. Clients are blocking: the
// calling thread waits while the request runs there. A single thread keeps
// each connection's state single-threaded without strands.
class ClientIo {
 public:
  // With an I/O thread of its own.
  explicit ClientIo(const HttpPoolOptions& options);
  // On `io`, which one thread (and only one) runs: a server with one I/O
  // thread. A peer fetch for a request on that thread then starts, runs
  // and answers without waking another thread. The owner of `io` calls
  // Stop while `io` still runs and Release once it no longer does, before
  // destroying it. Blocking calls (PeerClient::Get, Set, Remove) must not
  // be made from that thread: they fail with Internal instead of
  // deadlocking.
  ClientIo(const HttpPoolOptions& options, boost::asio::io_context& io);
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

  // OK, or the InvalidArgument that the files options.client_tls names
  // gave (https:// clients fail with it). Without files, the system CA
  // store is loaded at the first https:// client, not here.
  Status tls_status() const;

  // Fails every request in flight with Unavailable (their callbacks run),
  // refuses new ones, and joins the thread. Idempotent. On a borrowed
  // io_context the failing happens when it next runs (if it does).
  void Stop();

  // A borrowed io_context has stopped for good (its thread is joined) and
  // is about to go: drops every client's idle connections and wait list,
  // which belong to it, so that clients that outlive it hold none. Call
  // after Stop. Nothing to do for an I/O thread of its own.
  void Release();

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_HTTP_CLIENT_H_
