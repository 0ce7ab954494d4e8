#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <new>
#include <set>
#include <string>
#include <thread>

#include "cache.h"
#include "lru.h"

namespace groupcache::internal {
namespace {

using namespace std::chrono_literals;

TEST(LruTest, AddGetAndRecency) {
  Lru lru;
  lru.Add("a", ByteView::Copy("1"));
  lru.Add("b", ByteView::Copy("22"));
  ASSERT_NE(lru.Get("a"), nullptr);
  EXPECT_EQ(*lru.Get("a"), "1");
  EXPECT_EQ(lru.Get("zz"), nullptr);
  EXPECT_EQ(lru.items(), 2U);
  EXPECT_EQ(lru.bytes(), 1 + 1 + 1 + 2);
  // "a" was used last, so "b" is the oldest.
  ASSERT_TRUE(lru.RemoveOldest());
  EXPECT_EQ(lru.Get("b"), nullptr);
  EXPECT_NE(lru.Get("a"), nullptr);
}

TEST(LruTest, ReplaceAdjustsBytes) {
  Lru lru;
  lru.Add("k", ByteView::Copy("short"));
  lru.Add("k", ByteView::Copy("a much longer value"));
  EXPECT_EQ(lru.items(), 1U);
  EXPECT_EQ(lru.bytes(), 1 + 19);
  EXPECT_TRUE(lru.Remove("k"));
  EXPECT_FALSE(lru.Remove("k"));
  EXPECT_EQ(lru.bytes(), 0);
  EXPECT_FALSE(lru.RemoveOldest());
}

TEST(LruTest, ExpiredEntriesAreNeverReturnedAndAreDropped) {
  Lru lru;
  lru.Add("old", ByteView::Copy("v", WallClock::now() - 1ms));
  lru.Add("new", ByteView::Copy("v", WallClock::now() + 1h));
  EXPECT_EQ(lru.Get("old"), nullptr);
  EXPECT_EQ(lru.items(), 1U);  // dropped when met
  EXPECT_NE(lru.Get("new"), nullptr);
}

TEST(LruTest, ClearEmpties) {
  Lru lru;
  for (int i = 0; i < 100; ++i) lru.Add("k" + std::to_string(i), ByteView::Copy("v"));
  lru.Clear();
  EXPECT_EQ(lru.items(), 0U);
  EXPECT_EQ(lru.bytes(), 0);
}

// Every Cache test runs under both policies: the budget, the main/hot rule
// and the statistics do not depend on the eviction order.
class CacheTest : public testing::TestWithParam<Eviction> {};
INSTANTIATE_TEST_SUITE_P(Policies, CacheTest, testing::Values(Eviction::kS3Fifo, Eviction::kLru),
                         [](const testing::TestParamInfo<Eviction>& param) {
                           return param.param == Eviction::kLru ? "Lru" : "S3Fifo";
                         });

TEST_P(CacheTest, LookupChecksMainThenHotAndCounts) {
  Cache cache(1000, 1, GetParam());
  cache.Add(CacheType::kHot, "h", ByteView::Copy("hot"));
  cache.Add(CacheType::kMain, "m", ByteView::Copy("main"));
  ByteView v;
  ASSERT_TRUE(cache.Lookup("m", &v));
  EXPECT_EQ(v, "main");
  ASSERT_TRUE(cache.Lookup("h", &v));
  EXPECT_EQ(v, "hot");
  EXPECT_FALSE(cache.Lookup("none", &v));
  CacheStats main = cache.Stats(CacheType::kMain);
  CacheStats hot = cache.Stats(CacheType::kHot);
  EXPECT_EQ(main.gets, 3);
  EXPECT_EQ(main.hits, 1);
  EXPECT_EQ(hot.gets, 2);  // reached only when main missed
  EXPECT_EQ(hot.hits, 1);
  EXPECT_EQ(main.items, 1);
  EXPECT_EQ(main.bytes, 1 + 4);
  EXPECT_EQ(hot.bytes, 1 + 3);
}

TEST_P(CacheTest, BudgetSpansBothCachesAndEvictsMainWhenHotIsSmall) {
  // Entries of 10 bytes (1-byte key + 9-byte value); budget 30.
  Cache cache(30, 1, GetParam());
  std::string v9(9, 'v');
  cache.Add(CacheType::kMain, "a", ByteView::Copy(v9));
  cache.Add(CacheType::kMain, "b", ByteView::Copy(v9));
  cache.Add(CacheType::kMain, "c", ByteView::Copy(v9));
  cache.Add(CacheType::kMain, "d", ByteView::Copy(v9));  // 40 > 30: evict oldest main
  ByteView out;
  EXPECT_FALSE(cache.Lookup("a", &out));
  EXPECT_TRUE(cache.Lookup("b", &out));
  EXPECT_EQ(cache.Stats(CacheType::kMain).evictions, 1);
  EXPECT_LE(cache.Stats(CacheType::kMain).bytes + cache.Stats(CacheType::kHot).bytes, 30);
}

TEST_P(CacheTest, HotIsEvictedWhenLargerThanAnEighthOfMain) {
  Cache cache(30, 1, GetParam());
  std::string v9(9, 'v');
  cache.Add(CacheType::kMain, "a", ByteView::Copy(v9));
  cache.Add(CacheType::kMain, "b", ByteView::Copy(v9));
  cache.Add(CacheType::kHot, "x", ByteView::Copy(v9));  // hot 10 > main 20 / 8
  cache.Add(CacheType::kHot, "y", ByteView::Copy(v9));  // 40 > 30: evict hot "x"
  ByteView out;
  EXPECT_FALSE(cache.Lookup("x", &out));
  EXPECT_TRUE(cache.Lookup("y", &out));
  EXPECT_TRUE(cache.Lookup("a", &out));
  EXPECT_TRUE(cache.Lookup("b", &out));
  EXPECT_EQ(cache.Stats(CacheType::kHot).evictions, 1);
  EXPECT_EQ(cache.Stats(CacheType::kMain).evictions, 0);
}

TEST_P(CacheTest, MainIsEvictedWhenHotIsAtMostAnEighth) {
  // main 80 bytes + hot 5 bytes; adding 10 more to main overflows 90, and
  // hot (5) <= main (90) / 8, so main loses its oldest entry.
  Cache cache(90, 1, GetParam());
  std::string v9(9, 'v');
  for (char c = 'a'; c < 'i'; ++c)
    cache.Add(CacheType::kMain, std::string(1, c), ByteView::Copy(v9));
  cache.Add(CacheType::kHot, "x", ByteView::Copy(std::string(4, 'v')));
  cache.Add(CacheType::kMain, "i", ByteView::Copy(v9));
  ByteView out;
  EXPECT_FALSE(cache.Lookup("a", &out));
  EXPECT_TRUE(cache.Lookup("x", &out));
  EXPECT_TRUE(cache.Lookup("i", &out));
  EXPECT_EQ(cache.Stats(CacheType::kMain).evictions, 1);
  EXPECT_EQ(cache.Stats(CacheType::kHot).evictions, 0);
}

TEST_P(CacheTest, ZeroBudgetCachesNothing) {
  Cache cache(0, 0, GetParam());
  cache.Add(CacheType::kMain, "a", ByteView::Copy("v"));
  ByteView out;
  EXPECT_FALSE(cache.Lookup("a", &out));
}

TEST_P(CacheTest, RemoveDropsBothCopies) {
  Cache cache(1000, 1, GetParam());
  cache.Add(CacheType::kMain, "k", ByteView::Copy("m"));
  cache.Add(CacheType::kHot, "k", ByteView::Copy("h"));
  cache.Remove("k");
  ByteView out;
  EXPECT_FALSE(cache.Lookup("k", &out));
}

TEST_P(CacheTest, ShardCountFollowsBudget) {
  EXPECT_EQ(Cache(1 << 20).shards(), 1);
  EXPECT_EQ(Cache(64LL << 20).shards(), 16);
  EXPECT_EQ(Cache(16LL << 20).shards(), 4);
  EXPECT_EQ(Cache(1 << 20, 3).shards(), 4);
}

// A load's value is cached unless the key was written (added or removed)
// after the load began; a stale value too large to cache does not remove
// the newer one either.
TEST_P(CacheTest, ALoadedValueIsCachedOnlyIfNoWriteCameSinceTheLoadBegan) {
  Cache cache(100, 1, GetParam());
  ByteView out;
  {
    CacheFill fill = cache.BeginFill("a");
    cache.AddLoaded(fill, CacheType::kMain, "a", ByteView::Copy("loaded"));
  }
  ASSERT_TRUE(cache.Lookup("a", &out));
  EXPECT_EQ(out, "loaded");
  {
    // Another key's write (in the same shard: there is one) is no write of b.
    CacheFill fill = cache.BeginFill("b");
    CacheFill other = cache.BeginFill("c");
    cache.Add(CacheType::kMain, "c", ByteView::Copy("c"));
    cache.AddLoaded(fill, CacheType::kMain, "b", ByteView::Copy("b"));
  }
  EXPECT_TRUE(cache.Lookup("b", &out));
  {
    CacheFill fill = cache.BeginFill("e");
    cache.Remove("e");
    cache.AddLoaded(fill, CacheType::kMain, "e", ByteView::Copy("stale"));
  }
  EXPECT_FALSE(cache.Lookup("e", &out));
  {
    CacheFill fill = cache.BeginFill("k");
    cache.Add(CacheType::kMain, "k", ByteView::Copy("set"));
    cache.AddLoaded(fill, CacheType::kMain, "k", ByteView::Copy(std::string(200, 'x')));
  }
  ASSERT_TRUE(cache.Lookup("k", &out));
  EXPECT_EQ(out, "set");
}

// A key is in one store at a time: a newer value in one replaces an older
// copy in the other, which would otherwise come back once the newer one
// was evicted.
TEST_P(CacheTest, AddingToOneStoreDropsTheKeyFromTheOther) {
  Cache cache(1000, 1, GetParam());
  cache.Add(CacheType::kHot, "k", ByteView::Copy("old"));
  cache.Add(CacheType::kMain, "k", ByteView::Copy("new"));
  EXPECT_EQ(cache.Stats(CacheType::kHot).items, 0);
  EXPECT_EQ(cache.Stats(CacheType::kHot).bytes, 0);
  cache.Add(CacheType::kHot, "k", ByteView::Copy("newer"));
  EXPECT_EQ(cache.Stats(CacheType::kMain).items, 0);
  ByteView out;
  ASSERT_TRUE(cache.Lookup("k", &out));
  EXPECT_EQ(out, "newer");
}

// Every shard asked for gets keys and keeps its share (the shard index
// used 8 bits of the hash, so past 256 shards the rest of the budget was
// never used), and no shard is left without a byte.
TEST_P(CacheTest, ManyShardsAllHoldTheirShare) {
  Cache cache(64LL << 20, 1024, GetParam());
  ASSERT_EQ(cache.shards(), 1024);
  const std::string value(1000, 'v');
  for (int i = 0; i < 64000; ++i) {
    cache.Add(CacheType::kMain, "key-" + std::to_string(i), ByteView::Copy(value));
  }
  EXPECT_GT(cache.Stats(CacheType::kMain).bytes, 48LL << 20);
  Cache tiny(100, 1024, GetParam());
  EXPECT_LE(tiny.shards(), 64);
  tiny.Add(CacheType::kMain, "k", ByteView::Copy("v"));
  ByteView out;
  EXPECT_TRUE(tiny.Lookup("k", &out));
}

TEST_P(CacheTest, ShardedCacheKeepsEveryKeyReachable) {
  Cache cache(64LL << 20, 0, GetParam());
  for (int i = 0; i < 1000; ++i) {
    cache.Add(CacheType::kMain, "key-" + std::to_string(i), ByteView::Copy("v"));
  }
  ByteView out;
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(cache.Lookup("key-" + std::to_string(i), &out));
  EXPECT_EQ(cache.Stats(CacheType::kMain).items, 1000);
}

TEST_P(CacheTest, AValueLargerThanItsShardIsCachedWithinTheWholeBudget) {
  constexpr int64_t kBudget = 64LL << 20;
  Cache cache(kBudget, 0, GetParam());  // 16 shards of 4 MiB
  ASSERT_EQ(cache.shards(), 16);
  // Fill every shard to its share with 64 KiB values.
  std::string small(64 << 10, 's');
  for (int i = 0; i < 1024; ++i) {
    cache.Add(CacheType::kMain, "small-" + std::to_string(i), ByteView::Copy(small));
  }
  auto total = [&] {
    return cache.Stats(CacheType::kMain).bytes + cache.Stats(CacheType::kHot).bytes;
  };
  EXPECT_LE(total(), kBudget);
  std::string big(10 << 20, 'b');
  cache.Add(CacheType::kMain, "big", ByteView::Copy(big));
  ByteView out;
  ASSERT_TRUE(cache.Lookup("big", &out));
  EXPECT_EQ(out.size(), big.size());
  // The room came from the other shards, and the whole stays in budget.
  EXPECT_LE(total(), kBudget);
  EXPECT_GT(total(), kBudget - (12LL << 20));
  // More small values evict around it; the big one goes by LRU only.
  for (int i = 0; i < 64; ++i) {
    cache.Add(CacheType::kMain, "more-" + std::to_string(i), ByteView::Copy(small));
    EXPECT_LE(total(), kBudget);
  }
  // A hot copy of a large value counts too.
  cache.Add(CacheType::kHot, "big-hot", ByteView::Copy(big));
  ASSERT_TRUE(cache.Lookup("big-hot", &out));
  EXPECT_LE(total(), kBudget);
  cache.Remove("big-hot");
  EXPECT_FALSE(cache.Lookup("big-hot", &out));
  EXPECT_LE(total(), kBudget);
}

// A large value added to a warm cache: under S3-FIFO the small queue then
// holds it alone, over its share, while everything read once went to main.
// It is kept all the same, and the room comes from main.
TEST_P(CacheTest, AValueThatFitsTheBudgetIsKeptWhenAddedToAWarmCache) {
  Cache cache(1000, 1, GetParam());
  ByteView out;
  for (std::string key : {"a", "b", "c", "d", "e"}) {
    cache.Add(CacheType::kMain, key, ByteView::Copy(std::string(99, 'x')));
    ASSERT_TRUE(cache.Lookup(key, &out));
  }
  cache.Add(CacheType::kMain, "big", ByteView::Copy(std::string(599, 'b')));
  ASSERT_TRUE(cache.Lookup("big", &out));
  EXPECT_EQ(out.size(), 599U);
  EXPECT_LE(cache.Stats(CacheType::kMain).bytes, 1000);
  // Its probation goes on: unread, it is the next to go once newer keys
  // come in behind it.
  cache.Add(CacheType::kMain, "f", ByteView::Copy(std::string(99, 'x')));
  cache.Add(CacheType::kMain, "g", ByteView::Copy(std::string(99, 'x')));
  EXPECT_LE(cache.Stats(CacheType::kMain).bytes, 1000);
}

// A visitor that throws (a sink's copy out of memory) leaves the shard as
// it found it: its next writer does not wait for a reader that never left.
TEST_P(CacheTest, AThrowingVisitorLeavesTheShardUsable) {
  Cache cache(1000, 1, GetParam());
  cache.Add(CacheType::kMain, "k", ByteView::Copy("v"));
  EXPECT_THROW(cache.Visit("k", [](const ByteView&, CacheType) { throw std::bad_alloc(); }),
               std::bad_alloc);
  std::promise<void> added;
  std::future<void> done = added.get_future();
  std::thread([&cache, added = std::move(added)]() mutable {
    cache.Add(CacheType::kMain, "k2", ByteView::Copy("v2"));
    added.set_value();
  }).detach();
  if (done.wait_for(5s) != std::future_status::ready) {
    std::fprintf(stderr, "FAIL: an Add after a throwing visitor still waits after 5 s\n");
    std::_Exit(1);  // the writer spins on the cache: nothing can be torn down
  }
  ByteView out;
  EXPECT_TRUE(cache.Lookup("k2", &out));
  EXPECT_TRUE(cache.Lookup("k", &out));
}

TEST_P(CacheTest, AValueLargerThanTheBudgetIsNotCachedAndReplacesTheOldOne) {
  Cache cache(100, 1, GetParam());
  cache.Add(CacheType::kMain, "k", ByteView::Copy("old"));
  cache.Add(CacheType::kMain, "other", ByteView::Copy("v"));
  cache.Add(CacheType::kMain, "k", ByteView::Copy(std::string(200, 'x')));
  ByteView out;
  EXPECT_FALSE(cache.Lookup("k", &out));     // neither the new nor the stale value
  EXPECT_TRUE(cache.Lookup("other", &out));  // and nothing else was flushed for it
}

TEST_P(CacheTest, ExpiredEntriesDroppedOnLookupLeaveTheBudget) {
  // One shard of 100 bytes: an expired entry must give its bytes back (LRU
  // drops it on the lookup, S3-FIFO at its eviction turn, counted as an
  // expired eviction), or later adds would evict live entries for nothing.
  Cache cache(100, 1, GetParam());
  cache.Add(CacheType::kMain, "e", ByteView::Copy(std::string(49, 'e'), WallClock::now()));
  ByteView out;
  EXPECT_FALSE(cache.Lookup("e", &out));
  cache.Add(CacheType::kMain, "a", ByteView::Copy(std::string(49, 'a')));
  cache.Add(CacheType::kMain, "b", ByteView::Copy(std::string(49, 'b')));
  EXPECT_TRUE(cache.Lookup("a", &out));
  EXPECT_TRUE(cache.Lookup("b", &out));
  EXPECT_EQ(cache.Stats(CacheType::kMain).evictions_nonexpired, 0);
}

// The cache's own key hash: every length path (0-3, 4-16, longer) reads
// only the key's bytes (ASan checks), similar keys do not collide, and the
// top bits that pick a shard spread evenly.
TEST(KeyHashTest, SpreadsKeysOfEveryLength) {
  std::set<uint64_t> seen;
  std::string long_key(100, 'k');
  for (size_t n = 0; n <= long_key.size(); ++n) {
    std::string key = long_key.substr(0, n);  // n bytes (heap-allocated past 15)
    EXPECT_TRUE(seen.insert(KeyHash(key)).second) << "length " << n;
    EXPECT_EQ(KeyHash(key), KeyHash(std::string_view(key)));
  }
  std::array<int, 16> shards{};
  constexpr int kKeys = 160000;
  for (int i = 0; i < kKeys; ++i) {
    uint64_t h = KeyHash("key-" + std::to_string(i));
    EXPECT_TRUE(seen.insert(h).second) << i;
    ++shards[(h >> 48) & 15];  // the bits Cache::ShardFor uses
  }
  for (int count : shards) {
    EXPECT_GT(count, kKeys / 16 * 9 / 10);
    EXPECT_LT(count, kKeys / 16 * 11 / 10);
  }
  // One flipped bit anywhere changes the hash.
  std::string base = "a-key-of-some-thirty-two-bytes!!";
  for (size_t i = 0; i < base.size() * 8; ++i) {
    std::string flipped = base;
    flipped[i / 8] = static_cast<char>(flipped[i / 8] ^ (1 << (i % 8)));
    EXPECT_NE(KeyHash(flipped), KeyHash(base)) << "bit " << i;
  }
}

}  // namespace
}  // namespace groupcache::internal
