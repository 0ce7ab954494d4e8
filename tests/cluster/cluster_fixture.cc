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
               const std::string& hash, std::string* error, const std::vector<std::string>& extra,
               const std::vector<std::string>& wrapper) {
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
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.begin(), wrapper.begin(), wrapper.end());
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

namespace groupcache::testing {

int64_t Metric(const ClusterNode& node, const std::string& name) {
  RawResponse r = HttpGet(node.port, "/metrics");
  if (r.status != 200) return -1;
  size_t at = ("\n" + r.body).find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(r.body.substr(at + name.size() + 1));
}

}  // namespace groupcache::testing
