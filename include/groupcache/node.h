// Node: one member of a groupcache cluster that finds its peers through
// service discovery (the Tochemey fork's Node).
//
// A Node has a Registry (create groups against it), an HttpPool serving the
// peer protocol on NODE_IP:GROUP_PORT, and a discovery provider. Start()
// binds the server first (so a node never announces an address it cannot
// serve), then configures, initializes and registers the provider, runs a
// first discovery (this node is always a peer) and follows the provider's
// watch stream, resetting the ring to the set of live nodes on every event.
// Stop() closes the provider, deregisters, and shuts the server down within
// the configured timeout; the destructor calls it. For a graceful stop,
// Leave() first: the node leaves discovery (the peers drop it from their
// rings) but goes on serving until Stop().
//
// The node's identity comes from NodeOptions, which NodeOptionsFromEnv fills
// from NODE_NAME (defaults to NODE_IP), NODE_IP (defaults to the host name)
// and GROUP_PORT (required). The peer URL is http://NODE_IP:GROUP_PORT (or
// https:// with server TLS).
//
// Thread-safe; discovery events are applied on the provider's thread.
//
// Example:
//   auto options = NodeOptionsFromEnv();
//   if (!options.ok()) return options.status();
//   auto node = Node::Start(*options, std::make_unique<discovery::ServiceDiscovery>(
//                                         std::move(provider), config));
//   auto group = (*node)->registry().NewGroup("users", 64 << 20, LoadUser);

#ifndef GROUPCACHE_NODE_H_
#define GROUPCACHE_NODE_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "groupcache/discovery/provider.h"
#include "groupcache/http_pool.h"
#include "groupcache/logger.h"
#include "groupcache/registry.h"
#include "groupcache/status.h"

namespace groupcache {

struct NodeOptions {
  std::string name;                // NODE_NAME; defaults to host
  std::string host;                // NODE_IP; the address peers reach and the ring names
  int port = 0;                    // GROUP_PORT; required, 1..65535
  std::string listen_host;         // where to bind; defaults to host
  HttpPoolOptions pool;            // transport options (base path, ring, TLS, limits)
  std::shared_ptr<Logger> logger;  // null: NewDefaultLogger()
  // The groups to serve. Null: the node makes an empty one (create groups
  // on node->registry()). Pass one that already holds the groups to make
  // sure no peer asks for a group before it exists (such a request gets a
  // 404, which the asking peer reports as not found).
  std::shared_ptr<Registry> registry;
  std::chrono::milliseconds shutdown_timeout{5000};
  // Called once the server's port is bound, before it serves a request and
  // before discovery starts (on Start's thread): the place to add handlers
  // (HttpPool::AddHandler) that must answer from the first request on,
  // while the node joins, such as a readiness probe.
  std::function<void(HttpPool&)> on_serving;
};

// Fills name, host and port of `base` from NODE_NAME, NODE_IP and
// GROUP_PORT (an unset variable keeps base's value, then the defaults
// above). Errors: InvalidArgument naming the variable (GROUP_PORT missing or
// not a port number, ...).
Result<NodeOptions> NodeOptionsFromEnv(NodeOptions base = {});

// The defaults alone, for a caller that read the variables itself (the
// daemon, whose flags win over them): host from the host name if empty,
// name from host. Errors: InvalidArgument if port is 0 or no host is known.
Result<NodeOptions> NodeOptionsWithDefaults(NodeOptions base);

class Node {
 public:
  // Errors: InvalidArgument (bad options, naming the setting), the server's
  // bind error, or the provider's error from SetConfig/Initialize/Register/
  // DiscoverNodes/Watch (each names its step). On error nothing is left
  // running and nothing stays registered.
  static Result<std::unique_ptr<Node>> Start(
      NodeOptions options, std::unique_ptr<discovery::ServiceDiscovery> discovery);

  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  Registry& registry() { return *registry_; }
  HttpPool& pool() { return *pool_; }

  // This node's peer URL.
  const std::string& url() const { return url_; }
  // The peer URLs on the ring, sorted.
  std::vector<std::string> Peers() const;

  // Leaves the cluster but keeps serving: closes the provider (no more
  // membership events) and deregisters, so that the peers stop routing
  // keys here, while this node still answers the requests that come (and
  // still forwards keys it does not own by its last ring). Idempotent.
  // Returns the provider's first error (the node has left regardless).
  Status Leave();

  // Leaves (if not done yet), then shuts the server down: requests in
  // flight get up to shutdown_timeout. Idempotent. Returns the first error
  // met while leaving (the node still stops).
  Status Stop();

 private:
  Node(NodeOptions options, std::unique_ptr<discovery::ServiceDiscovery> discovery);
  void Apply(const discovery::Event& event);
  void PushPeers();  // REQUIRES: mu_ held
  // The peer URL of a discovered node: https:// with server TLS.
  std::string UrlOf(const discovery::Node& node) const;

  NodeOptions options_;
  std::string url_;
  std::shared_ptr<Logger> logger_;
  std::shared_ptr<Registry> registry_;
  std::unique_ptr<discovery::ServiceDiscovery> discovery_;
  std::unique_ptr<HttpPool> pool_;

  mutable std::mutex mu_;
  std::map<std::string, std::string> members_;  // GUARDED_BY(mu_): address -> URL
  bool left_ = false;                           // GUARDED_BY(mu_)
  bool stopped_ = false;                        // GUARDED_BY(mu_)
  // Until Start has applied DiscoverNodes' answer: the addresses events
  // have reported since Watch began. Their state is the events' (the answer
  // may predate it), so the answer is not applied to them.
  std::set<std::string, std::less<>> reported_while_starting_;  // GUARDED_BY(mu_)
  bool starting_ = true;                                        // GUARDED_BY(mu_)
};

}  // namespace groupcache

#endif  // GROUPCACHE_NODE_H_
