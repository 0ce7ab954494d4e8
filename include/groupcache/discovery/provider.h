// Service discovery: how the nodes of a cluster find each other (go:
// package discovery of the Tochemey fork).
//
// A Provider is one way of finding nodes (a static list, NATS, ...). Each
// lives in its own library (groupcache::discovery_static,
// groupcache::discovery_nats), so a program links only what it uses; this
// header is the contract they all implement and that Node relies on.
//
// Lifecycle. A provider is a small state machine; each call is valid only
// in the states listed, and any other call returns FailedPrecondition
// naming the call and the state:
//
//   new --SetConfig--> configured --Initialize--> initialized
//   initialized --Register--> registered --Deregister--> initialized
//   any state --Close--> closed (final)
//
//   SetConfig     new, configured (replaces the config). Checks every key it
//                 reads: InvalidArgument naming the key.
//   Initialize    configured. Connects to whatever backs the provider; must
//                 fail within a bounded time (Unavailable naming the server)
//                 rather than hang.
//   Register      initialized. Makes this node visible to the others.
//   Deregister    registered: withdraws this node. initialized or closed:
//                 OK, nothing to withdraw (so "Close, then Deregister", the
//                 order Go's Node.Stop uses, works).
//   DiscoverNodes registered. May block for the provider's discovery wait.
//   Watch         initialized, registered. Once per provider.
//   Close         any state; idempotent. A registered provider deregisters
//                 first (best effort). After Close returns no callback is
//                 running or will run.
//
// Who is who. Every provider is told this node's identity through the
// config keys kSelfName / kSelfHost / kSelfPort (SetSelf writes them;
// ServiceDiscovery::SetSelf is how a Node does it). DiscoverNodes and the
// events never include this node itself: a node always counts itself as a
// peer and adds the others. Nodes are told apart by address (host:port);
// the name is informative.
//
// Threads. Providers are thread-safe. Watch's callback runs on a thread the
// provider owns, one event at a time, in order, never while the provider
// holds a lock: the callback may call the provider's const-like methods
// (DiscoverNodes) but must not call Close (which waits for that thread; it
// returns FailedPrecondition if called from there). Keep callbacks short:
// while one runs, the provider's other work on that thread (e.g. NATS
// heartbeats) waits.
//
// Example (what Node::Start does):
//   auto sd = std::make_unique<discovery::ServiceDiscovery>(
//       std::make_unique<discovery::NatsProvider>(logger), config);
//   sd->SetSelf({"node-1", "10.0.0.2", 8080});
//   discovery::Provider& p = sd->provider();
//   if (Status s = p.SetConfig(sd->config()); !s.ok()) return s;
//   if (Status s = p.Initialize(); !s.ok()) return s;
//   if (Status s = p.Register(); !s.ok()) return s;
//   Status s = p.Watch([&](const discovery::Event& e) { ApplyToRing(e); });
//   auto nodes = p.DiscoverNodes();  // the others (add yourself), but not
//                                    // those an event removed meanwhile

#ifndef GROUPCACHE_DISCOVERY_PROVIDER_H_
#define GROUPCACHE_DISCOVERY_PROVIDER_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "groupcache/discovery/config.h"
#include "groupcache/status.h"

namespace groupcache::discovery {

// A discovered groupcache node (go: discovery.Node).
struct Node {
  std::string name;  // informative; defaults to the host
  std::string host;  // IP or host name peers reach it at (no brackets)
  int port = 0;      // the peer-protocol port, 1..65535

  // "host:port", with brackets around an IPv6 host ("[::1]:8080"): the key
  // nodes are told apart by (go: Address).
  std::string Address() const;

  // "http://host:port": the node's identity on the hash ring and the base
  // of its peer URLs. Always a full URL: the Go fork added discovered peers
  // as bare host:port, unreachable and hashed differently from the rest of
  // the ring; we do not copy that.
  std::string PeerUrl() const;

  friend bool operator==(const Node& a, const Node& b) {
    return a.name == b.name && a.host == b.host && a.port == b.port;
  }
};

// Parses "host:port", "[v6]:port", "http://host:port" or
// "https://host:port" (an optional trailing '/' is allowed; the scheme is
// dropped) into a Node whose name is "host:port". Errors:
// InvalidArgument quoting the text (no port, port not in 1..65535, another
// scheme, a path, an IPv6 literal without brackets, a blank in the host).
Result<Node> ParseNodeAddress(std::string_view text);

// Checks host non-empty and port in 1..65535. `what` prefixes the error.
Status ValidateNode(const Node& node, std::string_view what);

// A change in the set of nodes (go: NodeAdded / NodeRemoved /
// NodeModified).
struct Event {
  enum class Kind { kAdded, kRemoved, kModified };
  Kind kind = Kind::kAdded;
  Node node;      // the node as it is now (as it was, for kRemoved)
  Node previous;  // kModified only: the node as it was (same address)

  friend bool operator==(const Event& a, const Event& b) {
    return a.kind == b.kind && a.node == b.node && a.previous == b.previous;
  }
};

// "added", "removed", "modified".
std::string_view KindName(Event::Kind kind);

// Config keys every provider reads for this node's own identity. kSelfName
// is optional (defaults to the host). Providers that need to know who they
// are (NATS) require host and port; others use them to leave this node out
// of what they report.
inline constexpr std::string_view kSelfName = "self-name";
inline constexpr std::string_view kSelfHost = "self-host";
inline constexpr std::string_view kSelfPort = "self-port";

// Writes `self` into `config` under the three keys above.
void SetSelf(Config& config, const Node& self);
// Reads them back. Errors: InvalidArgument naming the missing or bad key.
Result<Node> GetSelf(const Config& config);

// Called with each membership change; see "Threads" above.
using WatchCallback = std::function<void(const Event&)>;

// A way of finding nodes (go: discovery.Provider). See the lifecycle and
// threading rules at the top of this file.
class Provider {
 public:
  virtual ~Provider() = default;

  // A short constant name: "static", "nats", ...
  virtual std::string_view id() const = 0;

  // Validates and keeps the settings this provider reads from `config`.
  virtual Status SetConfig(const Config& config) = 0;
  virtual Status Initialize() = 0;
  virtual Status Register() = 0;
  virtual Status Deregister() = 0;

  // The other nodes currently visible (never this node), each once.
  virtual Result<std::vector<Node>> DiscoverNodes() = 0;

  // Starts delivering membership changes to `callback`. The first events are
  // a kAdded for every other node the provider knows of at that moment (a
  // node the caller already has may be reported again), then the changes as
  // they happen. A node that left before Watch gets no kRemoved: a caller
  // that also uses DiscoverNodes' answer calls Watch first (see the example
  // above), or it may keep a node that is gone. Errors: FailedPrecondition
  // (wrong state, already watching), InvalidArgument (empty callback).
  virtual Status Watch(WatchCallback callback) = 0;

  virtual Status Close() = 0;
};

// A provider with the config to give it (go: NewServiceDiscovery). Owns the
// provider. Not synchronised itself: configure it before handing it over;
// the provider it owns is thread-safe.
class ServiceDiscovery {
 public:
  // REQUIRES: provider != nullptr.
  ServiceDiscovery(std::unique_ptr<Provider> provider, Config config);

  Provider& provider() const { return *provider_; }
  const Config& config() const { return config_; }
  Config& mutable_config() { return config_; }

  // Writes this node's identity into the config (see kSelfHost); Node::Start
  // calls it with the node's own name, host and port.
  void SetSelf(const Node& self) { discovery::SetSelf(config_, self); }

 private:
  std::unique_ptr<Provider> provider_;
  Config config_;
};

}  // namespace groupcache::discovery

#endif  // GROUPCACHE_DISCOVERY_PROVIDER_H_
