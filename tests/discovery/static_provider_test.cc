#include "groupcache/discovery/static_provider.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace groupcache::discovery {
namespace {

Config PeersConfig(std::string peers) {
  Config c;
  c.SetString(std::string(StaticProvider::kPeers), std::move(peers));
  return c;
}

TEST(StaticProviderTest, LifecycleAndDiscovery) {
  StaticProvider p;
  EXPECT_EQ(p.id(), "static");
  Config c = PeersConfig("10.0.0.1:8080, http://10.0.0.2:8080/, 10.0.0.3:8080, 10.0.0.1:8080");
  SetSelf(c, Node{"me", "10.0.0.3", 8080});
  ASSERT_TRUE(p.SetConfig(c).ok());
  ASSERT_TRUE(p.Initialize().ok());
  ASSERT_TRUE(p.Register().ok());
  Result<std::vector<Node>> nodes = p.DiscoverNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  // Self dropped, duplicates dropped, order kept, names are addresses.
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0], (Node{"10.0.0.1:8080", "10.0.0.1", 8080}));
  EXPECT_EQ((*nodes)[1].PeerUrl(), "http://10.0.0.2:8080");
  ASSERT_TRUE(p.Deregister().ok());
  ASSERT_TRUE(p.Register().ok());
  EXPECT_TRUE(p.Close().ok());
  EXPECT_TRUE(p.Close().ok());       // idempotent
  EXPECT_TRUE(p.Deregister().ok());  // nothing left to withdraw
}

TEST(StaticProviderTest, CallsOutOfOrderAreFailedPrecondition) {
  StaticProvider p;
  Status s = p.Initialize();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "static discovery: Initialize is not valid when new (call SetConfig first)");
  EXPECT_EQ(p.Register().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.Deregister().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.DiscoverNodes().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.Watch([](const Event&) {}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(p.SetConfig(PeersConfig("")).ok());
  ASSERT_TRUE(p.SetConfig(PeersConfig("a:1")).ok());  // replaces
  EXPECT_EQ(p.Register().message(),
            "static discovery: Register is not valid when configured (call Initialize first)");
  ASSERT_TRUE(p.Initialize().ok());
  EXPECT_EQ(p.SetConfig(PeersConfig("a:1")).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.Initialize().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.DiscoverNodes().status().message(),
            "static discovery: DiscoverNodes is not valid when initialized (call Register first)");
  EXPECT_TRUE(p.Deregister().ok());  // initialized: nothing to withdraw
  ASSERT_TRUE(p.Register().ok());
  EXPECT_EQ(p.Register().message(),
            "static discovery: Register is not valid when registered (already registered)");
  ASSERT_TRUE(p.Close().ok());
  EXPECT_EQ(p.DiscoverNodes().status().message(),
            "static discovery: DiscoverNodes is not valid when closed (the provider is closed)");
  EXPECT_EQ(p.Register().code(), StatusCode::kFailedPrecondition);
}

TEST(StaticProviderTest, BadConfigNamesTheKey) {
  StaticProvider p;
  EXPECT_EQ(p.SetConfig(Config()).message(), "discovery config: missing key \"peers\"");
  Status s = p.SetConfig(PeersConfig("10.0.0.1:8080,10.0.0.2"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "discovery config: key \"peers\": bad node address \"10.0.0.2\": no port (want "
            "host:port or http://host:port)");
  Config c = PeersConfig("a:1");
  c.SetString(std::string(kSelfHost), "a");  // self-port missing
  EXPECT_EQ(p.SetConfig(c).message(), "discovery config: missing key \"self-port\"");
  Config wrong;
  wrong.SetBool(std::string(StaticProvider::kPeers), true);
  EXPECT_EQ(p.SetConfig(wrong).message(),
            "discovery config: key \"peers\" is a bool, want string list");
}

TEST(StaticProviderTest, WatchReportsTheListOnItsOwnThread) {
  StaticProvider p;
  Config c;
  c.SetStringList(std::string(StaticProvider::kPeers), {"a:1", "b:2"});
  ASSERT_TRUE(p.SetConfig(c).ok());
  ASSERT_TRUE(p.Initialize().ok());
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Event> events;
  std::thread::id callback_thread;
  ASSERT_TRUE(p.Watch([&](const Event& e) {
                 std::lock_guard<std::mutex> lock(mu);
                 events.push_back(e);
                 callback_thread = std::this_thread::get_id();
                 cv.notify_all();
               }).ok());
  EXPECT_EQ(p.Watch([](const Event&) {}).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.Watch(nullptr).code(), StatusCode::kInvalidArgument);
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return events.size() == 2; }));
    EXPECT_EQ(events[0].kind, Event::Kind::kAdded);
    EXPECT_EQ(events[0].node.Address(), "a:1");
    EXPECT_EQ(events[1].node.Address(), "b:2");
    EXPECT_NE(callback_thread, std::this_thread::get_id());
  }
  EXPECT_TRUE(p.Close().ok());
}

TEST(StaticProviderTest, CloseFromTheCallbackIsRefused) {
  auto p = std::make_unique<StaticProvider>();
  ASSERT_TRUE(p->SetConfig(PeersConfig("a:1")).ok());
  ASSERT_TRUE(p->Initialize().ok());
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status from_callback;
  ASSERT_TRUE(p->Watch([&](const Event&) {
                 Status s = p->Close();
                 std::lock_guard<std::mutex> lock(mu);
                 from_callback = s;
                 done = true;
                 cv.notify_all();
               }).ok());
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; }));
  EXPECT_EQ(from_callback.code(), StatusCode::kFailedPrecondition);
  lock.unlock();
  EXPECT_TRUE(p->Close().ok());
}

TEST(ServiceDiscoveryTest, PairsProviderAndConfig) {
  ServiceDiscovery sd(std::make_unique<StaticProvider>(), PeersConfig("10.0.0.1:1,10.0.0.2:2"));
  sd.SetSelf(Node{"n2", "10.0.0.2", 2});
  Provider& p = sd.provider();
  EXPECT_EQ(p.id(), "static");
  EXPECT_EQ(*GetSelf(sd.config()), (Node{"n2", "10.0.0.2", 2}));
  ASSERT_TRUE(p.SetConfig(sd.config()).ok());
  ASSERT_TRUE(p.Initialize().ok());
  ASSERT_TRUE(p.Register().ok());
  auto nodes = p.DiscoverNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->front().PeerUrl(), "http://10.0.0.1:1");
}

}  // namespace
}  // namespace groupcache::discovery
