// Go nodes built from Debian's golang/groupcache (original protocol: CRC-32
// ring, QueryEscape, proto2 GetResponse) and C++ nodes in --hash golang
// mode, in one cluster.

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <thread>
#include <vector>

#include "cluster_fixture.h"
#include "groupcache/hash_ring.h"
#include "groupcache/http_pool.h"

namespace groupcache::testing {
namespace {

using namespace std::chrono_literals;

TEST(InteropTest, GoAndCppNodesShareOneCluster) {
  if (access(GROUPCACHE_GONODE, X_OK) != 0) {
    GTEST_SKIP() << "Go reference node not built (" << GROUPCACHE_GONODE
                 << "): install golang-go and golang-github-golang-groupcache-dev";
  }
  std::vector<ClusterNode> nodes = PlanNodes(4);
  nodes[0].go = true;
  nodes[2].go = true;
  for (auto& node : nodes) {
    std::string error;
    ASSERT_TRUE(StartNode(node, nodes, "synthetic:50", "golang", &error)) << error;
  }
  HttpPoolOptions golang;
  golang.ring.algorithm = RingAlgorithm::kGolang;
  HttpClientPool clients(golang);
  std::vector<std::string> urls;
  for (auto& n : nodes) urls.push_back(n.url);
  HashRing ring({.algorithm = RingAlgorithm::kGolang, .replicas = 50, .hash = nullptr}, urls);

  // No spaces: the original mis-escapes them (a known Go bug we mirror).
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back("k-" + std::to_string(i * 104729) + "/x+y%");
  for (const auto& key : keys) {
    for (auto& node : nodes) {
      auto r = clients.ClientFor(node.url)->Get(Context::Background().WithTimeout(5s), "g", key);
      ASSERT_TRUE(r.ok()) << (node.go ? "go " : "c++ ") << node.url << " " << key << ": "
                          << r.status().ToString();
      EXPECT_EQ(r->view(), Synthetic(key, 50));
    }
  }
  std::map<std::string, int> total;
  int on_go = 0;
  int on_cpp = 0;
  for (auto& node : nodes) {
    for (auto& [key, n] : Loads(node)) {
      total[key] += n;
      (node.go ? on_go : on_cpp) += n;
      EXPECT_EQ(std::string(ring.Get(key)), node.url) << key << " loaded off its owner";
    }
  }
  for (const auto& key : keys) EXPECT_EQ(total[key], 1) << key;
  EXPECT_GT(on_go, 0);
  EXPECT_GT(on_cpp, 0);
}

}  // namespace
}  // namespace groupcache::testing
