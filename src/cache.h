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
//
// A shard's share is a target, not a wall: a value larger than its shard's
// share (but not than the whole budget) is still cached, as Go caches any
// value that fits. Its shard then evicts everything but the new entry, and
// the other shards give up their oldest entries, a byte quota each in turn,
// until main + hot of all shards is within cache_bytes again. A value
// larger than cache_bytes itself is not cached (Go would cache it and
// evict it, and everything else, at once); it replaces nothing either: an
// older value of its key is removed.

#ifndef GROUPCACHE_SRC_CACHE_H_
#define GROUPCACHE_SRC_CACHE_H_

#include <atomic>
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

  // Main first, then hot. Counts gets/hits on each cache consulted. On a
  // hit, *which (if given) tells which cache had it.
  bool Lookup(std::string_view key, ByteView* out, CacheType* which = nullptr);

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
    int64_t evictions_nonexpired = 0;
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
  // The eviction rule within one shard, sparing the newest entry of
  // `spare` (the one just added) when it is alone in its Lru; evicts until
  // the shard holds at most `target` bytes or `quota` bytes were freed.
  // Returns the bytes freed. REQUIRES: s.mu held.
  static int64_t EvictLocked(Shard& s, int64_t target, int64_t quota, const Lru* spare);
  // Takes bytes from shards other than `skip` until the total is within
  // the budget again.
  void EvictElsewhere(size_t skip);

  int64_t budget_;
  int64_t shard_budget_;
  size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
  // main + hot of every shard, kept by the paths that add or remove bytes
  // (never by a hit). Off the shards' lines.
  alignas(64) std::atomic<int64_t> total_bytes_{0};
  std::atomic<size_t> evict_cursor_{0};
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_CACHE_H_
