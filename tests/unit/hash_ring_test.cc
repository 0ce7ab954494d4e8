#include "groupcache/hash_ring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "groupcache/ring_peer_picker.h"

namespace groupcache {
namespace {

nlohmann::json LoadVectors() {
  std::ifstream in(std::string(GROUPCACHE_TEST_DATA_DIR) + "/ring_vectors.json");
  EXPECT_TRUE(in.good()) << "missing tests/data/ring_vectors.json";
  return nlohmann::json::parse(in);
}

TEST(HashRingTest, Fnv1SamplesMatchGo) {
  nlohmann::json v = LoadVectors();
  int checked = 0;
  for (auto& [input, expected] : v["fnv1_64_samples"].items()) {
    EXPECT_EQ(HashRing::Fnv1_64(input), std::stoull(expected.get<std::string>())) << input;
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST(HashRingTest, EveryVectorPlacesKeysWhereGoDoes) {
  nlohmann::json v = LoadVectors();
  int cases = 0;
  int keys = 0;
  for (const auto& c : v["cases"]) {
    RingOptions opts;
    std::string algo = c["algorithm"];
    opts.algorithm = algo == "golang-crc32" ? RingAlgorithm::kGolang : RingAlgorithm::kMailgun;
    ASSERT_TRUE(algo == "golang-crc32" || algo == "mailgun-fnv1-64-md5") << algo;
    opts.replicas = c["replicas"];
    HashRing ring(opts, c["peers"].get<std::vector<std::string>>());
    for (auto& [key, owner] : c["owners"].items()) {
      ASSERT_EQ(ring.Get(key), owner.get<std::string>())
          << algo << " replicas=" << opts.replicas << " key=" << key;
      ++keys;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 12);
  EXPECT_GT(keys, 2000);
}

TEST(HashRingTest, EmptyRingOwnsNothing) {
  HashRing ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.Get("k"), "");
}

TEST(HashRingTest, CustomHashAndCollisionsPickLaterPeer) {
  // A hash that sends everything to one point: every replica of every peer
  // collides, and Go's map keeps the peer added last.
  RingOptions opts;
  opts.hash = [](std::string_view) -> uint64_t { return 42; };
  opts.replicas = 3;
  HashRing ring(opts, {"http://a", "http://b", "http://c"});
  EXPECT_EQ(ring.Get("anything"), "http://c");
  opts.algorithm = RingAlgorithm::kGolang;
  HashRing golang(opts, {"http://a", "http://b"});
  EXPECT_EQ(golang.Get("x"), "http://b");
}

TEST(HashRingTest, KeysSpreadOverPeers) {
  // FNV-1 over similar strings spreads unevenly (a property of the Go ring
  // we must reproduce: FNV-1 xors the last byte in last, so keys that differ
  // only at the end land close together), but varied keys spread fairly.
  for (auto algo : {RingAlgorithm::kMailgun, RingAlgorithm::kGolang}) {
    HashRing ring({.algorithm = algo, .replicas = 50, .hash = nullptr},
                  {"http://127.0.0.1:8080", "http://127.0.0.1:8081", "http://127.0.0.1:8082"});
    std::map<std::string, int> counts;
    for (int i = 0; i < 3000; ++i)
      ++counts[std::string(ring.Get("key-" + std::to_string(i * 7919)))];
    ASSERT_EQ(counts.size(), 3U);
    for (auto& [peer, n] : counts) EXPECT_GT(n, 450) << peer;
  }
}

// Sequential keys (what applications name their keys) over three loopback
// peers: the Go-compatible ring piles them onto one or two peers, the
// balanced one shares them out.
TEST(HashRingTest, BalancedSpreadsSequentialKeysThatTheMailgunRingPilesUp) {
  const std::vector<std::string> peers = {"http://127.0.0.1:55135", "http://127.0.0.1:53795",
                                          "http://127.0.0.1:57191"};
  auto shares = [&](RingAlgorithm algo, int keys) {
    // The algorithm's own number of points per peer (50 for Go's rings).
    HashRing ring({.algorithm = algo, .replicas = 0, .hash = nullptr}, peers);
    std::map<std::string, int> counts;
    for (const std::string& p : peers) counts[p] = 0;
    for (int i = 0; i < keys; ++i) ++counts[std::string(ring.Get("key-" + std::to_string(i)))];
    std::vector<int> out;
    for (auto& [peer, n] : counts) out.push_back(n);
    std::sort(out.begin(), out.end());
    return out;
  };
  // The demo's key space: one peer owns none of it under the mailgun ring.
  EXPECT_EQ(shares(RingAlgorithm::kMailgun, 2000).front(), 0);
  for (int keys : {2000, 20000, 200000}) {
    std::vector<int> balanced = shares(RingAlgorithm::kBalanced, keys);
    // A third each is keys/3: every peer within 10% of it.
    EXPECT_GT(balanced.front(), keys * 3 / 10) << keys;
    EXPECT_LT(balanced.back(), keys * 11 / 30) << keys;
  }
}

TEST(HashRingTest, BalancedIsTheMailgunRingFinalized) {
  // The same points as kMailgun, each through fmix64: a key whose FNV-1
  // point is p sits at Fmix64(p). The value for 1 was computed apart, in
  // Python, from MurmurHash3's fmix64.
  EXPECT_EQ(HashRing::Fmix64(0), 0U);
  EXPECT_EQ(HashRing::Fmix64(1), 0xb456bcfc34c2cb2cULL);
  RingOptions opts{.algorithm = RingAlgorithm::kBalanced, .replicas = 3, .hash = nullptr};
  // With a custom hash the finalizer still applies: all points collide at
  // Fmix64(42), and the peer added last owns everything.
  opts.hash = [](std::string_view) -> uint64_t { return 42; };
  HashRing ring(opts, {"http://a", "http://b"});
  EXPECT_EQ(ring.Get("x"), "http://b");
  // Placement differs from kMailgun's for the same peers.
  HashRing balanced({.algorithm = RingAlgorithm::kBalanced, .replicas = 50, .hash = nullptr},
                    {"http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.3:8080"});
  HashRing mailgun({.algorithm = RingAlgorithm::kMailgun, .replicas = 50, .hash = nullptr},
                   {"http://10.0.0.1:8080", "http://10.0.0.2:8080", "http://10.0.0.3:8080"});
  int differ = 0;
  for (int i = 0; i < 300; ++i) {
    std::string key = "k" + std::to_string(i * 104729);
    differ += balanced.Get(key) != mailgun.Get(key);
  }
  EXPECT_GT(differ, 100);
}

TEST(HashRingTest, ParseAlgorithm) {
  RingAlgorithm a;
  EXPECT_TRUE(ParseRingAlgorithm("golang", &a));
  EXPECT_EQ(a, RingAlgorithm::kGolang);
  EXPECT_TRUE(ParseRingAlgorithm("mailgun", &a));
  EXPECT_EQ(a, RingAlgorithm::kMailgun);
  EXPECT_TRUE(ParseRingAlgorithm("balanced", &a));
  EXPECT_EQ(a, RingAlgorithm::kBalanced);
  EXPECT_FALSE(ParseRingAlgorithm("fnv", &a));
  for (RingAlgorithm r :
       {RingAlgorithm::kMailgun, RingAlgorithm::kGolang, RingAlgorithm::kBalanced}) {
    ASSERT_TRUE(ParseRingAlgorithm(RingAlgorithmName(r), &a));
    EXPECT_EQ(a, r);
  }
}

class NamedClient : public PeerClient {
 public:
  explicit NamedClient(std::string url) : url_(std::move(url)) {}
  Result<ByteView> Get(const Context&, std::string_view, std::string_view) override {
    return UnavailableError("unused");
  }
  Status Set(const Context&, std::string_view, std::string_view, const ByteView&) override {
    return {};
  }
  Status Remove(const Context&, std::string_view, std::string_view) override { return {}; }
  const std::string& url() const override { return url_; }

 private:
  std::string url_;
};

TEST(RingPeerPickerTest, PicksOwnersAndNeverSelf) {
  int made = 0;
  RingPeerPicker picker("http://127.0.0.1:8080", {}, [&](const std::string& url) {
    ++made;
    return std::make_shared<NamedClient>(url);
  });
  EXPECT_EQ(picker.PickPeer("k"), nullptr);  // no peers yet
  std::vector<std::string> peers = {"http://127.0.0.1:8080", "http://127.0.0.1:8081",
                                    "http://127.0.0.1:8082"};
  picker.SetPeers(peers);
  EXPECT_EQ(made, 2);
  HashRing ring({}, peers);
  for (int i = 0; i < 200; ++i) {
    std::string key = "key-" + std::to_string(i);
    auto client = picker.PickPeer(key);
    std::string owner(ring.Get(key));
    EXPECT_EQ(picker.Owner(key), owner);
    if (owner == "http://127.0.0.1:8080") {
      EXPECT_EQ(client, nullptr);
    } else {
      ASSERT_NE(client, nullptr);
      EXPECT_EQ(client->url(), owner);
    }
  }
  EXPECT_EQ(picker.GetAll().size(), 2U);
}

TEST(RingPeerPickerTest, ReplacingPeersKeepsClientsOfPeersThatStay) {
  RingPeerPicker picker("http://s", {},
                        [](const std::string& url) { return std::make_shared<NamedClient>(url); });
  picker.SetPeers({"http://s", "http://a", "http://b"});
  auto all = picker.GetAll();
  std::shared_ptr<PeerClient> a;
  for (auto& c : all) {
    if (c->url() == "http://a") a = c;
  }
  picker.SetPeers({"http://a", "http://c"});  // self is added back
  EXPECT_EQ(picker.Peers(), (std::vector<std::string>{"http://a", "http://c", "http://s"}));
  bool same = false;
  for (auto& c : picker.GetAll()) same |= (c == a);
  EXPECT_TRUE(same);
  // The old client is still usable by whoever holds it.
  EXPECT_EQ(a->url(), "http://a");
}

}  // namespace
}  // namespace groupcache
