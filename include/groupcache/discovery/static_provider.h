// StaticProvider: a fixed list of nodes, for tests and small deployments
// where every node is started with the same peer list
// (groupcache::discovery_static).
//
// Config keys:
//   peers      required; a string list (or one comma-separated string) of
//              "host:port" or "http://host:port". Duplicates are ignored.
//              May be empty: a single-node cluster.
//   self-name, self-host, self-port   optional (provider.h); when given,
//              this node is left out of `peers`, so every node can be given
//              the same list.
//
// DiscoverNodes returns the list (minus this node) in the order given.
// Watch reports that list as kAdded events and nothing after: the list
// never changes. Register and Deregister only move the state machine.
// Thread-safe; the lifecycle and threading rules are those of provider.h.
//
// Example:
//   discovery::Config config;
//   config.SetString("peers", "10.0.0.1:8080,10.0.0.2:8080,10.0.0.3:8080");
//   auto sd = std::make_unique<discovery::ServiceDiscovery>(
//       std::make_unique<discovery::StaticProvider>(), config);

#ifndef GROUPCACHE_DISCOVERY_STATIC_PROVIDER_H_
#define GROUPCACHE_DISCOVERY_STATIC_PROVIDER_H_

#include <memory>
#include <string_view>
#include <vector>

#include "groupcache/discovery/config.h"
#include "groupcache/discovery/provider.h"
#include "groupcache/status.h"

namespace groupcache::discovery {

class StaticProvider final : public Provider {
 public:
  static constexpr std::string_view kId = "static";
  static constexpr std::string_view kPeers = "peers";

  StaticProvider();
  ~StaticProvider() override;  // Close()
  StaticProvider(const StaticProvider&) = delete;
  StaticProvider& operator=(const StaticProvider&) = delete;

  std::string_view id() const override { return kId; }
  // Errors: InvalidArgument naming the key ("peers" missing, an entry that
  // is not an address, a bad self-* key); FailedPrecondition after
  // Initialize.
  Status SetConfig(const Config& config) override;
  Status Initialize() override;
  Status Register() override;
  Status Deregister() override;
  Result<std::vector<Node>> DiscoverNodes() override;
  Status Watch(WatchCallback callback) override;
  Status Close() override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace groupcache::discovery

#endif  // GROUPCACHE_DISCOVERY_STATIC_PROVIDER_H_
