// The Kubernetes provider's rules as pure logic, with no I/O, so that they
// are tested without an API server: which pod is a peer, what a watch
// stream line means, and how a list or a watch event changes the set of
// peers.
//
// A pod is a peer while it is phase Running, its Ready condition is True,
// it has no deletionTimestamp (a terminating pod leaves at once), and it
// has a status.podIP and a container port named "group-port"; the node is
// (pod name, podIP, that port). Pods are keyed by name (unique within the
// namespace); a pod's node changing address is its old address removed and
// the new one added, since nodes are told apart by address.
// Not synchronised: the provider calls it from its watch thread.

#ifndef GROUPCACHE_SRC_DISCOVERY_KUBERNETES_PODS_H_
#define GROUPCACHE_SRC_DISCOVERY_KUBERNETES_PODS_H_

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "groupcache/discovery/provider.h"
#include "groupcache/status.h"

namespace groupcache::discovery::kubernetes_internal {

// The name of the container port that carries the peer protocol.
inline constexpr std::string_view kPortName = "group-port";

// What one pod object says.
struct PodView {
  std::string name;
  std::string resource_version;
  // Set while the pod is a peer (see above).
  std::optional<Node> node;
  // Why it is not, for the log: "phase Pending", "not Ready",
  // "terminating", "no podIP", "no container port named group-port".
  std::string not_a_peer;
};

// Reads a Pod object. Errors: InvalidArgument when it is not an object or
// has no metadata.name (a pod that merely is not a peer is not an error).
Result<PodView> ParsePod(const nlohmann::json& pod);

// One event of a watch stream: {"type": ..., "object": {...}}.
struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kAdded;
  nlohmann::json object;
  // metadata.resourceVersion of the object (pods and bookmarks).
  std::string resource_version;
  // kError: the Status object's code (410 when the resourceVersion is too
  // old) and its message.
  int code = 0;
  std::string message;
};

// Parses one line of a watch stream. Errors: InvalidArgument for a line
// that is not a JSON object (a truncated line), an unknown type, or an
// event without an object.
Result<WatchEvent> ParseWatchLine(std::string_view line);

// The pods seen and the peers they make.
class PodSet {
 public:
  // `self_address` (host:port) is never reported: a node counts itself.
  explicit PodSet(std::string self_address) : self_address_(std::move(self_address)) {}

  // A fresh list replaces everything known: appends the events that turn
  // the old peers into the new ones.
  void Relist(const std::vector<PodView>& pods, std::vector<Event>* events);
  // An ADDED or MODIFIED pod.
  void Upsert(const PodView& pod, std::vector<Event>* events);
  // A DELETED pod.
  void Remove(std::string_view name, std::vector<Event>* events);

  // The peers, sorted by address, without self.
  std::vector<Node> Nodes() const;
  size_t pods() const { return pods_.size(); }

 private:
  // Events for the peer of one pod going from `before` to `after`.
  void Diff(const std::optional<Node>& before, const std::optional<Node>& after,
            std::vector<Event>* events) const;
  bool Counts(const std::optional<Node>& node) const {
    return node && node->Address() != self_address_;
  }

  std::string self_address_;
  std::map<std::string, std::optional<Node>, std::less<>> pods_;  // by pod name
};

}  // namespace groupcache::discovery::kubernetes_internal

#endif  // GROUPCACHE_SRC_DISCOVERY_KUBERNETES_PODS_H_
