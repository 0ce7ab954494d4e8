// S3Fifo on its own (the policy's order), and the cache's lock-free hit
// path under S3-FIFO (statistics through the reader gate).

#include "s3fifo.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "cache.h"

namespace groupcache::internal {
namespace {

using namespace std::chrono_literals;

ByteView Value(size_t n) { return ByteView::Copy(std::string(n, 'v')); }

// Evicts until the store holds at most `bytes`, as the cache does.
void EvictTo(S3Fifo& s, int64_t bytes) {
  while (s.bytes() > bytes) ASSERT_TRUE(s.RemoveOldest(nullptr));
}

TEST(S3FifoTest, AddGetReplaceRemoveAndClear) {
  S3Fifo s;
  s.Add(HashedKey::Of("a"), ByteView::Copy("one"));
  s.Add(HashedKey::Of("bb"), ByteView::Copy("two"));
  ASSERT_NE(s.Get(HashedKey::Of("a")), nullptr);
  EXPECT_EQ(*s.Peek(HashedKey::Of("a")), "one");
  EXPECT_EQ(s.items(), 2U);
  EXPECT_EQ(s.bytes(), 1 + 3 + 2 + 3);
  s.Add(HashedKey::Of("a"), ByteView::Copy("eleven"));
  EXPECT_EQ(*s.Peek(HashedKey::Of("a")), "eleven");
  EXPECT_EQ(s.bytes(), 1 + 6 + 2 + 3);
  EXPECT_TRUE(s.Remove(HashedKey::Of("a")));
  EXPECT_FALSE(s.Remove(HashedKey::Of("a")));
  EXPECT_EQ(s.Peek(HashedKey::Of("a")), nullptr);
  EXPECT_EQ(s.bytes(), 2 + 3);
  for (int i = 0; i < 1000; ++i) s.Add(HashedKey::Of("k" + std::to_string(i)), Value(1));
  EXPECT_EQ(s.items(), 1001U);
  s.Clear();
  EXPECT_EQ(s.items(), 0U);
  EXPECT_EQ(s.bytes(), 0);
  EXPECT_FALSE(s.RemoveOldest(nullptr));
  EXPECT_EQ(s.Peek(HashedKey::Of("bb")), nullptr);
}

TEST(S3FifoTest, UnreadKeysLeaveInInsertionOrder) {
  S3Fifo s;
  for (int i = 0; i < 10; ++i) s.Add(HashedKey::Of("k" + std::to_string(i)), Value(9));
  bool expired = true;
  ASSERT_TRUE(s.RemoveOldest(&expired));
  EXPECT_FALSE(expired);
  EXPECT_EQ(s.Peek(HashedKey::Of("k0")), nullptr);
  EXPECT_NE(s.Peek(HashedKey::Of("k1")), nullptr);
}

TEST(S3FifoTest, AKeyReadOnProbationIsPromotedAndOutlivesAScan) {
  S3Fifo s;
  // 100 keys of 10 bytes, each read once: all promoted at their turn.
  for (int i = 0; i < 100; ++i)
    s.Add(HashedKey::Of("h" + std::to_string(i / 10) + std::to_string(i % 10)), Value(7));
  for (int i = 0; i < 100; ++i) {
    ASSERT_NE(s.Peek(HashedKey::Of("h" + std::to_string(i / 10) + std::to_string(i % 10))),
              nullptr);
  }
  // A scan of 10,000 one-time keys through a 1,000-byte budget.
  for (int i = 0; i < 10000; ++i) {
    s.Add(HashedKey::Of("s" + std::to_string(100000 + i)), Value(3));
    EvictTo(s, 1000);
  }
  int survivors = 0;
  for (int i = 0; i < 100; ++i) {
    survivors +=
        s.Peek(HashedKey::Of("h" + std::to_string(i / 10) + std::to_string(i % 10))) != nullptr;
  }
  // The main queue (900 bytes) keeps the read keys; under LRU none would
  // survive the scan.
  EXPECT_GE(survivors, 85);
}

TEST(S3FifoTest, AKeyInTheGhostListReturnsStraightToMain) {
  S3Fifo s;
  s.Add(HashedKey::Of("g"), Value(9));
  ASSERT_TRUE(s.RemoveOldest(nullptr));  // unread: out, remembered as a ghost
  s.Add(HashedKey::Of("g"), Value(9));   // back: into main
  // A scan of unread keys now leaves "g" alone: the small queue's share
  // is taken first.
  for (int i = 0; i < 50; ++i) {
    s.Add(HashedKey::Of("s" + std::to_string(i)), Value(9));
    EvictTo(s, 100);
  }
  EXPECT_NE(s.Peek(HashedKey::Of("g")), nullptr);
}

// A cyclic scan over more keys than fit: LRU (and FIFO) never hit; S3-FIFO
// remembers the keys it dropped, so they come back into main and a good
// share of the loop hits (the paper's loop result).
TEST(S3FifoTest, ALoopLongerThanTheCacheStillHits) {
  S3Fifo s;
  constexpr int kKeys = 1500;
  constexpr int64_t kBudget = int64_t{1000} * 10;  // 1,000 entries of 10 bytes
  int hits = 0;
  int reads = 0;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < kKeys; ++i) {
      const std::string name = "k" + std::to_string(10000 + i);  // 6 bytes
      const HashedKey k = HashedKey::Of(name);
      ++reads;
      if (s.Peek(k) != nullptr) {
        ++hits;
        continue;
      }
      s.Add(k, Value(4));
      EvictTo(s, kBudget);
    }
  }
  EXPECT_GT(hits, reads / 5) << hits << " of " << reads;
}

TEST(S3FifoTest, ExpiredEntriesAreMissesAndLeaveFirstAsExpired) {
  S3Fifo s;
  s.Add(HashedKey::Of("old"), ByteView::Copy("v", WallClock::now() - 1s));
  s.Add(HashedKey::Of("new"), ByteView::Copy("v", WallClock::now() + 1h));
  EXPECT_EQ(s.Peek(HashedKey::Of("old")), nullptr);
  EXPECT_NE(s.Peek(HashedKey::Of("new")), nullptr);
  bool expired = false;
  ASSERT_TRUE(s.RemoveOldest(&expired));
  EXPECT_TRUE(expired);
  EXPECT_EQ(s.items(), 1U);
}

TEST(S3FifoTest, EveryKeyStaysReachableAcrossRehashingAndEviction) {
  S3Fifo s;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5000; ++i) {
      const std::string k = "key-" + std::to_string(i);
      if (i % 3 == 0) (void)s.Peek(HashedKey::Of(k));
      s.Add(HashedKey::Of(k), ByteView::Copy(k));
      EvictTo(s, 40000);
    }
  }
  int64_t bytes = 0;
  size_t found = 0;
  for (int i = 0; i < 5000; ++i) {
    const std::string k = "key-" + std::to_string(i);
    if (const ByteView* v = s.Peek(HashedKey::Of(k))) {
      EXPECT_EQ(*v, k);
      bytes += static_cast<int64_t>(2 * k.size());
      ++found;
    }
  }
  EXPECT_EQ(found, s.items());
  EXPECT_EQ(bytes, s.bytes());
}

// Keys of every length that differ only in their first or last byte stay
// apart (the comparison takes two 8-byte loads for 8-16 bytes).
TEST(S3FifoTest, KeysOfEveryLengthDifferingInOneByteStayApart) {
  S3Fifo s;
  std::vector<std::string> keys;
  for (size_t n = 1; n <= 40; ++n) {
    std::string k(n, 'k');
    keys.push_back(k);
    k.front() = 'F';
    keys.push_back(k);
    k.front() = 'k';
    k.back() = 'L';
    keys.push_back(k);
  }
  keys.emplace_back();
  for (const std::string& k : keys) s.Add(HashedKey::Of(k), ByteView::Copy(k));
  EXPECT_EQ(s.items(), keys.size());
  for (const std::string& k : keys) {
    const ByteView* v = s.Peek(HashedKey::Of(k));
    ASSERT_NE(v, nullptr) << k;
    EXPECT_EQ(*v, k);
  }
}

// A key removed from the middle of its queue stays there as a tombstone
// (the queues are singly linked): the others keep their order, the counts
// drop at once, the key can come back, and the tombstones go in the end.
TEST(S3FifoTest, KeysRemovedFromTheMiddleLeaveTheOthersInOrder) {
  S3Fifo s;
  for (int i = 0; i < 10; ++i) s.Add(HashedKey::Of("k" + std::to_string(i)), Value(8));
  for (int i : {1, 2, 5, 9}) EXPECT_TRUE(s.Remove(HashedKey::Of("k" + std::to_string(i))));
  EXPECT_EQ(s.items(), 6U);
  EXPECT_EQ(s.bytes(), 6 * (2 + 8));
  s.Add(HashedKey::Of("k5"), Value(8));  // back, as the newest
  // Unread, they leave oldest first. Only the key expected to go is
  // looked up (a lookup of a present key would count as a read).
  for (const char* k : {"k0", "k3", "k4", "k6", "k7", "k8", "k5"}) {
    ASSERT_TRUE(s.RemoveOldest(nullptr));
    EXPECT_EQ(s.Peek(HashedKey::Of(k)), nullptr) << k;
  }
  EXPECT_EQ(s.items(), 0U);
  EXPECT_EQ(s.bytes(), 0);
  EXPECT_FALSE(s.RemoveOldest(nullptr));
}

// Removing almost everything, in an order unrelated to the queues', keeps
// the counts exact and every survivor reachable, through the passes that
// drop tombstones in bulk and through rehashing.
TEST(S3FifoTest, RemovesInterleavedWithAddsAndEvictionKeepEveryCountExact) {
  S3Fifo s;
  std::vector<bool> present(3000, false);
  auto key = [](int i) { return "r-" + std::to_string(i); };
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 3000; ++i) {
      const int j = (i * 7919 + round * 13) % 3000;
      if ((i + round) % 3 == 0) {
        EXPECT_EQ(s.Remove(HashedKey::Of(key(j))), present[j]) << j;
        present[j] = false;
      } else {
        s.Add(HashedKey::Of(key(j)), ByteView::Copy(key(j)));
        present[j] = true;
      }
      if (i % 100 == 0) {
        // Evict a little now and then; what went is no longer present.
        while (s.bytes() > 20000) ASSERT_TRUE(s.RemoveOldest(nullptr));
        for (int k = 0; k < 3000; ++k) {
          if (present[k] && s.Peek(HashedKey::Of(key(k))) == nullptr) present[k] = false;
        }
      }
    }
  }
  size_t found = 0;
  int64_t bytes = 0;
  for (int k = 0; k < 3000; ++k) {
    const ByteView* v = s.Peek(HashedKey::Of(key(k)));
    EXPECT_EQ(v != nullptr, static_cast<bool>(present[k])) << k;
    if (v != nullptr) {
      EXPECT_EQ(*v, key(k));
      ++found;
      bytes += static_cast<int64_t>(2 * key(k).size());
    }
  }
  EXPECT_EQ(found, s.items());
  EXPECT_EQ(bytes, s.bytes());
  for (int k = 0; k < 3000; ++k) (void)s.Remove(HashedKey::Of(key(k)));
  EXPECT_EQ(s.items(), 0U);
  EXPECT_EQ(s.bytes(), 0);
  EXPECT_FALSE(s.RemoveOldest(nullptr));
}

// The entry header keeps a key's length in 16 bits; longer keys keep it
// beside their bytes. Both sides of the line work alike.
TEST(S3FifoTest, KeysOnBothSidesOfTheShortLengthLimitWork) {
  S3Fifo s;
  std::vector<std::string> keys;
  for (size_t n : {size_t{65534}, size_t{65535}, size_t{65536}, size_t{100000}}) {
    keys.emplace_back(n, 'k');
    keys.back().back() = 'z';
  }
  for (const std::string& k : keys) s.Add(HashedKey::Of(k), ByteView::Copy("v"));
  int64_t bytes = 0;
  for (const std::string& k : keys) {
    ASSERT_NE(s.Peek(HashedKey::Of(k)), nullptr) << k.size();
    bytes += static_cast<int64_t>(k.size() + 1);
  }
  EXPECT_EQ(s.bytes(), bytes);
  EXPECT_EQ(s.Peek(HashedKey::Of(std::string(65535, 'k'))), nullptr);
  EXPECT_TRUE(s.Remove(HashedKey::Of(keys[1])));
  EXPECT_EQ(s.Peek(HashedKey::Of(keys[1])), nullptr);
  ASSERT_TRUE(s.RemoveOldest(nullptr));  // keys[0], the oldest
  EXPECT_EQ(s.Peek(HashedKey::Of(keys[0])), nullptr);
  EXPECT_EQ(s.items(), 2U);
  EXPECT_EQ(s.bytes(), static_cast<int64_t>(keys[2].size() + keys[3].size() + 2));
}

TEST(CacheGateTest, HitsThroughTheGateAreCountedAsLockedOnesWere) {
  Cache cache(1 << 20, 1, Eviction::kS3Fifo);
  cache.Add(CacheType::kMain, "m", ByteView::Copy("main"));
  cache.Add(CacheType::kHot, "h", ByteView::Copy("hot"));
  int visits = 0;
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(cache.Visit("m", [&](const ByteView& v, CacheType t) {
      EXPECT_EQ(v, "main");
      EXPECT_EQ(t, CacheType::kMain);
      ++visits;
    }));
  }
  ByteView out;
  CacheType which = CacheType::kMain;
  EXPECT_TRUE(cache.Lookup("h", &out, &which));
  EXPECT_EQ(which, CacheType::kHot);
  EXPECT_FALSE(cache.Lookup("none", &out));
  EXPECT_EQ(visits, 10);
  CacheStats main = cache.Stats(CacheType::kMain);
  CacheStats hot = cache.Stats(CacheType::kHot);
  EXPECT_EQ(main.gets, 12);
  EXPECT_EQ(main.hits, 10);
  EXPECT_EQ(hot.gets, 2);
  EXPECT_EQ(hot.hits, 1);
}

}  // namespace
}  // namespace groupcache::internal
