// Cache: a group's main and hot caches under one byte budget.
//
// The budget (cache_bytes) bounds main + hot together. After every insert,
// while main + hot exceeds it, the oldest hot entry is evicted if hot holds
// more than main/8, else the oldest main entry (go: populateCache). Lookups
// try main, then hot.
//
// Each of main and hot is an EvictionStore of the group's policy (S3-FIFO
// by default, or Go's LRU; see Eviction in group.h). "Oldest" above means
// the policy's next victim.
//
// Thread-safe. The keyspace is split into shards by key hash (like
// leveldb's ShardedLRUCache); each shard has its own mutex, its own main and
// hot store and an equal share of the budget, and applies the eviction rule
// above within itself. With one shard and LRU the behaviour is exactly
// Go's; the shard count is chosen so that a shard's share never drops below
// kMinShardBytes (small caches get one shard, so eviction order is exact
// where it is most visible).
//
// Hits: under LRU a hit reorders its list, so it takes the shard's mutex.
// Under S3-FIFO a hit only raises a counter, so hits enter through the
// shard's gate (a record of the reading thread's own, no shared write; see
// reader_gate.h) and only writers (add, remove, evict) take the mutex and
// close the gate. Visit hands the value to a callback inside the gate, so a
// hit need not even copy the ByteView (whose reference count would be a
// shared write).
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

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "eviction_store.h"
#include "groupcache/byte_view.h"
#include "groupcache/group.h"
#include "groupcache/stats.h"
#include "key_hash.h"
#include "mutex.h"
#include "reader_gate.h"
#include "reported_counter.h"
#include "s3fifo.h"

namespace groupcache::internal {

class Cache;

// A load's claim on a key, from before it reads its source (the getter or
// the owner) until it is done: its value is cached only if no write of the
// key (an Add or a Remove) came in between. Otherwise a Remove or a Set
// that finished while the load ran would be undone by the older value the
// load had read. Move-only; the claim ends when it is destroyed. Empty
// (and free) when caching is off.
class CacheFill {
 public:
  CacheFill() = default;
  CacheFill(CacheFill&& other) noexcept { *this = std::move(other); }
  CacheFill& operator=(CacheFill&& other) noexcept;
  CacheFill(const CacheFill&) = delete;
  CacheFill& operator=(const CacheFill&) = delete;
  ~CacheFill() { End(); }

 private:
  friend class Cache;
  void End();
  Cache* cache_ = nullptr;  // nullptr: no claim
  uint64_t hash_ = 0;
  uint64_t writes_seen_ = 0;
};

class Cache {
 public:
  static constexpr int64_t kMinShardBytes = 4 << 20;
  static constexpr int kMaxShards = 16;               // chosen automatically
  static constexpr int kMaxExplicitShards = 1 << 16;  // asked for (ShardFor's bits)

  // cache_bytes <= 0 disables caching (every Add is dropped), as in Go.
  // shards == 0 picks the count automatically (see above); otherwise it is
  // rounded up to a power of two, at most kMaxExplicitShards and at most
  // cache_bytes (a shard of no bytes would cache nothing).
  explicit Cache(int64_t cache_bytes, int shards = 0, Eviction eviction = Eviction::kS3Fifo);
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Main first, then hot. Counts gets/hits on each cache consulted. On a
  // hit, *which (if given) tells which cache had it.
  bool Lookup(std::string_view key, ByteView* out, CacheType* which = nullptr);

  // Lookup that calls visit(const ByteView&, CacheType) on a hit instead of
  // copying the value out. `visit` runs while the cache is held (inside the
  // gate or under the mutex): it must be short and must not call back into
  // this cache.
  template <typename F>
  bool Visit(std::string_view key, F&& visit);

  // A load's claim on a key (see CacheFill), taken before the load reads
  // its source.
  CacheFill BeginFill(std::string_view key);

  // Inserts into `which` and evicts to respect the budget. A write: fills
  // of the key under way will not cache their values.
  void Add(CacheType which, std::string_view key, const ByteView& value);
  // A load's value: as Add, unless the key was written since `fill` began
  // (then nothing changes). `fill` must be of this key.
  void AddLoaded(const CacheFill& fill, CacheType which, std::string_view key,
                 const ByteView& value);

  // Removes the key from both caches. A write, as Add.
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
  // The claims on one key of a shard (a key may have two: a fetch from its
  // owner and a load here). Keyed by hash alone: a collision only keeps a
  // value out of the cache.
  struct PendingFill {
    uint32_t claims = 0;
    uint64_t writes = 0;  // writes of the key since the first claim
  };
  // alignas keeps two shards' mutexes off one cache line.
  struct alignas(64) Shard {
    mutable Mutex mu;
    std::unique_ptr<EvictionStore> main;
    std::unique_ptr<EvictionStore> hot;
    // Lookups under the mutex; those through the gate count in the
    // readers' records.
    Counters main_counters;
    Counters hot_counters;
    ReaderGates::Gate gate;  // used when the policy has concurrent reads
    // main and hot again, typed, when the policy has concurrent reads
    // (S3-FIFO): the gate path reads through these. nullptr under LRU.
    const S3Fifo* main_reader = nullptr;
    const S3Fifo* hot_reader = nullptr;
    // Loads under way in this shard, by key hash: usually a few, but a
    // miss storm of distinct keys waiting on peers can hold thousands.
    std::unordered_map<uint64_t, PendingFill> fills;
  };

  Shard& ShardFor(const HashedKey& key) {
    // The top 16 bits (kMaxExplicitShards): the index inside a shard
    // buckets by the low bits of the same hash, so the two choices stay
    // independent.
    return shards_[(key.hash >> 48) & (shard_count_ - 1)];
  }
  // The gate a writer closes (nothing under a policy without one).
  ClosedGate CloseGate(Shard& s) const { return {gates_.get(), s.gate}; }
  // The gate path of Visit after a miss in main: counts the miss in the
  // slot and looks in hot. Out of line so that the main lookup, the one a
  // warm hit makes, is inlined into Visit. REQUIRES: inside s.gate.
  static const ByteView* PeekHot(Shard& s, ReaderGates::Reader& reader, const HashedKey& key);
  // The mutex path of Visit. Returns the value found, or nullptr.
  const ByteView* FindLocked(Shard& s, const HashedKey& key, CacheType* which);
  // The eviction rule within one shard, sparing the newest entry of
  // `spare` (the one just added) when it is alone in its store; evicts until
  // the shard holds at most `target` bytes or `quota` bytes were freed.
  // Returns the bytes freed. REQUIRES: s.mu held.
  static int64_t EvictLocked(Shard& s, int64_t target, int64_t quota, const EvictionStore* spare);
  friend class CacheFill;
  // Takes bytes from shards other than `skip` until the total is within
  // the budget again.
  void EvictElsewhere(size_t skip);
  // Counts a write of `hash` against the fills under way. REQUIRES: s.mu.
  static void Written(Shard& s, uint64_t hash) {
    if (auto f = s.fills.find(hash); f != s.fills.end()) ++f->second.writes;
  }
  // Remove's work once the shard's lock is held (a write).
  void RemoveLocked(Shard& s, const HashedKey& key);
  // Add (fill null: a write) and AddLoaded (only if `fill` saw no write).
  void Insert(CacheType which, std::string_view k, const ByteView& value, const CacheFill* fill);
  // Add's work once the shard's lock is held: true if the budget is now
  // exceeded over all shards (EvictElsewhere's turn).
  bool AddLocked(Shard& s, CacheType which, const HashedKey& key, const ByteView& value);

  int64_t budget_;
  int64_t shard_budget_;
  size_t shard_count_;
  std::unique_ptr<Shard[]> shards_;
  // The readers' records, under a policy with concurrent reads (S3-FIFO).
  std::unique_ptr<ReaderGates> gates_;
  // main + hot of every shard, kept by the paths that add or remove bytes
  // (never by a hit). Off the shards' lines.
  alignas(64) std::atomic<int64_t> total_bytes_{0};
  std::atomic<size_t> evict_cursor_{0};
  // gets and hits as Stats last reported them, main then hot: never less.
  std::array<ReportedCounter, 2> reported_gets_;
  std::array<ReportedCounter, 2> reported_hits_;
};

template <typename F>
bool Cache::Visit(std::string_view k, F&& visit) {
  const HashedKey key = HashedKey::Of(k);
  Shard& s = ShardFor(key);
  if (s.main_reader != nullptr) [[likely]] {
    if (ReaderGates::Reader* reader = gates_->TryEnter(s.gate)) [[likely]] {
      // Entering counted this lookup as a main get.
      CacheType which = CacheType::kMain;
      const ByteView* v = s.main_reader->Peek(key);
      if (v == nullptr) [[unlikely]] {
        which = CacheType::kHot;
        v = PeekHot(s, *reader, key);
      }
      // Left on the way out even if `visit` throws (a sink's copy may
      // throw bad_alloc): a reader left inside would make the next writer
      // of this shard wait forever.
      struct Leaving {
        ReaderGates::Reader* reader;
        ~Leaving() { ReaderGates::Leave(reader); }
      } leaving{reader};
      if (v != nullptr) visit(*v, which);
      return v != nullptr;
    }
  }
  std::lock_guard lock(s.mu);
  CacheType which = CacheType::kMain;
  const ByteView* v = FindLocked(s, key, &which);
  if (v != nullptr) visit(*v, which);
  return v != nullptr;
}

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_CACHE_H_
