// groupcached and groupcache-cli over TLS: the command-line flags reach the
// transport. Two real nodes in a mutual-TLS cluster, read through each
// other by the library's client and by the CLI; a bad TLS file stops a node
// at start. (The transport's TLS behaviour itself is in tls_test.cc.)

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "cluster_fixture.h"
#include "groupcache/hash_ring.h"
#include "groupcache/http_pool.h"
#include "test_pki.h"

namespace groupcache::testing {
namespace {

using namespace std::chrono_literals;

// Runs a shell command; returns its stdout and stderr together.
std::string RunCommand(const std::string& command, int* exit_status) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

class TlsClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/groupcache-tls-cluster-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    auto pki = MakeTestPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // groupcached with mutual TLS: the node certificate serves and is
  // presented to the other peers.
  std::vector<std::string> NodeArgv(const ClusterNode& node, const std::string& peers) const {
    return {GROUPCACHE_GROUPCACHED,
            "--listen",
            "127.0.0.1:" + std::to_string(node.port),
            "--peers",
            peers,
            "--group",
            "g",
            "--loader",
            "synthetic:64",
            "--log-level",
            "warn",
            "--tls-cert",
            pki_.node_cert,
            "--tls-key",
            pki_.node_key,
            "--tls-ca",
            pki_.ca_cert,
            "--tls-client-cert",
            pki_.node_cert,
            "--tls-client-key",
            pki_.node_key,
            "--tls-require-client-cert"};
  }

  std::string Log(const std::string& name) const { return dir_ + "/" + name + ".log"; }

  std::string dir_;
  TestPki pki_;
};

TEST_F(TlsClusterTest, NodesServeEachOtherOverMutualTls) {
  std::vector<ClusterNode> nodes = PlanNodes(2);
  for (auto& n : nodes) n.url = "https://127.0.0.1:" + std::to_string(n.port);
  for (auto& n : nodes) {
    // No --self: a TLS node defaults to https://LISTEN.
    n.process =
        std::make_unique<ChildProcess>(NodeArgv(n, JoinUrls(nodes)), Log(std::to_string(n.port)));
    ASSERT_TRUE(n.process->WaitForPort(n.port)) << n.process->Log();
  }

  // A key owned by each node, each read through both: every node fetches
  // from the other over TLS. A failed peer fetch would be loaded locally,
  // with a warning in the log.
  HashRing ring({}, {nodes[0].url, nodes[1].url});
  std::vector<std::string> keys;
  for (const auto& owner : nodes) {
    for (int i = 0;; ++i) {
      std::string key = "key-" + std::to_string(i);
      if (ring.Get(key) == owner.url) {
        keys.push_back(key);
        break;
      }
    }
  }
  HttpPoolOptions options;
  options.client_tls.ca_file = pki_.ca_cert;
  options.client_tls.cert_file = pki_.client_cert;
  options.client_tls.key_file = pki_.client_key;
  HttpClientPool clients(options);
  for (const auto& key : keys) {
    for (auto& n : nodes) {
      auto r = clients.ClientFor(n.url)->Get(Context::Background().WithTimeout(5s), "g", key);
      ASSERT_TRUE(r.ok()) << n.url << " " << key << ": " << r.status().ToString() << "\n"
                          << n.process->Log();
      EXPECT_EQ(r->view(), Synthetic(key, 64));
    }
  }
  for (auto& n : nodes) {
    EXPECT_EQ(n.process->Log().find("peer fetch failed"), std::string::npos) << n.process->Log();
  }

  int status = 0;
  std::string out =
      RunCommand(std::string(GROUPCACHE_CLI) + " get --peer " + nodes[0].url +
                     " --group g --tls-ca " + pki_.ca_cert + " --tls-cert " + pki_.client_cert +
                     " --tls-key " + pki_.client_key + " " + keys[0],
                 &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, Synthetic(keys[0], 64));

  // The same through the client API (--cluster): the certificate goes
  // there too.
  out = RunCommand(std::string(GROUPCACHE_CLI) + " get --cluster --peer " + nodes[0].url +
                       " --group g --tls-ca " + pki_.ca_cert + " --tls-cert " + pki_.client_cert +
                       " --tls-key " + pki_.client_key + " " + keys[1],
                   &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, Synthetic(keys[1], 64));

  // Without a client certificate the node refuses the CLI, either way.
  for (const char* cluster : {"", " --cluster"}) {
    out = RunCommand(std::string(GROUPCACHE_CLI) + " get" + cluster + " --peer " + nodes[0].url +
                         " --group g --tls-ca " + pki_.ca_cert + " " + keys[0],
                     &status);
    EXPECT_EQ(status, 1) << cluster << ": " << out;
  }
}

TEST_F(TlsClusterTest, UnreadableCertificateStopsTheNodeAtStart) {
  std::vector<ClusterNode> nodes = PlanNodes(1);
  std::vector<std::string> argv = NodeArgv(nodes[0], "https://127.0.0.1:1");
  const std::string missing = dir_ + "/missing.pem";
  for (size_t i = 0; i + 1 < argv.size(); ++i) {
    if (argv[i] == "--tls-cert") argv[i + 1] = missing;
  }
  ChildProcess node(argv, Log("bad"));
  EXPECT_EQ(node.Wait(), 2);
  EXPECT_NE(node.Log().find(missing), std::string::npos) << node.Log();

  int status = 0;
  std::string out = RunCommand(std::string(GROUPCACHE_CLI) + " get --peer https://127.0.0.1:1" +
                                   " --group g --tls-ca " + missing + " k",
                               &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find(missing), std::string::npos) << out;
}

}  // namespace
}  // namespace groupcache::testing
