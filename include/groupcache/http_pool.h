// HttpPool: the HTTP/1.1 peer transport. It is this process's PeerPicker
// (a ring of peer URLs, replaceable at run time) and it serves the peer
// protocol (GET, PUT, DELETE under the base path) to the other peers,
// byte-compatible with the Go nodes.
//
// Threads: `io_threads` run the server's connections (Asio, one coroutine
// per connection). With one I/O thread (the default) the clients' requests
// run on it too, so a request proxied to the key's owner crosses no
// thread; with more, the clients get one thread of their own. A hit is
// answered on the I/O thread. A GET that misses waits without holding a
// thread: for a key another peer owns (a client that asked the wrong node)
// the fetch runs on the client's I/O thread, and a getter, which must never
// run on an I/O thread, runs on a bounded pool of `worker_threads`. Either
// way the request joins the group's single-flight, so concurrent requests
// for one cold key cost one load and no extra threads. Client calls
// (PeerClient methods) block the calling thread until the answer, the
// caller's deadline, or its cancellation, whichever comes first; the
// server uses the non-blocking GetAsync. A blocking call made on the
// clients' I/O thread (from a GetAsync callback) fails with Internal.
//
// Wire compatibility: with RingAlgorithm::kMailgun (default) keys are
// escaped like Go's url.PathEscape (mailgun/Tochemey nodes); with kGolang
// like url.QueryEscape and the ring is CRC-32 (original golang/groupcache
// nodes); kBalanced escapes as kMailgun but places keys where no Go node
// would (hash_ring.h), for clusters of C++ nodes only. The server decodes
// %XX escapes only, as Go's does, so '+' stays '+'. Status codes: 200
// value, 400 malformed request or a key the getter refused
// (InvalidArgument), 404 unknown group or key not found, 405 other methods,
// 413 body too large, 414 key too long, 431 header (or a chunked body's
// framing) too large, 501 a Transfer-Encoding other than a final chunked
// (RFC 9112 6.3; the connection is closed), 503 getter failed or the server
// is overloaded (workers, body budget).
//
// TLS: with `server_tls.cert_file` set the server speaks only TLS (1.2 or
// later) and `self` is an https:// URL; optionally it requires client
// certificates (mutual TLS). Clients use TLS for https:// peer URLs, per
// `client_tls`, and plain HTTP for http:// ones. Certificates and keys are
// PEM files, read once when the pool starts (restart to rotate them).
//
// Thread-safe. Shutdown (or the destructor) stops accepting, lets requests
// in flight finish within the timeout, then ends what is left with errors:
// the contexts of the loads and API jobs it started are cancelled (a getter
// that honours its context ends then, and the request is answered 503),
// loads waiting for a worker and peer fetches in flight fail with
// Unavailable, so every caller and every single-flight waiter is released;
// then it joins every thread (a getter that ignores its context is waited
// for). The picker and the group's load
// runner may outlive the pool: they refuse work from then on.
//
// Example:
//   Registry registry;
//   auto pool = HttpPool::Start(&registry, "http://10.0.0.1:8080", "0.0.0.0:8080", {});
//   if (!pool.ok()) return pool.status();
//   (*pool)->SetPeers({"http://10.0.0.1:8080", "http://10.0.0.2:8080"});
//   registry.SetPeerPicker((*pool)->picker());
//
// With TLS, every node presenting a certificate from one private CA:
//   HttpPoolOptions options;
//   options.server_tls = {.cert_file = "node.pem", .key_file = "node.key"};
//   options.client_tls.ca_file = "ca.pem";
//   auto pool = HttpPool::Start(&registry, "https://10.0.0.1:8443", "0.0.0.0:8443", options);

#ifndef GROUPCACHE_HTTP_POOL_H_
#define GROUPCACHE_HTTP_POOL_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "groupcache/hash_ring.h"
#include "groupcache/logger.h"
#include "groupcache/peers.h"
#include "groupcache/registry.h"
#include "groupcache/status.h"

namespace groupcache {

// The server side of TLS. Files are PEM; keys must be unencrypted.
struct ServerTlsOptions {
  // The certificate chain this server presents (leaf first). Setting it
  // turns TLS on: the server then refuses plain HTTP.
  std::string cert_file;
  // The private key of cert_file's leaf; required with it.
  std::string key_file;
  // CAs that client certificates must chain to. Without
  // require_client_cert, a client certificate is checked if one is sent.
  std::string client_ca_file;
  // Mutual TLS: refuse clients without a valid certificate. Needs
  // client_ca_file.
  bool require_client_cert = false;

  bool enabled() const { return !cert_file.empty(); }
};

// The client side of TLS, for https:// peer URLs. Files are PEM; keys must
// be unencrypted.
struct ClientTlsOptions {
  // CAs the servers' certificates must chain to. Empty: the system's
  // default CA store.
  std::string ca_file;
  // Presented to servers that ask for a client certificate (mutual TLS);
  // both or neither.
  std::string cert_file;
  std::string key_file;
  // Check the server's chain and that it is issued for the URL's host (a
  // DNS name, or an IP address SAN for an IP). Turn off only in tests: the
  // connection is then encrypted but not authenticated.
  bool verify_peer = true;
};

struct HttpPoolOptions {
  // Where the peer protocol lives; must start and end with '/'.
  std::string base_path = "/_groupcache/";
  // The ring: algorithm (and with it the key escaping), replicas, hash.
  RingOptions ring;

  int io_threads = 1;
  // Threads that run loads (getters) for peers, and how many such loads
  // may wait for one before the server answers 503. Requests waiting on a
  // load already running (single-flight) or on another peer take neither.
  int worker_threads = 4;
  int worker_queue_limit = 1024;

  // Limits. A request over one of them gets its status code and is not
  // processed further. README "Operating limits" lists them all.
  size_t max_key_bytes = size_t{64} << 10;   // 414
  size_t max_body_bytes = size_t{64} << 20;  // 413 (server), error (client)
  // Room for a maximal key, escaped (up to 3 bytes per byte), in the
  // request line.
  size_t max_header_bytes = size_t{256} << 10;  // 431
  // Bytes of request bodies being read at once, over all connections (a
  // body is counted by its Content-Length from its header on until its
  // request is answered). A request that would go over it gets 503 and its
  // connection is closed; at least one body always fits.
  size_t max_body_bytes_in_flight = size_t{256} << 20;
  // Open server connections. At the limit a new connection takes the place
  // of the longest-idle keep-alive connection; only when none is idle is
  // the new one closed.
  int max_connections = 1024;
  // A keep-alive connection waiting for its next request is closed after
  // idle_timeout; once a request's first byte has come, its header must be
  // complete within header_timeout, and its body read and its response
  // written within request_timeout each.
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds header_timeout{5000};
  std::chrono::milliseconds request_timeout{10000};  // also the client default

  // The client side, per peer: at most client_pool_size idle keep-alive
  // connections are kept, none longer than client_idle_timeout (keep it
  // below the peers' idle_timeout, so that the client drops a connection
  // before the server does); at most max_connections_per_peer are open at
  // once, further requests wait for one (up to their deadline).
  int client_pool_size = 64;
  std::chrono::milliseconds client_idle_timeout{30000};
  int max_connections_per_peer = 256;

  // TLS of the server (off unless server_tls.cert_file is set; the
  // handshake must complete within header_timeout) and of the clients
  // (used for https:// peers). See ServerTlsOptions and ClientTlsOptions.
  ServerTlsOptions server_tls;
  ClientTlsOptions client_tls;

  // Null: the registry's logger.
  std::shared_ptr<Logger> logger;
};

// A request for an extra endpoint (AddHandler).
struct HttpRequest {
  std::string method;
  // As sent (still percent-encoded), without the query: AddHandler's path
  // is matched against it exactly.
  std::string path;
  std::string query;  // raw, without '?'
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class HttpPool final {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Binds `listen` ("HOST:PORT"; port 0 picks a free one) and starts
  // serving. `registry` must outlive the pool. `self` is this process's
  // peer URL, as the other peers list it: https:// with server TLS,
  // http:// without. `before_serving`, if set, runs once the port is bound
  // (port() is known) and before the first request is read: handlers it
  // adds answer from the first request on (what connects meanwhile waits
  // in the kernel's backlog), so that a probe never finds the port open
  // and its path missing. Errors: InvalidArgument (bad option, bad
  // address, a TLS file that cannot be read or loaded, a key that does not
  // match its certificate: the message names the option and the file),
  // Unavailable (cannot bind).
  static Result<std::unique_ptr<HttpPool>> Start(
      Registry* registry, std::string self, const std::string& listen, HttpPoolOptions options,
      const std::function<void(HttpPool&)>& before_serving = {});

  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  // Replaces the peer set (self is added if missing). Requests in flight
  // finish with the peers they started with.
  void SetPeers(std::vector<std::string> peers);
  std::vector<std::string> Peers() const;
  std::string Owner(std::string_view key) const;

  // The ring as a PeerPicker, for Registry::SetPeerPicker. It is shared:
  // it stays valid after the pool is gone, and its clients then fail with
  // Unavailable, so a group still holding it (a Remove racing a shutdown)
  // uses nothing freed.
  std::shared_ptr<PeerPicker> picker() const;

  // A client for any peer URL, outside the ring (tools use it).
  std::shared_ptr<PeerClient> ClientFor(const std::string& url);

  // Serves `method path` (exact path, outside the base path) with `handler`,
  // which runs on a worker thread. Call before traffic arrives.
  void AddHandler(const std::string& method, const std::string& path, Handler handler);

  const std::string& self() const;
  // The bound port.
  int port() const;

  // Stops accepting, waits up to `timeout` for requests in flight, then
  // fails what is left (see above), closes everything and joins the
  // threads. Idempotent.
  void Shutdown(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  class Impl;

 private:
  explicit HttpPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A standalone client side, for tools that talk to a cluster without
// serving: owns its own I/O thread. Uses the client options only (limits,
// ring algorithm for the escaping, client_tls).
class HttpClientPool {
 public:
  // Never fails: with a bad client_tls, every request to an https:// peer
  // fails with InvalidArgument naming the file (tls_status() tells it up
  // front).
  explicit HttpClientPool(const HttpPoolOptions& options = {});
  ~HttpClientPool();
  HttpClientPool(const HttpClientPool&) = delete;
  HttpClientPool& operator=(const HttpClientPool&) = delete;

  std::shared_ptr<PeerClient> ClientFor(const std::string& url);

  // OK, or the InvalidArgument that client_tls gave.
  Status tls_status() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace groupcache

#endif  // GROUPCACHE_HTTP_POOL_H_
