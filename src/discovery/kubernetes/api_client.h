// ApiClient: the few HTTPS requests the Kubernetes provider makes to the
// API server: a GET whose whole (bounded) body is wanted (a list) and a GET
// whose chunked body is read line by line as it comes (a watch).
//
// Calls block the calling thread (the provider's watch thread) and run
// Asio on it; each opens a connection of its own (a list or a watch is a
// long request; the API server is not a hot path). Cancel() may be called
// from any thread: it ends the call in progress, and every later one, with
// Cancelled. Every read and write is bounded: a list by its timeout, a
// watch by the longest silence allowed between two bytes.
//
// Authentication: the bearer token, re-read from its file when the file
// changes and once after a 401 (projected tokens rotate), or a client
// certificate. TLS trust: the access's CA (file or PEM) or the system's.
// Internal to groupcache::discovery_kubernetes.

#ifndef GROUPCACHE_SRC_DISCOVERY_KUBERNETES_API_CLIENT_H_
#define GROUPCACHE_SRC_DISCOVERY_KUBERNETES_API_CLIENT_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "access.h"
#include "groupcache/status.h"

namespace groupcache::discovery::kubernetes_internal {

class ApiClient {
 public:
  using Duration = std::chrono::milliseconds;

  struct Response {
    int status = 0;    // HTTP status
    std::string body;  // a list's body, or an error answer's
  };

  explicit ApiClient(ApiAccess access);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Builds the TLS context. Errors: InvalidArgument naming a CA or client
  // certificate file that cannot be loaded.
  Status Init();

  // GET `target` (path and query). Errors: Unavailable (cannot connect, TLS,
  // reset, timed out after `timeout`), ResourceExhausted (a body over
  // `max_body` bytes), Cancelled. A non-2xx answer is a Response, not an
  // error.
  Result<Response> Get(const std::string& target, Duration timeout, size_t max_body);

  // GET `target` and hand each line of a 200 answer's body to `on_line`
  // (without its newline) as it arrives; `on_line` returns false to stop.
  // Returns when the stream ends (OK), on a silence longer than `idle`
  // (Unavailable), a line over `max_line` bytes (ResourceExhausted), or as
  // Get. A non-200 answer is returned in *response with its body.
  Status Watch(const std::string& target, Duration idle, size_t max_line,
               const std::function<bool(std::string_view line)>& on_line, Response* response);

  void Cancel();

  const ApiAccess& access() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace groupcache::discovery::kubernetes_internal

#endif  // GROUPCACHE_SRC_DISCOVERY_KUBERNETES_API_CLIENT_H_
