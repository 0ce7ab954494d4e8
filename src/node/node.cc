#include "groupcache/node.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace groupcache {

namespace {

// The variable's value, or nullopt when it is unset or empty (an empty
// NODE_IP in a pod spec means "not given", as in the Go code).
std::optional<std::string> Env(const char* name) {
  // Read once, at start-up; the library never writes the environment.
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// Prefixes a provider's error with the step and the provider, keeping the
// code: "nats discovery: Initialize: <message>".
Status Step(const discovery::Provider& provider, std::string_view step, const Status& status) {
  std::string prefix = std::string(provider.id()) + " discovery: ";
  std::string_view message = status.message();
  if (message.substr(0, prefix.size()) == prefix) message.remove_prefix(prefix.size());
  return {status.code(), prefix + std::string(step) + ": " + std::string(message)};
}

}  // namespace

Result<NodeOptions> NodeOptionsFromEnv(NodeOptions base) {
  if (auto ip = Env("NODE_IP")) base.host = *ip;
  if (auto name = Env("NODE_NAME")) base.name = *name;
  if (auto port = Env("GROUP_PORT")) {
    errno = 0;
    char* end = nullptr;
    long value = std::strtol(port->c_str(), &end, 10);
    if (errno != 0 || end == port->c_str() || *end != '\0' || value < 1 || value > 65535) {
      return InvalidArgumentError("GROUP_PORT must be a port number (1-65535), not '" + *port +
                                  "'");
    }
    base.port = static_cast<int>(value);
  }
  return NodeOptionsWithDefaults(std::move(base));
}

Result<NodeOptions> NodeOptionsWithDefaults(NodeOptions base) {
  if (base.port == 0) return InvalidArgumentError("GROUP_PORT is not set");
  if (base.host.empty()) {
    char host[HOST_NAME_MAX + 1] = {};
    if (gethostname(host, sizeof host) != 0 || host[0] == '\0') {
      return InvalidArgumentError("NODE_IP is not set and the host name is unknown");
    }
    base.host = host;
  }
  if (base.name.empty()) base.name = base.host;
  return base;
}

Node::Node(NodeOptions options, std::unique_ptr<discovery::ServiceDiscovery> discovery)
    : options_(std::move(options)),
      logger_(options_.logger ? options_.logger : NewDefaultLogger(LogLevel::kInfo, "node")),
      registry_(options_.registry ? options_.registry
                                  : std::make_shared<Registry>(RegistryOptions{logger_})),
      discovery_(std::move(discovery)) {}

Result<std::unique_ptr<Node>> Node::Start(NodeOptions options,
                                          std::unique_ptr<discovery::ServiceDiscovery> discovery) {
  if (discovery == nullptr) return InvalidArgumentError("Node: no service discovery given");
  if (options.host.empty()) return InvalidArgumentError("Node: NODE_IP (host) is empty");
  if (options.port < 1 || options.port > 65535) {
    return InvalidArgumentError("Node: GROUP_PORT (port) must be in 1..65535, not " +
                                std::to_string(options.port));
  }
  if (options.name.empty()) options.name = options.host;
  if (options.listen_host.empty()) options.listen_host = options.host;

  const discovery::Node self{options.name, options.host, options.port};
  std::unique_ptr<Node> node(new Node(std::move(options), std::move(discovery)));
  node->url_ = node->UrlOf(self);
  const NodeOptions& opts = node->options_;

  // The server first: a node must not announce an address it cannot serve.
  std::string listen = opts.listen_host.find(':') != std::string::npos
                           ? "[" + opts.listen_host + "]:" + std::to_string(opts.port)
                           : opts.listen_host + ":" + std::to_string(opts.port);
  HttpPoolOptions pool_options = opts.pool;
  if (!pool_options.logger) pool_options.logger = node->logger_;
  auto pool = HttpPool::Start(node->registry_.get(), node->url_, listen, pool_options,
                              [&node, &opts](HttpPool& p) {
                                p.SetPeers({node->url_});
                                node->registry_->SetPeerPicker(p.picker());
                                if (opts.on_serving) opts.on_serving(p);
                              });
  if (!pool.ok()) return pool.status();
  node->pool_ = std::move(*pool);

  // Then discovery. On any error, Stop() undoes what was done.
  node->discovery_->SetSelf(self);
  discovery::Provider& provider = node->discovery_->provider();
  auto fail = [&node, &provider](std::string_view step, const Status& status) {
    Status error = Step(provider, step, status);
    node->logger_->Error("node failed to start", {{"error", error.ToString()}});
    (void)node->Stop();
    return error;
  };
  if (Status s = provider.SetConfig(node->discovery_->config()); !s.ok()) {
    return fail("SetConfig", s);
  }
  if (Status s = provider.Initialize(); !s.ok()) return fail("Initialize", s);
  if (Status s = provider.Register(); !s.ok()) return fail("Register", s);
  // Watch before DiscoverNodes: the other way round, a node that left in
  // between was in DiscoverNodes' answer but never got its kRemoved (Watch
  // reports only the nodes still there), and stayed on the ring for good.
  // DiscoverNodes' answer still fills the ring before Start returns, save
  // the nodes events have reported meanwhile: the answer may predate that.
  Node* raw = node.get();
  if (Status s = provider.Watch([raw](const discovery::Event& event) { raw->Apply(event); });
      !s.ok()) {
    return fail("Watch", s);
  }
  auto nodes = provider.DiscoverNodes();
  if (!nodes.ok()) return fail("DiscoverNodes", nodes.status());
  {
    std::lock_guard lock(node->mu_);
    for (const auto& other : *nodes) {
      if (!node->reported_while_starting_.contains(other.Address())) {
        node->members_[other.Address()] = node->UrlOf(other);
      }
    }
    node->starting_ = false;
    node->reported_while_starting_.clear();
    node->PushPeers();
  }
  node->logger_->Info("node started", {{"name", self.name},
                                       {"url", node->url_},
                                       {"discovery", std::string(provider.id())},
                                       {"peers", std::to_string(node->Peers().size())}});
  return node;
}

Node::~Node() { (void)Stop(); }

// Discovery carries host:port only. The nodes of one cluster share their
// transport settings, so with server TLS here every peer is reached over
// https:// too.
std::string Node::UrlOf(const discovery::Node& node) const {
  return options_.pool.server_tls.enabled() ? "https://" + node.Address() : node.PeerUrl();
}

std::vector<std::string> Node::Peers() const {
  if (!pool_) return {};
  std::vector<std::string> peers = pool_->Peers();
  std::sort(peers.begin(), peers.end());
  return peers;
}

void Node::Apply(const discovery::Event& event) {
  std::lock_guard lock(mu_);
  if (left_) return;
  if (starting_) {
    reported_while_starting_.insert(event.node.Address());
    if (event.kind == discovery::Event::Kind::kModified) {
      reported_while_starting_.insert(event.previous.Address());
    }
  }
  switch (event.kind) {
    case discovery::Event::Kind::kAdded: members_[event.node.Address()] = UrlOf(event.node); break;
    case discovery::Event::Kind::kModified:
      members_.erase(event.previous.Address());
      members_[event.node.Address()] = UrlOf(event.node);
      break;
    case discovery::Event::Kind::kRemoved: members_.erase(event.node.Address()); break;
  }
  logger_->Info("membership changed", {{"event", std::string(discovery::KindName(event.kind))},
                                       {"node", event.node.Address()},
                                       {"peers", std::to_string(members_.size() + 1)}});
  PushPeers();
}

void Node::PushPeers() {
  std::vector<std::string> peers;
  peers.reserve(members_.size() + 1);
  peers.push_back(url_);
  for (const auto& [address, url] : members_) {
    if (url != url_) peers.push_back(url);
  }
  pool_->SetPeers(std::move(peers));
}

Status Node::Leave() {
  {
    std::lock_guard lock(mu_);
    if (left_) return {};
    left_ = true;
  }
  // The reference's order: close the provider (no more events; a
  // registered provider deregisters on the way), then deregister (a no-op
  // then).
  Status first;
  discovery::Provider& provider = discovery_->provider();
  if (Status s = provider.Close(); !s.ok()) first = Step(provider, "Close", s);
  if (Status s = provider.Deregister(); !s.ok() && first.ok()) {
    first = Step(provider, "Deregister", s);
  }
  if (!first.ok()) logger_->Warn("node left with an error", {{"error", first.ToString()}});
  return first;
}

Status Node::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return {};
    stopped_ = true;
  }
  // Leave, then drain and shut the server down.
  Status first = Leave();
  registry_->SetPeerPicker(nullptr);
  if (pool_) pool_->Shutdown(options_.shutdown_timeout);
  return first;
}

}  // namespace groupcache
