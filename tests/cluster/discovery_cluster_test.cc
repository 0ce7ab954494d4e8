// groupcached nodes that find each other through discovery: real processes
// on loopback and a real nats-server, started and stopped by the tests.
//
// Bounds checked here (NATS provider defaults: heartbeat 500 ms, node-ttl
// 1.5 s): a starting or stopping node is in or out of every ring within 2 s;
// a node killed with SIGKILL is out within node-ttl plus one heartbeat of
// slack, 2 s (measured from the kill).

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "cluster_fixture.h"
#include "groupcache/http_pool.h"
#include "nats_server.h"

namespace groupcache::testing {
namespace {

using namespace std::chrono_literals;
using discovery::testing::NatsServer;

// The peer URLs node `port` reports at GET /peers; empty if it does not
// answer.
std::set<std::string> PeersOf(int port) {
  RawResponse r = HttpGet(port, "/peers");
  std::set<std::string> out;
  if (r.status != 200) return out;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_array()) return out;
  for (auto& url : j) out.insert(url.get<std::string>());
  return out;
}

class DiscoveryClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (NatsServer::Executable().empty()) GTEST_SKIP() << "nats-server is not installed";
    ASSERT_TRUE(nats_.Start()) << nats_.Log();
  }

  // Starts a groupcached node that finds its peers through NATS. The
  // identity goes through the reference's environment variables.
  ClusterNode& StartNatsNode(const std::vector<std::string>& extra = {}) {
    auto& node = nodes_.emplace_back();
    node.port = FreePort();
    node.url = "http://127.0.0.1:" + std::to_string(node.port);
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "NODE_IP=127.0.0.1",
                                     "NODE_NAME=node-" + std::to_string(node.port),
                                     "GROUP_PORT=" + std::to_string(node.port),
                                     GROUPCACHE_GROUPCACHED,
                                     "--discovery",
                                     "nats",
                                     "--nats-server",
                                     nats_.url(),
                                     "--nats-subject",
                                     "groupcache.test",
                                     "--group",
                                     "g",
                                     "--loader",
                                     "synthetic:64:5",
                                     "--log-level",
                                     "info"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    node.process = std::make_unique<ChildProcess>(
        argv, ::testing::TempDir() + "dnode-" + std::to_string(node.port) + ".log");
    EXPECT_TRUE(node.process->WaitForPort(node.port)) << node.process->Log();
    return node;
  }

  std::set<std::string> Urls(const std::vector<const ClusterNode*>& nodes) {
    std::set<std::string> out;
    for (const auto* n : nodes) out.insert(n->url);
    return out;
  }

  // Polls until every node in `live` reports exactly `live` as its peers;
  // returns how long that took, or nullopt after `limit`.
  std::optional<std::chrono::milliseconds> Converge(const std::vector<const ClusterNode*>& live,
                                                    std::chrono::milliseconds limit) {
    auto start = Clock::now();
    std::set<std::string> want = Urls(live);
    while (Clock::now() - start < limit) {
      bool all = std::all_of(live.begin(), live.end(),
                             [&](const ClusterNode* n) { return PeersOf(n->port) == want; });
      if (all) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      }
      std::this_thread::sleep_for(20ms);  // polling other processes
    }
    return std::nullopt;
  }

  std::string Describe(const std::vector<const ClusterNode*>& live) {
    std::string out;
    for (const auto* n : live) {
      out += n->url + " sees [";
      for (const auto& u : PeersOf(n->port)) out += u + " ";
      out += "]\n";
    }
    return out;
  }

  NatsServer nats_;
  std::deque<ClusterNode> nodes_;
  HttpClientPool clients_;
};

// Reads through `readers` in the background, counting failures, so the
// tests can show reads keep working while the membership changes.
class BackgroundReads {
 public:
  BackgroundReads(HttpClientPool* clients, std::vector<std::string> urls)
      : clients_(clients), urls_(std::move(urls)), thread_([this] { Run(); }) {}
  ~BackgroundReads() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  std::string first_error() {
    std::lock_guard lock(mu_);
    return first_error_;
  }

 private:
  void Run() {
    for (int i = 0; !stop_; ++i) {
      const std::string& url = urls_[static_cast<size_t>(i) % urls_.size()];
      std::string key = "bg-" + std::to_string(i % 200);
      auto r = clients_->ClientFor(url)->Get(Context::Background().WithTimeout(5s), "g", key);
      if (r.ok() && r->view() == Synthetic(key, 64)) {
        ++ok_;
      } else {
        ++failed_;
        std::lock_guard lock(mu_);
        if (first_error_.empty()) {
          first_error_ = url;
          first_error_ += " " + key + ": ";
          first_error_ += r.ok() ? "wrong value" : r.status().ToString();
        }
      }
      std::this_thread::sleep_for(2ms);
    }
  }

  HttpClientPool* clients_;
  std::vector<std::string> urls_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::mutex mu_;
  std::string first_error_;
  std::thread thread_;
};

TEST_F(DiscoveryClusterTest, ThreeNodesFindEachOtherWithinTwoSeconds) {
  auto& a = StartNatsNode();
  auto& b = StartNatsNode();
  auto& c = StartNatsNode();
  auto took = Converge({&a, &b, &c}, 2s);
  ASSERT_TRUE(took) << Describe({&a, &b, &c});
  std::printf("3 nodes converged %lld ms after the last one was up\n",
              static_cast<long long>(took->count()));

  // The ring is in use: each key is loaded once cluster-wide, on its owner.
  for (int i = 0; i < 30; ++i) {
    std::string key = "k" + std::to_string(i);
    for (auto* n : {&a, &b, &c}) {
      auto r = clients_.ClientFor(n->url)->Get(Context::Background().WithTimeout(5s), "g", key);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->view(), Synthetic(key, 64));
    }
  }
  std::map<std::string, int> total;
  for (auto* n : {&a, &b, &c}) {
    for (auto& [key, count] : Loads(*n)) total[key] += count;
  }
  for (int i = 0; i < 30; ++i) EXPECT_EQ(total["k" + std::to_string(i)], 1);

  // groupcache_peers follows the ring.
  RawResponse metrics = HttpGet(a.port, "/metrics");
  EXPECT_NE(metrics.body.find("groupcache_peers 3\n"), std::string::npos) << metrics.body;
}

TEST_F(DiscoveryClusterTest, NodesJoinLeaveAndDieWhileReadsGoOn) {
  auto& a = StartNatsNode();
  auto& b = StartNatsNode();
  auto& c = StartNatsNode();
  ASSERT_TRUE(Converge({&a, &b, &c}, 2s)) << Describe({&a, &b, &c});
  BackgroundReads reads(&clients_, {a.url, b.url});

  // A fourth node joins.
  auto& d = StartNatsNode();
  auto joined = Converge({&a, &b, &c, &d}, 2s);
  ASSERT_TRUE(joined) << Describe({&a, &b, &c, &d});

  // It stops cleanly: it deregisters and every ring drops it.
  d.process->Kill(SIGTERM);
  EXPECT_EQ(d.process->Wait(10s), 0) << d.process->Log();
  auto left = Converge({&a, &b, &c}, 2s);
  ASSERT_TRUE(left) << Describe({&a, &b, &c});

  // A node killed outright says nothing: the others notice its silence.
  auto killed_at = Clock::now();
  c.process->Kill(SIGKILL);
  c.process->Wait(5s);
  auto gone = Converge({&a, &b}, 3s);
  ASSERT_TRUE(gone) << Describe({&a, &b});
  auto dead_for = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed_at);
  EXPECT_LE(dead_for, 2000ms);
  std::printf("join %lld ms, clean leave %lld ms, SIGKILL noticed after %lld ms\n",
              static_cast<long long>(joined->count()), static_cast<long long>(left->count()),
              static_cast<long long>(dead_for.count()));

  reads.Stop();
  EXPECT_GT(reads.ok(), 50);
  EXPECT_EQ(reads.failed(), 0) << reads.first_error();
}

TEST_F(DiscoveryClusterTest, MembershipRecoversWhenNatsRestarts) {
  auto& a = StartNatsNode();
  auto& b = StartNatsNode();
  auto& c = StartNatsNode();
  ASSERT_TRUE(Converge({&a, &b, &c}, 2s)) << Describe({&a, &b, &c});
  BackgroundReads reads(&clients_, {a.url, b.url, c.url});

  nats_.Kill();
  // While NATS is away nobody is dropped: the peers themselves are fine.
  std::this_thread::sleep_for(2500ms);
  EXPECT_TRUE(Converge({&a, &b, &c}, 100ms)) << Describe({&a, &b, &c});

  ASSERT_TRUE(nats_.Start()) << nats_.Log();
  // After the restart the nodes reconnect and announce themselves; a node
  // that joins now is learned by all, which needs working subscriptions.
  auto& d = StartNatsNode();
  auto took = Converge({&a, &b, &c, &d}, 5s);
  ASSERT_TRUE(took) << Describe({&a, &b, &c, &d});
  std::printf("full membership %lld ms after the new node was up\n",
              static_cast<long long>(took->count()));

  reads.Stop();
  EXPECT_GT(reads.ok(), 50);
  EXPECT_EQ(reads.failed(), 0) << reads.first_error();
}

TEST(DiscoveryStaticTest, StaticListFormsTheRing) {
  std::vector<ClusterNode> nodes = PlanNodes(3);
  std::string list;
  for (auto& n : nodes) list += (list.empty() ? "" : ",") + ("127.0.0.1:" + std::to_string(n.port));
  for (auto& n : nodes) {
    n.process = std::make_unique<ChildProcess>(
        std::vector<std::string>{GROUPCACHE_GROUPCACHED, "--discovery", "static", "--node-ip",
                                 "127.0.0.1", "--group-port", std::to_string(n.port), "--peers",
                                 list, "--group", "g", "--loader", "synthetic:8", "--log-level",
                                 "warn"},
        ::testing::TempDir() + "snode-" + std::to_string(n.port) + ".log");
    ASSERT_TRUE(n.process->WaitForPort(n.port)) << n.process->Log();
  }
  std::set<std::string> want;
  for (auto& n : nodes) want.insert(n.url);
  for (auto& n : nodes) EXPECT_EQ(PeersOf(n.port), want);
}

// NODE_IP, NODE_NAME and GROUP_PORT are set in every pod; a flag given on
// the command line wins over them, as every flag wins over its variable.
TEST(DiscoveryStaticTest, FlagsWinOverTheNodeEnvironment) {
  std::vector<ClusterNode> nodes = PlanNodes(2);  // the second port only for GROUP_PORT
  ClusterNode& n = nodes[0];
  const std::string self = "127.0.0.1:" + std::to_string(n.port);
  n.process = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/env",
                               "NODE_IP=127.0.0.2",
                               "NODE_NAME=from-env",
                               "GROUP_PORT=" + std::to_string(nodes[1].port),
                               GROUPCACHE_GROUPCACHED,
                               "--discovery",
                               "static",
                               "--node-ip",
                               "127.0.0.1",
                               "--node-name",
                               "from-flag",
                               "--group-port",
                               std::to_string(n.port),
                               "--peers",
                               self,
                               "--group",
                               "g",
                               "--loader",
                               "synthetic:8",
                               "--log-level",
                               "info"},
      ::testing::TempDir() + "fnode-" + std::to_string(n.port) + ".log");
  ASSERT_TRUE(n.process->WaitForPort(n.port)) << n.process->Log();
  EXPECT_EQ(PeersOf(n.port), std::set<std::string>{"http://" + self}) << n.process->Log();
  EXPECT_NE(n.process->Log().find("name=from-flag"), std::string::npos) << n.process->Log();
}

// A bad setting is an error message and a non-zero exit, promptly.
struct BadConfig {
  const char* name;
  std::vector<std::string> args;
  const char* message;
  friend void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.name; }
};

class DiscoveryBadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(DiscoveryBadConfigTest, ExitsNonZeroWithAClearMessage) {
  const BadConfig& bad = GetParam();
  int port = FreePort();
  std::vector<std::string> argv = {"/usr/bin/env", "-u",        "GROUP_PORT",
                                   "-u",           "NODE_NAME", "NODE_IP=127.0.0.1"};
  for (const auto& a : bad.args) {
    argv.push_back(a == "GROUP_PORT=PORT" ? "GROUP_PORT=" + std::to_string(port) : a);
  }
  ChildProcess p(argv, ::testing::TempDir() + "bad-" + std::to_string(port) + ".log");
  auto start = Clock::now();
  int status = p.Wait(10s);
  std::string log = p.Log();
  EXPECT_NE(status, 0) << log;
  EXPECT_NE(status, -1) << "still running after 10 s: " << log;
  EXPECT_LT(Clock::now() - start, 5s);
  EXPECT_NE(log.find(bad.message), std::string::npos) << log;
}

const std::string kDaemon = GROUPCACHE_GROUPCACHED;
INSTANTIATE_TEST_SUITE_P(
    Cases, DiscoveryBadConfigTest,
    ::testing::Values(
        BadConfig{"MissingSubject",
                  {"GROUP_PORT=PORT", kDaemon, "--discovery", "nats", "--nats-server",
                   "nats://127.0.0.1:4222", "--loader", "synthetic:8"},
                  "missing key \"nats-subject\""},
        BadConfig{"UnreachableServer",
                  // Port 1 on loopback: nothing listens there.
                  {"GROUP_PORT=PORT", kDaemon, "--discovery", "nats", "--nats-server",
                   "nats://127.0.0.1:1", "--nats-subject", "s", "--loader", "synthetic:8"},
                  "cannot connect to NATS server"},
        BadConfig{"PortOutOfRange",
                  {"GROUP_PORT=70000", kDaemon, "--discovery", "static", "--loader", "synthetic:8"},
                  "GROUP_PORT"},
        BadConfig{"PortMissing",
                  {kDaemon, "--discovery", "static", "--loader", "synthetic:8"},
                  "GROUP_PORT"},
        BadConfig{"BadPeerAddress",
                  {"GROUP_PORT=PORT", kDaemon, "--discovery", "static", "--peers",
                   "127.0.0.1:notaport", "--loader", "synthetic:8"},
                  "bad node address"}),
    [](const ::testing::TestParamInfo<BadConfig>& p) { return p.param.name; });

}  // namespace
}  // namespace groupcache::testing
