// KubernetesProvider: the nodes are the pods of one application, found
// through the Kubernetes API server (groupcache::discovery_kubernetes; go:
// discovery/kubernetes of the Tochemey fork, plus what a production client
// does beyond it).
//
// Which pods. Those in `namespace` with the labels
//   app.kubernetes.io/part-of=<app_name>, app.kubernetes.io/component=<app_name>,
//   app.kubernetes.io/name=<app_name>.
// A pod is a node while it is Running, its Ready condition is True and it
// has no deletionTimestamp (a terminating pod leaves every ring at once);
// the node is (pod name, status.podIP, the containerPort of the container
// port named "group-port"). deploy/kubernetes/ has manifests that satisfy
// these rules.
//
// How. Initialize lists the pods (the first membership); Watch then
// watches from the list's resourceVersion (watch=1, allowWatchBookmarks,
// timeoutSeconds = `watch-timeout`) and turns ADDED / MODIFIED / DELETED
// into events; a BOOKMARK moves the resourceVersion on; an ERROR 410 (the
// resourceVersion is too old) means list again, then watch from the new
// list, with the difference reported as events. A watch that ends (its
// timeout) is resumed at once from the last resourceVersion seen; one that
// fails (connection refused or dropped, 5xx, an ERROR event) is resumed
// after a capped exponential backoff with jitter (`backoff-initial`
// doubling up to `backoff-max`), reset only by an event or a bookmark. A
// 410 on the first watch after a fresh list (a server or proxy with a stale
// cache) also backs off before listing again, rather than list in a loop.
//
// Bounds. A pod turning Ready, NotReady, terminating or deleted reaches
// the callback as soon as the API server sends the event (milliseconds).
// While the API server is unreachable nothing is removed: the last known
// membership stays (the pods most likely still run; only our view of them
// is gone), and it catches up within `backoff-max` of the server's return.
// Each new kind of failure is logged once (401 and 403 say what is
// missing); the return to health is logged too.
//
// Credentials. Outside a pod: `kubeconfig` (its current context: server,
// CA, token, tokenFile or client certificate, namespace). In a pod (no
// kubeconfig): the service account's files under `serviceaccount-dir`
// (default /var/run/secrets/kubernetes.io/serviceaccount) and
// KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT. A token file is
// re-read when it changes and after a 401.
//
// Config keys:
//   app_name            required.
//   namespace           default: the pod's namespace file, or the
//                       kubeconfig context's namespace; required if neither.
//   kubeconfig          a kubeconfig file; default: in-cluster credentials.
//   serviceaccount-dir  see above.
//   request-timeout     bound on a list; default 5 s.
//   watch-timeout       a watch's timeoutSeconds; default 30 s.
//   backoff-initial, backoff-max   default 250 ms, 10 s.
//   max-list-bytes      a list answer larger than this is refused; default
//                       32 MiB. Also the longest watch line.
//   self-host, self-port (provider.h): this node, never reported.
//
// Errors: SetConfig and Initialize return InvalidArgument naming the key or
// the file (no app_name, no namespace, an unreadable kubeconfig, a bad CA);
// Initialize returns Unavailable naming the API server when the first list
// fails (or PermissionDenied-like InvalidArgument text for 401/403).
//
// Threads. Thread-safe. One thread lists and watches (blocking HTTPS
// calls); Watch callbacks run on a second one (provider.h).

#ifndef GROUPCACHE_DISCOVERY_KUBERNETES_PROVIDER_H_
#define GROUPCACHE_DISCOVERY_KUBERNETES_PROVIDER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "groupcache/discovery/config.h"
#include "groupcache/discovery/provider.h"
#include "groupcache/logger.h"
#include "groupcache/status.h"

namespace groupcache::discovery {

class KubernetesProvider final : public Provider {
 public:
  static constexpr std::string_view kId = "kubernetes";
  // Config keys; see above.
  static constexpr std::string_view kAppName = "app_name";
  static constexpr std::string_view kNamespace = "namespace";
  static constexpr std::string_view kKubeconfig = "kubeconfig";
  static constexpr std::string_view kServiceAccountDir = "serviceaccount-dir";
  static constexpr std::string_view kRequestTimeout = "request-timeout";
  static constexpr std::string_view kWatchTimeout = "watch-timeout";
  static constexpr std::string_view kBackoffInitial = "backoff-initial";
  static constexpr std::string_view kBackoffMax = "backoff-max";
  static constexpr std::string_view kMaxListBytes = "max-list-bytes";

  // What the provider has done, for metrics.
  struct Stats {
    // Watch events by type: "ADDED", "MODIFIED", "DELETED", "BOOKMARK",
    // "ERROR", and "invalid" for lines that could not be used.
    std::map<std::string, int64_t, std::less<>> events;
    int64_t lists = 0;           // successful lists (the first included)
    int64_t watch_restarts = 0;  // watches started after the first
    // Failed API calls by HTTP status; 0 for transport failures.
    std::map<int, int64_t> api_errors;
    // Since the last successful list or watch event; nullopt before any.
    std::optional<std::chrono::steady_clock::duration> since_success;
  };

  // `logger` null: NewDefaultLogger(LogLevel::kInfo, "discovery").
  explicit KubernetesProvider(std::shared_ptr<Logger> logger = nullptr);
  ~KubernetesProvider() override;  // Close()
  KubernetesProvider(const KubernetesProvider&) = delete;
  KubernetesProvider& operator=(const KubernetesProvider&) = delete;

  std::string_view id() const override { return kId; }
  Status SetConfig(const Config& config) override;
  // Reads the credentials and lists the pods once.
  Status Initialize() override;
  // Membership is the pods' readiness: nothing to announce.
  Status Register() override;
  Status Deregister() override;
  Result<std::vector<Node>> DiscoverNodes() override;
  Status Watch(WatchCallback callback) override;
  Status Close() override;

  Stats GetStats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace groupcache::discovery

#endif  // GROUPCACHE_DISCOVERY_KUBERNETES_PROVIDER_H_
