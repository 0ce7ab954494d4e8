// Three nodes in this process, each with its own Registry and HttpPool,
// talking real HTTP over loopback: Set and Remove across the cluster.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "../common/loopback.h"
#include "groupcache/http_pool.h"
#include "groupcache/registry.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

struct InProcessNode {
  std::unique_ptr<Registry> registry;
  std::unique_ptr<HttpPool> pool;
  std::shared_ptr<Group> group;
  std::atomic<int> loads{0};
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      auto node = std::make_unique<InProcessNode>();
      node->registry = std::make_unique<Registry>(RegistryOptions{NewNullLogger()});
      InProcessNode* raw = node.get();
      node->group = *node->registry->NewGroup("g", 1 << 20,
                                              [raw](const Context&, std::string_view key, Sink& d) {
                                                ++raw->loads;
                                                return d.SetString("loaded:" + std::string(key));
                                              });
      auto pool = HttpPool::Start(node->registry.get(), "http://127.0.0.1:0", "127.0.0.1:0", {});
      ASSERT_TRUE(pool.ok()) << pool.status().ToString();
      node->pool = std::move(*pool);
      nodes_.push_back(std::move(node));
    }
    // Ports are known only now; rebuild each pool's identity on the ring.
    std::vector<std::string> urls;
    for (auto& n : nodes_) urls.push_back("http://127.0.0.1:" + std::to_string(n->pool->port()));
    for (size_t i = 0; i < nodes_.size(); ++i) {
      auto& n = nodes_[i];
      n->pool.reset();
      auto pool = HttpPool::Start(n->registry.get(), urls[i],
                                  "127.0.0.1:" + urls[i].substr(urls[i].rfind(':') + 1), {});
      ASSERT_TRUE(pool.ok()) << pool.status().ToString();
      n->pool = std::move(*pool);
      n->pool->SetPeers(urls);
      n->registry->SetPeerPicker(std::shared_ptr<PeerPicker>(n->pool.get(), [](PeerPicker*) {}));
    }
    urls_ = urls;
  }

  void TearDown() override {
    for (auto& n : nodes_) n->registry->SetPeerPicker(nullptr);
  }

  // The index of the node owning `key`, and a key owned by node `owner`.
  size_t OwnerOf(const std::string& key) {
    std::string url = nodes_[0]->pool->Owner(key);
    for (size_t i = 0; i < urls_.size(); ++i) {
      if (urls_[i] == url) return i;
    }
    return 99;
  }
  std::string KeyOwnedBy(size_t owner, const std::string& prefix) {
    for (int i = 0;; ++i) {
      std::string k = prefix + std::to_string(i);
      if (OwnerOf(k) == owner) return k;
    }
  }

  std::vector<std::unique_ptr<InProcessNode>> nodes_;
  std::vector<std::string> urls_;
};

TEST_F(TransportTest, SetToRemoteOwnerIsVisibleEverywhere) {
  std::string key = KeyOwnedBy(1, "set-");
  auto ctx = Context::Background().WithTimeout(5s);
  ASSERT_TRUE(nodes_[0]->group->Set(ctx, key, "written", kNoExpiry, true).ok());
  for (auto& n : nodes_) {
    auto r = n->group->Get(ctx, key);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, "written");
  }
  int loads = 0;
  for (auto& n : nodes_) loads += n->loads;
  EXPECT_EQ(loads, 0);
  EXPECT_EQ(nodes_[1]->group->GetCacheStats(CacheType::kMain).items, 1);
}

TEST_F(TransportTest, RemoveClearsMainAndHotCachesEverywhere) {
  std::string key = KeyOwnedBy(2, "rm-");
  auto ctx = Context::Background().WithTimeout(5s);
  for (auto& n : nodes_) ASSERT_TRUE(n->group->Get(ctx, key).ok());
  EXPECT_EQ(nodes_[0]->group->GetCacheStats(CacheType::kHot).items, 1);
  EXPECT_EQ(nodes_[1]->group->GetCacheStats(CacheType::kHot).items, 1);
  EXPECT_EQ(nodes_[2]->group->GetCacheStats(CacheType::kMain).items, 1);
  ASSERT_TRUE(nodes_[1]->group->Remove(ctx, key).ok());
  for (auto& n : nodes_) {
    EXPECT_EQ(n->group->GetCacheStats(CacheType::kHot).items, 0);
    EXPECT_EQ(n->group->GetCacheStats(CacheType::kMain).items, 0);
  }
  ASSERT_TRUE(nodes_[0]->group->Get(ctx, key).ok());
  EXPECT_EQ(nodes_[2]->loads.load(), 2);  // loaded again on its owner
}

TEST_F(TransportTest, ExpiryTravelsWithTheValue) {
  std::string key = KeyOwnedBy(1, "exp-");
  auto ctx = Context::Background().WithTimeout(5s);
  Time when = WallClock::now() + 1h;
  ASSERT_TRUE(nodes_[0]->group->Set(ctx, key, "v", when).ok());
  std::string out;
  Time got;
  StringSink sink(&out, &got);
  ASSERT_TRUE(nodes_[2]->group->Get(ctx, key, sink).ok());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(got - when).count(), 0);
}

TEST(TransportClientTest, HonoursDeadlineAndCancellation) {
  testing::SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(silent.port());

  HttpClientPool clients;
  auto start = Clock::now();
  auto r = clients.ClientFor(url)->Get(Context::Background().WithTimeout(300ms), "g", "k");
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, 3s);

  CancelSource cancel;
  Result<ByteView> c = InternalError("not run");
  std::thread reader([&] { c = clients.ClientFor(url)->Get(cancel.context(), "g", "k"); });
  cancel.Cancel();
  reader.join();
  EXPECT_EQ(c.status().code(), StatusCode::kCancelled) << c.status().ToString();

  auto refused =
      clients.ClientFor("http://127.0.0.1:1")->Get(Context::Background().WithTimeout(2s), "g", "k");
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace groupcache
