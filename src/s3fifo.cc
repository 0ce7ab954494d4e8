#include "s3fifo.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <utility>

namespace groupcache::internal {
namespace {

constexpr size_t kGhostWays = 4;
constexpr size_t kMinGhost = 64;

}  // namespace

S3Fifo::~S3Fifo() { Clear(); }

S3Fifo::Entry* S3Fifo::NewEntry(const HashedKey& key, ByteView value) {
  void* mem = ::operator new(sizeof(Entry) + key.key.size());
  auto* e = new (mem) Entry{nullptr,
                            nullptr,
                            nullptr,
                            std::move(value),
                            static_cast<uint32_t>(key.hash),
                            static_cast<uint32_t>(key.key.size()),
                            {0},
                            Where::kSmall};
  if (!key.key.empty())
    std::memcpy(static_cast<char*>(mem) + sizeof(Entry), key.key.data(), key.key.size());
  return e;
}

void S3Fifo::DeleteEntry(Entry* e) {
  e->~Entry();
  ::operator delete(e);
}

void S3Fifo::Reserve() {
  if (items() + 1 <= buckets_.size()) return;
  std::vector<Entry*> grown(buckets_.empty() ? 8 : buckets_.size() * 2, nullptr);
  buckets_.swap(grown);
  for (Queue* q : {&small_, &main_}) {
    for (Entry* e = q->newest; e != nullptr; e = e->older) Chain(e);
  }
}

void S3Fifo::Chain(Entry* e) {
  Entry*& head = buckets_[e->hash & (buckets_.size() - 1)];
  e->chain = head;
  head = e;
}

void S3Fifo::Unchain(const Entry* e) {
  Entry** p = &buckets_[e->hash & (buckets_.size() - 1)];
  while (*p != e) p = &(*p)->chain;
  *p = e->chain;
}

void S3Fifo::PushNewest(Queue& q, Entry* e) {
  e->older = q.newest;
  e->newer = nullptr;
  if (q.newest != nullptr) q.newest->newer = e;
  q.newest = e;
  if (q.oldest == nullptr) q.oldest = e;
  ++q.items;
  q.bytes += e->charge();
}

void S3Fifo::Unlink(Queue& q, Entry* e) {
  (e->newer != nullptr ? e->newer->older : q.newest) = e->older;
  (e->older != nullptr ? e->older->newer : q.oldest) = e->newer;
  --q.items;
  q.bytes -= e->charge();
}

void S3Fifo::Erase(Entry* e) {
  Unchain(e);
  Unlink(QueueOf(e), e);
  DeleteEntry(e);
}

void S3Fifo::Add(const HashedKey& key, ByteView value) {
  if (Entry* e = Find(key)) {
    Queue& q = QueueOf(e);
    q.bytes -= e->charge();
    e->value = std::move(value);
    q.bytes += e->charge();
    if (uint8_t f = e->freq.load(std::memory_order_relaxed); f < kMaxFreq) {
      e->freq.store(static_cast<uint8_t>(f + 1), std::memory_order_relaxed);
    }
    return;
  }
  Reserve();
  Entry* e = NewEntry(key, std::move(value));
  e->where = ghost_.Take(key.hash) ? Where::kMain : Where::kSmall;
  Chain(e);
  PushNewest(QueueOf(e), e);
}

bool S3Fifo::Remove(const HashedKey& key) {
  Entry* e = Find(key);
  if (e == nullptr) return false;
  Erase(e);
  return true;
}

bool S3Fifo::RemoveOldest(bool* expired) {
  // Each pass either evicts or moves one entry; a move lowers a counter or
  // empties the small queue's share, so this ends within ~4 x items passes.
  for (;;) {
    if (small_.items == 0 && main_.items == 0) return false;
    const bool from_small =
        small_.items > 0 && (main_.items == 0 || small_.bytes * 10 > small_.bytes + main_.bytes);
    Entry* e = from_small ? small_.oldest : main_.oldest;
    const bool dead = e->value.Expired();
    const uint8_t f = e->freq.load(std::memory_order_relaxed);
    if (!dead && f > 0) {
      if (from_small) {
        // Read while on probation: promoted, its count starting afresh.
        Unlink(small_, e);
        e->freq.store(0, std::memory_order_relaxed);
        e->where = Where::kMain;
        PushNewest(main_, e);
      } else {
        Unlink(main_, e);
        e->freq.store(static_cast<uint8_t>(f - 1), std::memory_order_relaxed);
        PushNewest(main_, e);
      }
      continue;
    }
    if (from_small) {
      // As many ghosts as entries: sized by main alone, a loop longer than
      // the cache (nothing read twice on probation, main empty) would
      // forget every key before it came round again.
      ghost_.Fit(std::max(items(), kMinGhost));
      ghost_.Insert(KeyHash(e->key()));
    }
    if (expired != nullptr) *expired = dead;
    Erase(e);
    return true;
  }
}

void S3Fifo::Clear() {
  for (Queue* q : {&small_, &main_}) {
    for (Entry* e = q->newest; e != nullptr;) {
      Entry* older = e->older;
      DeleteEntry(e);
      e = older;
    }
    *q = Queue{};
  }
  std::fill(buckets_.begin(), buckets_.end(), nullptr);
  ghost_.Clear();
}

void S3Fifo::Ghost::Fit(size_t capacity) {
  if (capacity_ != 0 && capacity < capacity_ * 2 && capacity * 2 > capacity_) return;
  capacity_ = capacity;
  // About two slots per remembered key, in buckets of kGhostWays.
  slots_.assign(std::bit_ceil(capacity * 2 / kGhostWays + 1) * kGhostWays, 0);
  stamp_ = 0;
}

void S3Fifo::Ghost::Insert(size_t hash) {
  if (slots_.empty()) return;
  const uint64_t fp = (hash >> 32) | 1;  // never 0, which marks an empty slot
  uint64_t* bucket = &slots_[(hash & (slots_.size() / kGhostWays - 1)) * kGhostWays];
  // The empty or oldest slot of the bucket; ages wrap with the stamp.
  uint64_t* victim = bucket;
  uint32_t oldest_age = 0;
  for (size_t i = 0; i < kGhostWays; ++i) {
    if (bucket[i] == 0) {
      victim = &bucket[i];
      break;
    }
    const uint32_t age = stamp_ - static_cast<uint32_t>(bucket[i]);
    if (age >= oldest_age) {
      oldest_age = age;
      victim = &bucket[i];
    }
  }
  *victim = (fp << 32) | ++stamp_;
}

bool S3Fifo::Ghost::Take(size_t hash) {
  if (slots_.empty()) return false;
  const uint64_t fp = (hash >> 32) | 1;
  uint64_t* bucket = &slots_[(hash & (slots_.size() / kGhostWays - 1)) * kGhostWays];
  for (size_t i = 0; i < kGhostWays; ++i) {
    if (bucket[i] != 0 && (bucket[i] >> 32) == fp) {
      const bool recent = stamp_ - static_cast<uint32_t>(bucket[i]) < capacity_;
      bucket[i] = 0;
      return recent;
    }
  }
  return false;
}

void S3Fifo::Ghost::Clear() {
  std::fill(slots_.begin(), slots_.end(), 0);
  stamp_ = 0;
}

}  // namespace groupcache::internal
