#include "cache.h"

#include <algorithm>
#include <bit>
#include <functional>
#include <limits>
#include <memory>
#include <utility>

#include "lru.h"
#include "s3fifo.h"

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

// The count asked for, as a power of two that ShardFor can address and
// that leaves every shard at least one byte.
size_t ExplicitShards(int64_t cache_bytes, int shards) {
  size_t n = std::bit_ceil(
      std::min(static_cast<size_t>(shards), static_cast<size_t>(Cache::kMaxExplicitShards)));
  if (cache_bytes > 0) n = std::min(n, std::bit_floor(static_cast<uint64_t>(cache_bytes)));
  return n;
}

}  // namespace

Cache::Cache(int64_t cache_bytes, int shards, Eviction eviction)
    : budget_(cache_bytes < 0 ? 0 : cache_bytes),
      shard_count_(shards > 0 ? ExplicitShards(cache_bytes, shards) : AutoShards(cache_bytes)),
      shards_(std::make_unique<Shard[]>(shard_count_)) {
  shard_budget_ = budget_ / static_cast<int64_t>(shard_count_);
  if (eviction != Eviction::kLru) gates_ = std::make_unique<ReaderGates>();
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& s = shards_[i];
    s.gate.set_shard(i);
    if (eviction == Eviction::kLru) {
      s.main = std::make_unique<Lru>();
      s.hot = std::make_unique<Lru>();
    } else {
      auto main = std::make_unique<S3Fifo>();
      auto hot = std::make_unique<S3Fifo>();
      s.main_reader = main.get();
      s.hot_reader = hot.get();
      s.main = std::move(main);
      s.hot = std::move(hot);
    }
  }
}

bool Cache::Lookup(std::string_view k, ByteView* out, CacheType* which) {
  return Visit(k, [&](const ByteView& v, CacheType t) {
    *out = v;
    if (which != nullptr) *which = t;
  });
}

const ByteView* Cache::PeekHot(Shard& s, ReaderGates::Reader& reader, const HashedKey& key) {
  ReaderGates::Count(reader.misses);
  const ByteView* v = s.hot_reader->Peek(key);
  if (v != nullptr) ReaderGates::Count(reader.second_hits);
  return v;
}

const ByteView* Cache::FindLocked(Shard& s, const HashedKey& key, CacheType* which) {
  ++s.main_counters.gets;
  const int64_t main_before = s.main->bytes();
  if (const ByteView* v = s.main->Get(key)) {
    ++s.main_counters.hits;
    *which = CacheType::kMain;
    return v;
  }
  // A miss may have dropped an expired entry (LRU does); only then is the
  // total touched (a hit never changes the bytes).
  ++s.hot_counters.gets;
  const int64_t hot_before = s.hot->bytes();
  const ByteView* v = s.hot->Get(key);
  if (int64_t freed = (main_before - s.main->bytes()) + (hot_before - s.hot->bytes()); freed != 0) {
    total_bytes_.fetch_sub(freed, std::memory_order_relaxed);
  }
  if (v != nullptr) {
    ++s.hot_counters.hits;
    *which = CacheType::kHot;
  }
  return v;
}

int64_t Cache::EvictLocked(Shard& s, int64_t target, int64_t quota, const EvictionStore* spare) {
  int64_t freed = 0;
  while (s.main->bytes() + s.hot->bytes() > target && freed < quota) {
    bool hot_victim = s.hot->bytes() > s.main->bytes() / 8;
    EvictionStore* victim = hot_victim ? s.hot.get() : s.main.get();
    if (victim == spare && victim->items() <= 1) {
      // Only the entry just added is left there: take from the other one.
      hot_victim = !hot_victim;
      victim = hot_victim ? s.hot.get() : s.main.get();
      if (victim->items() == 0) break;
    }
    const int64_t before = victim->bytes();
    bool expired = false;
    if (!victim->RemoveOldest(&expired)) break;
    freed += before - victim->bytes();
    Counters& c = hot_victim ? s.hot_counters : s.main_counters;
    ++c.evictions;
    if (!expired) ++c.evictions_nonexpired;
  }
  return freed;
}

CacheFill& CacheFill::operator=(CacheFill&& other) noexcept {
  if (this != &other) {
    End();
    cache_ = std::exchange(other.cache_, nullptr);
    hash_ = other.hash_;
    writes_seen_ = other.writes_seen_;
  }
  return *this;
}

void CacheFill::End() {
  if (cache_ == nullptr) return;
  Cache::Shard& s = cache_->ShardFor(HashedKey{{}, hash_});
  std::lock_guard lock(s.mu);
  if (auto f = s.fills.find(hash_); f != s.fills.end() && --f->second.claims == 0) {
    s.fills.erase(f);
  }
  cache_ = nullptr;
}

CacheFill Cache::BeginFill(std::string_view k) {
  CacheFill fill;
  if (shard_budget_ <= 0) return fill;  // nothing is cached: nothing to guard
  const HashedKey key = HashedKey::Of(k);
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mu);  // the fills only: readers need no closed gate
  PendingFill& f = s.fills[key.hash];
  ++f.claims;
  fill.cache_ = this;
  fill.hash_ = key.hash;
  fill.writes_seen_ = f.writes;
  return fill;
}

bool Cache::AddLocked(Shard& s, CacheType which, const HashedKey& key, const ByteView& value) {
  ClosedGate closed = CloseGate(s);
  EvictionStore& store = which == CacheType::kMain ? *s.main : *s.hot;
  const int64_t before = s.main->bytes() + s.hot->bytes();
  // A copy of the key in the other store is older (a hot mirror from
  // before a ring change, say): hidden behind this one while both live, it
  // would be served again once this one is evicted.
  (which == CacheType::kMain ? *s.hot : *s.main).Remove(key);
  store.Add(key, value);
  const int64_t added = s.main->bytes() + s.hot->bytes() - before;
  const int64_t freed = EvictLocked(s, shard_budget_, std::numeric_limits<int64_t>::max(), &store);
  return total_bytes_.fetch_add(added - freed, std::memory_order_relaxed) + added - freed > budget_;
}

void Cache::Add(CacheType which, std::string_view k, const ByteView& value) {
  Insert(which, k, value, nullptr);
}

void Cache::AddLoaded(const CacheFill& fill, CacheType which, std::string_view k,
                      const ByteView& value) {
  if (fill.cache_ != nullptr) Insert(which, k, value, &fill);
}

void Cache::Insert(CacheType which, std::string_view k, const ByteView& value,
                   const CacheFill* fill) {
  if (shard_budget_ <= 0) return;
  const HashedKey key = HashedKey::Of(k);
  Shard& s = ShardFor(key);
  bool over = false;
  {
    std::lock_guard lock(s.mu);
    if (fill == nullptr) {
      Written(s, key.hash);
    } else if (auto f = s.fills.find(key.hash);
               f == s.fills.end() || f->second.writes != fill->writes_seen_) {
      return;  // written since the load began: its value is older
    }
    if (static_cast<int64_t>(k.size() + value.size()) > budget_) {
      RemoveLocked(s, key);  // cannot be kept; nor may an older value stay
      return;
    }
    over = AddLocked(s, which, key, value);
  }
  if (over) EvictElsewhere(static_cast<size_t>(&s - shards_.get()));
}

void Cache::EvictElsewhere(size_t skip) {
  // One shard lock at a time, so no lock order to keep. Each shard in turn
  // gives up its oldest entries up to a quota, so that one big value takes
  // its room from all the others rather than flushing one.
  const size_t others = shard_count_ - 1;
  size_t empty_in_a_row = 0;
  while (others > 0 && empty_in_a_row < others) {
    const int64_t excess = total_bytes_.load(std::memory_order_relaxed) - budget_;
    if (excess <= 0) return;
    size_t i = evict_cursor_.fetch_add(1, std::memory_order_relaxed) % shard_count_;
    if (i == skip) continue;
    const int64_t quota = excess / static_cast<int64_t>(others) + 1;
    Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    ClosedGate closed = CloseGate(s);
    int64_t freed = EvictLocked(s, 0, quota, nullptr);
    total_bytes_.fetch_sub(freed, std::memory_order_relaxed);
    empty_in_a_row = freed == 0 ? empty_in_a_row + 1 : 0;
  }
}

void Cache::Remove(std::string_view k) {
  const HashedKey key = HashedKey::Of(k);
  Shard& s = ShardFor(key);
  std::lock_guard lock(s.mu);
  RemoveLocked(s, key);
}

void Cache::RemoveLocked(Shard& s, const HashedKey& key) {
  Written(s, key.hash);
  ClosedGate closed = CloseGate(s);
  const int64_t before = s.main->bytes() + s.hot->bytes();
  s.main->Remove(key);
  s.hot->Remove(key);
  if (int64_t freed = before - s.main->bytes() - s.hot->bytes(); freed != 0) {
    total_bytes_.fetch_sub(freed, std::memory_order_relaxed);
  }
}

CacheStats Cache::Stats(CacheType which) const {
  CacheStats out;
  for (size_t i = 0; i < shard_count_; ++i) {
    const Shard& s = shards_[i];
    std::lock_guard lock(s.mu);
    const EvictionStore& store = which == CacheType::kMain ? *s.main : *s.hot;
    const Counters& c = which == CacheType::kMain ? s.main_counters : s.hot_counters;
    out.bytes += store.bytes();
    out.items += static_cast<int64_t>(store.items());
    out.gets += c.gets;
    out.hits += c.hits;
    out.evictions += c.evictions;
    out.evictions_nonexpired += c.evictions_nonexpired;
  }
  if (gates_ != nullptr) {
    // Lookups through the gates: every entry is a main get; a main miss
    // is a hot get.
    gates_->ForEachReader([&](const ReaderGates::Reader& r) {
      // Against the order they are counted in (see ReaderGates::Count).
      const int64_t hot_hits = r.second_hits.load(std::memory_order_acquire);
      const int64_t misses = r.misses.load(std::memory_order_acquire);
      const int64_t gets = r.gets.load(std::memory_order_acquire);
      out.gets += which == CacheType::kMain ? gets : misses;
      out.hits += which == CacheType::kMain ? gets - misses : hot_hits;
    });
  }
  // Read while lookups go on, the sums can count one a moment early (see
  // reported_counter.h).
  const size_t t = which == CacheType::kMain ? 0 : 1;
  out.gets = reported_gets_[t].Report(out.gets);
  out.hits = reported_hits_[t].Report(out.hits);
  return out;
}

}  // namespace groupcache::internal
