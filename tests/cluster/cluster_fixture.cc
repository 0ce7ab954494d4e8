#include "cluster_fixture.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace groupcache::testing {

std::string Synthetic(const std::string& key, size_t size) {
  std::string seed = key + ":";
  std::string v(size, '\0');
  for (size_t i = 0; i < size; ++i) v[i] = seed[i % seed.size()];
  return v;
}

std::vector<ClusterNode> PlanNodes(int n) {
  std::vector<ClusterNode> nodes(static_cast<size_t>(n));
  for (auto& node : nodes) {
    node.port = FreePort();
    node.url = "http://127.0.0.1:" + std::to_string(node.port);
  }
  return nodes;
}

std::string JoinUrls(const std::vector<ClusterNode>& nodes) {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ",") + n.url;
  return out;
}

bool StartNode(ClusterNode& node, const std::vector<ClusterNode>& all, const std::string& loader,
               const std::string& hash, std::string* error) {
  std::vector<std::string> argv;
  std::string listen = "127.0.0.1:" + std::to_string(node.port);
  if (node.go) {
    argv = {GROUPCACHE_GONODE, "--listen",    listen,    "--self", node.url,
            "--peers",         JoinUrls(all), "--group", "g",      "--cache-bytes",
            "67108864",        "--loader",    loader};
  } else {
    argv = {GROUPCACHE_GROUPCACHED,
            "--listen",
            listen,
            "--self",
            node.url,
            "--peers",
            JoinUrls(all),
            "--group",
            "g",
            "--cache-bytes",
            "67108864",
            "--loader",
            loader,
            "--hash",
            hash,
            "--log-level",
            "warn"};
  }
  std::string log = std::string(::testing::TempDir()) + "node-" + std::to_string(node.port) + "-" +
                    std::to_string(getpid()) + ".log";
  node.process = std::make_unique<ChildProcess>(argv, log);
  if (node.process->WaitForPort(node.port)) return true;
  *error = "node " + node.url + " did not start: " + node.process->Log();
  return false;
}

std::map<std::string, int> Loads(const ClusterNode& node) {
  RawResponse r = HttpGet(node.port, "/loads");
  std::map<std::string, int> out;
  if (r.status != 200) return out;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return out;
  for (auto& [k, v] : j.items()) out[k] = v.get<int>();
  return out;
}

}  // namespace groupcache::testing
