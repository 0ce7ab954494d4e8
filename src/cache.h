// Cache: a group's main and hot caches under one byte budget.
//
// The budget (cache_bytes) bounds main + hot together. After every insert,
// while main + hot exceeds it, the oldest hot entry is evicted if hot holds
// more than main/8, else the oldest main entry (go: populateCache). Lookups
// try main, then hot.
//
// Thread-safe. To keep concurrent hits from serialising on one mutex the
// keyspace is split into shards by key hash (like leveldb's ShardedLRUCache);
// each shard has its own mutex, its own main and hot Lru and an equal share
// of the budget, and applies the eviction rule above within itself. With one
// shard the behaviour is exactly Go's; the shard count is chosen so that a
// shard's share never drops below kMinShardBytes (small caches get one
// shard, so eviction order is exact where it is most visible).

#ifndef GROUPCACHE_SRC_CACHE_H_
#define GROUPCACHE_SRC_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "groupcache/byte_view.h"
#include "groupcache/stats.h"
#include "lru.h"
#include "mutex.h"

namespace groupcache::internal {

class Cache {
 public:
  static constexpr int64_t kMinShardBytes = 4 << 20;
  static constexpr int kMaxShards = 16;

  // cache_bytes <= 0 disables caching (every Add is dropped), as in Go.
  // shards == 0 picks the count automatically (see above); otherwise it is
  // rounded up to a power of two.
  explicit Cache(int64_t cache_bytes, int shards = 0);
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Main first, then hot. Counts gets/hits on each cache consulted.
  bool Lookup(std::string_view key, ByteView* out);

  // Inserts into `which` and evicts to respect the budget.
  void Add(CacheType which, std::string_view key, const ByteView& value);

  // Removes the key from both caches.
  void Remove(std::string_view key);

  CacheStats Stats(CacheType which) const;
  int shards() const { return static_cast<int>(shard_count_); }

 private:
  struct Counters {
    int64_t gets = 0;
    int64_t hits = 0;
    int64_t evictions = 0;
  };
  // alignas keeps two shards' mutexes off one cache line.
  struct alignas(64) Shard {
    mutable Mutex mu;
    Lru main;
    Lru hot;
    Counters main_counters;
    Counters hot_counters;
  };

  Shard& ShardFor(const HashedKey& key);

  int64_t shard_budget_;
  size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_CACHE_H_
