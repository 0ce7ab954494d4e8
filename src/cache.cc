#include "cache.h"

#include <bit>
#include <functional>

namespace groupcache::internal {
namespace {

size_t AutoShards(int64_t cache_bytes) {
  size_t n = 1;
  while (n < static_cast<size_t>(Cache::kMaxShards) &&
         cache_bytes / static_cast<int64_t>(n * 2) >= Cache::kMinShardBytes) {
    n *= 2;
  }
  return n;
}

}  // namespace

Cache::Cache(int64_t cache_bytes, int shards)
    : shard_count_(shards > 0 ? std::bit_ceil(static_cast<size_t>(shards))
                              : AutoShards(cache_bytes)),
      shards_(std::make_unique<Shard[]>(shard_count_)) {
  shard_budget_ = cache_bytes <= 0 ? 0 : cache_bytes / static_cast<int64_t>(shard_count_);
}

Cache::Shard& Cache::ShardFor(const HashedKey& key) {
  // The top bits: the index inside a shard buckets by the low bits of the
  // same hash, so the two choices stay independent.
  return shards_[(key.hash >> 56) & (shard_count_ - 1)];
}

bool Cache::Lookup(std::string_view k, ByteView* out) {
  const HashedKey key = HashedKey::Of(k);
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mu);
  ++s.main_counters.gets;
  if (const ByteView* v = s.main.Get(key)) {
    ++s.main_counters.hits;
    *out = *v;
    return true;
  }
  ++s.hot_counters.gets;
  if (const ByteView* v = s.hot.Get(key)) {
    ++s.hot_counters.hits;
    *out = *v;
    return true;
  }
  return false;
}

void Cache::Add(CacheType which, std::string_view k, const ByteView& value) {
  if (shard_budget_ <= 0) return;
  const HashedKey key = HashedKey::Of(k);
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mu);
  (which == CacheType::kMain ? s.main : s.hot).Add(key, value);
  while (s.main.bytes() + s.hot.bytes() > shard_budget_) {
    bool hot_victim = s.hot.bytes() > s.main.bytes() / 8;
    Lru& victim = hot_victim ? s.hot : s.main;
    if (!victim.RemoveOldest()) break;
    ++(hot_victim ? s.hot_counters : s.main_counters).evictions;
  }
}

void Cache::Remove(std::string_view k) {
  const HashedKey key = HashedKey::Of(k);
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mu);
  s.main.Remove(key);
  s.hot.Remove(key);
}

CacheStats Cache::Stats(CacheType which) const {
  CacheStats out;
  for (size_t i = 0; i < shard_count_; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    const Lru& lru = which == CacheType::kMain ? s.main : s.hot;
    const Counters& c = which == CacheType::kMain ? s.main_counters : s.hot_counters;
    out.bytes += lru.bytes();
    out.items += static_cast<int64_t>(lru.items());
    out.gets += c.gets;
    out.hits += c.hits;
    out.evictions += c.evictions;
  }
  return out;
}

}  // namespace groupcache::internal
