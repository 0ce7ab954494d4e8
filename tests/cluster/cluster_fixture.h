// Starts groupcached (and Go gonode) processes on loopback for cluster tests.

#ifndef GROUPCACHE_TESTS_CLUSTER_CLUSTER_FIXTURE_H_
#define GROUPCACHE_TESTS_CLUSTER_CLUSTER_FIXTURE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "process.h"

namespace groupcache::testing {

struct ClusterNode {
  int port = 0;
  std::string url;
  std::unique_ptr<ChildProcess> process;
  bool go = false;
};

// The synthetic loader's value (same rule as groupcached and gonode).
std::string Synthetic(const std::string& key, size_t size);

// Ports for n nodes and their URLs.
std::vector<ClusterNode> PlanNodes(int n);
std::string JoinUrls(const std::vector<ClusterNode>& nodes);

// Starts node i of `nodes` as groupcached (or gonode when go is set), with
// every node of `nodes` as its peers. Returns false (with the log in
// *error) if it does not come up.
// `extra` flags go after the standard ones; `wrapper` (e.g. {"prlimit",
// "--nofile=64:64"}) goes before the binary.
bool StartNode(ClusterNode& node, const std::vector<ClusterNode>& all, const std::string& loader,
               const std::string& hash, std::string* error,
               const std::vector<std::string>& extra = {},
               const std::vector<std::string>& wrapper = {});

// The value of a sample without labels in the node's /metrics, or -1.
int64_t Metric(const ClusterNode& node, const std::string& name);

// key -> loader calls on this node (GET /loads).
std::map<std::string, int> Loads(const ClusterNode& node);

}  // namespace groupcache::testing

#endif  // GROUPCACHE_TESTS_CLUSTER_CLUSTER_FIXTURE_H_
