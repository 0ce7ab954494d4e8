// Node: identity from the environment, start and stop with the static
// provider, in one process over real loopback HTTP.

#include "groupcache/node.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../common/loopback.h"
#include "groupcache/discovery/static_provider.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

// Sets (or, with nullptr, unsets) an environment variable for one scope.
// The tests using it run no other threads meanwhile.
// NOLINTBEGIN(concurrency-mt-unsafe)
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};
// NOLINTEND(concurrency-mt-unsafe)

TEST(NodeOptionsFromEnvTest, ReadsTheThreeVariables) {
  ScopedEnv ip("NODE_IP", "10.1.2.3");
  ScopedEnv name("NODE_NAME", "cache-0");
  ScopedEnv port("GROUP_PORT", "8080");
  auto options = NodeOptionsFromEnv();
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_EQ(options->host, "10.1.2.3");
  EXPECT_EQ(options->name, "cache-0");
  EXPECT_EQ(options->port, 8080);
}

TEST(NodeOptionsFromEnvTest, NameDefaultsToTheHostAndHostToTheHostName) {
  ScopedEnv ip("NODE_IP", nullptr);
  ScopedEnv name("NODE_NAME", nullptr);
  ScopedEnv port("GROUP_PORT", "9000");
  auto options = NodeOptionsFromEnv();
  ASSERT_TRUE(options.ok()) << options.status().ToString();
  EXPECT_FALSE(options->host.empty());
  EXPECT_EQ(options->name, options->host);
}

TEST(NodeOptionsFromEnvTest, BadOrMissingPortIsNamed) {
  ScopedEnv ip("NODE_IP", "127.0.0.1");
  for (const char* bad : {"0", "65536", "80x", "-1", "http"}) {
    ScopedEnv port("GROUP_PORT", bad);
    auto options = NodeOptionsFromEnv();
    ASSERT_FALSE(options.ok()) << bad;
    EXPECT_EQ(options.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(options.status().message().find("GROUP_PORT"), std::string::npos);
  }
  ScopedEnv port("GROUP_PORT", nullptr);
  auto options = NodeOptionsFromEnv();
  ASSERT_FALSE(options.ok());
  EXPECT_NE(options.status().message().find("GROUP_PORT is not set"), std::string::npos);
}

TEST(NodeOptionsFromEnvTest, TheEnvironmentOverridesTheBase) {
  ScopedEnv ip("NODE_IP", nullptr);
  ScopedEnv name("NODE_NAME", nullptr);
  ScopedEnv port("GROUP_PORT", "7000");
  NodeOptions base;
  base.host = "192.168.0.9";
  base.port = 1234;
  auto options = NodeOptionsFromEnv(base);
  ASSERT_TRUE(options.ok());
  EXPECT_EQ(options->host, "192.168.0.9");
  EXPECT_EQ(options->port, 7000);
  EXPECT_EQ(options->name, "192.168.0.9");
}

std::unique_ptr<discovery::ServiceDiscovery> Static(const std::string& peers) {
  discovery::Config config;
  config.SetString("peers", peers);
  return std::make_unique<discovery::ServiceDiscovery>(
      std::make_unique<discovery::StaticProvider>(), config);
}

NodeOptions Options(int port) {
  NodeOptions options;
  options.host = "127.0.0.1";
  options.port = port;
  options.logger = NewNullLogger();
  options.shutdown_timeout = 1s;
  return options;
}

TEST(NodeTest, TwoNodesShareOneRingAndServeEachOther) {
  int p1 = testing::FreeLoopbackPort();
  int p2 = testing::FreeLoopbackPort();
  std::string peers = "127.0.0.1:" + std::to_string(p1) + ",127.0.0.1:" + std::to_string(p2);
  auto n1 = Node::Start(Options(p1), Static(peers));
  ASSERT_TRUE(n1.ok()) << n1.status().ToString();
  auto n2 = Node::Start(Options(p2), Static(peers));
  ASSERT_TRUE(n2.ok()) << n2.status().ToString();
  std::vector<std::string> want = {"http://127.0.0.1:" + std::to_string(p1),
                                   "http://127.0.0.1:" + std::to_string(p2)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ((*n1)->Peers(), want);
  EXPECT_EQ((*n2)->Peers(), want);
  EXPECT_EQ((*n1)->url(), "http://127.0.0.1:" + std::to_string(p1));

  // A group on each; every key is loaded once, by its owner.
  std::atomic<int> loads1{0};
  std::atomic<int> loads2{0};
  auto getter = [](std::atomic<int>* loads) {
    return [loads](const Context&, std::string_view key, Sink& sink) {
      ++*loads;
      return sink.SetString("v:" + std::string(key));
    };
  };
  auto g1 = (*n1)->registry().NewGroup("g", 1 << 20, getter(&loads1));
  auto g2 = (*n2)->registry().NewGroup("g", 1 << 20, getter(&loads2));
  ASSERT_TRUE(g1.ok() && g2.ok());
  // Ten keys owned by each node (with two peers a short run of keys may
  // well all land on one of them).
  std::vector<std::string> keys;
  std::array<int, 2> owned = {0, 0};
  for (int i = 0; owned[0] < 10 || owned[1] < 10; ++i) {
    std::string key = "key-" + std::to_string(i);
    size_t owner = (*n1)->pool().Owner(key) == (*n1)->url() ? 0 : 1;
    if (owned[owner] < 10) {
      ++owned[owner];
      keys.push_back(key);
    }
  }
  for (const auto& key : keys) {
    for (auto* g : {&*g1, &*g2}) {
      std::string value;
      StringSink sink(&value);
      Status s = (*g)->Get(Context::Background().WithTimeout(5s), key, sink);
      ASSERT_TRUE(s.ok()) << s.ToString();
      EXPECT_EQ(value, "v:" + key);
    }
  }
  EXPECT_EQ(loads1.load() + loads2.load(), 20);
  EXPECT_EQ(loads1.load(), 10);
  EXPECT_EQ(loads2.load(), 10);

  EXPECT_TRUE((*n1)->Stop().ok());
  EXPECT_TRUE((*n1)->Stop().ok());  // idempotent
}

TEST(NodeTest, ABadSettingIsNamedAndNothingStaysBound) {
  int port = testing::FreeLoopbackPort();
  auto bad = Node::Start(Options(port), Static("127.0.0.1:notaport"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("static discovery: SetConfig"), std::string::npos)
      << bad.status().ToString();
  // The port is free again: a node can start on it.
  auto good = Node::Start(Options(port), Static(""));
  ASSERT_TRUE(good.ok()) << good.status().ToString();

  auto no_port = Node::Start(Options(0), Static(""));
  ASSERT_FALSE(no_port.ok());
  EXPECT_NE(no_port.status().message().find("GROUP_PORT"), std::string::npos);
  auto no_discovery = Node::Start(Options(testing::FreeLoopbackPort()), nullptr);
  EXPECT_FALSE(no_discovery.ok());
}

// A provider whose membership the test scripts. Node B leaves right after
// DiscoverNodes has taken its answer (which still names B), and the removal
// is delivered before that answer comes back; Watch reports the nodes known
// at its call. Events run on a thread of their own, as a provider's do.
class ScriptedProvider final : public discovery::Provider {
 public:
  std::string_view id() const override { return "scripted"; }
  Status SetConfig(const discovery::Config&) override { return Status::Ok(); }
  Status Initialize() override { return Status::Ok(); }
  Status Register() override { return Status::Ok(); }
  Status Deregister() override { return Status::Ok(); }
  Result<std::vector<discovery::Node>> DiscoverNodes() override {
    std::vector<discovery::Node> answer = known_;
    known_.pop_back();  // B leaves
    if (callback_) Deliver({discovery::Event::Kind::kRemoved, b_, {}});
    return answer;
  }
  Status Watch(discovery::WatchCallback callback) override {
    callback_ = std::move(callback);
    for (const auto& node : known_) Deliver({discovery::Event::Kind::kAdded, node, {}});
    return Status::Ok();
  }
  Status Close() override { return Status::Ok(); }

  const discovery::Node a_{"a", "127.0.0.1", 1};
  const discovery::Node b_{"b", "127.0.0.1", 2};

 private:
  void Deliver(const discovery::Event& event) {
    std::thread([&] { callback_(event); }).join();
  }
  std::vector<discovery::Node> known_{a_, b_};
  discovery::WatchCallback callback_;
};

// A node that leaves while another starts is not kept on its ring: Start
// watches before it asks who is there, and does not put back from that
// answer a node an event has removed meanwhile.
TEST(NodeTest, ANodeThatLeavesWhileAnotherStartsIsNotKeptOnItsRing) {
  int port = testing::FreeLoopbackPort();
  auto node =
      Node::Start(Options(port), std::make_unique<discovery::ServiceDiscovery>(
                                     std::make_unique<ScriptedProvider>(), discovery::Config{}));
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  std::vector<std::string> want = {"http://127.0.0.1:1",
                                   "http://127.0.0.1:" + std::to_string(port)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ((*node)->Peers(), want);
}

}  // namespace
}  // namespace groupcache
