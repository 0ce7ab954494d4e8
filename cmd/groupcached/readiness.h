// Readiness: what groupcached's GET /readyz answers.
//
// A node is ready once it can take its share of the keys: its groups exist
// and it has joined the cluster (with discovery: registered, and the first
// DiscoverNodes and Watch applied; with a static peer list: at once). It
// stops being ready when it starts to drain on SIGTERM, so that a load
// balancer (a Kubernetes Service) stops sending it new clients while the
// requests in flight finish. /healthz, by contrast, only says the process
// is alive.
//
// Thread-safe: main() moves the state, the handler reads it from a worker.
//
// Example:
//   Readiness ready;  // not ready: "starting"
//   pool->AddHandler("GET", "/readyz", ready.Handler());
//   ...
//   ready.SetReady();
//   ready.SetNotReady("draining: shutting down");

#ifndef GROUPCACHE_CMD_GROUPCACHED_READINESS_H_
#define GROUPCACHE_CMD_GROUPCACHED_READINESS_H_

#include <mutex>
#include <string>
#include <utility>

#include "groupcache/http_pool.h"

namespace groupcache::daemon {

class Readiness {
 public:
  void SetReady() {
    std::lock_guard lock(mu_);
    ready_ = true;
  }
  // `reason`: one line, the body of the 503.
  void SetNotReady(std::string reason) {
    std::lock_guard lock(mu_);
    ready_ = false;
    reason_ = std::move(reason);
  }
  // 200 "ready", or 503 with the reason.
  HttpResponse Answer() const {
    std::lock_guard lock(mu_);
    if (ready_) return {200, "text/plain; charset=utf-8", "ready\n"};
    return {503, "text/plain; charset=utf-8", "not ready: " + reason_ + "\n"};
  }
  // A handler for HttpPool::AddHandler. *this must outlive the pool.
  HttpPool::Handler Handler() const {
    return [this](const HttpRequest&) { return Answer(); };
  }

 private:
  mutable std::mutex mu_;
  bool ready_ = false;               // GUARDED_BY(mu_)
  std::string reason_ = "starting";  // GUARDED_BY(mu_)
};

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_READINESS_H_
