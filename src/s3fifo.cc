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
  const size_t n = key.key.size();
  const bool long_key = n >= kLongKey;
  const size_t prefix = long_key ? sizeof(uint32_t) : 0;
  void* mem = ::operator new(sizeof(Entry) + prefix + n);
  auto* e = new (mem) Entry{nullptr,
                            nullptr,
                            std::move(value),
                            static_cast<uint32_t>(key.hash),
                            long_key ? kLongKey : static_cast<uint16_t>(n),
                            {0},
                            Where::kSmall};
  char* bytes = static_cast<char*>(mem) + sizeof(Entry);
  if (long_key) {
    const auto n32 = static_cast<uint32_t>(n);
    std::memcpy(bytes, &n32, sizeof n32);
  }
  if (n != 0) std::memcpy(bytes + prefix, key.key.data(), n);
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
    for (Entry* e = q->oldest; e != nullptr; e = e->newer) {
      if (e->where != Where::kDead) Chain(e);
    }
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
  e->newer = nullptr;
  (q.newest != nullptr ? q.newest->newer : q.oldest) = e;
  q.newest = e;
  ++q.items;
  q.bytes += e->charge();
}

S3Fifo::Entry* S3Fifo::Unqueue(Queue& q) {
  Entry* e = q.oldest;
  q.oldest = e->newer;
  if (q.oldest == nullptr) q.newest = nullptr;
  return e;
}

S3Fifo::Entry* S3Fifo::PopOldest(Queue& q) {
  Entry* e = Unqueue(q);
  --q.items;
  q.bytes -= e->charge();
  return e;
}

void S3Fifo::DropDeadOldest(Queue& q) {
  while (q.oldest != nullptr && q.oldest->where == Where::kDead) {
    DeleteEntry(Unqueue(q));
    --dead_;
  }
}

void S3Fifo::Bury(Entry* e) {
  Unchain(e);
  Queue& q = QueueOf(e);
  --q.items;
  q.bytes -= e->charge();
  e->value = ByteView();  // the value's bytes go now, the header later
  e->where = Where::kDead;
  ++dead_;
  DropDeadOldest(q);
  if (dead_ > items()) Compact();
}

void S3Fifo::Compact() {
  for (Queue* q : {&small_, &main_}) {
    Entry** link = &q->oldest;
    Entry* last = nullptr;
    for (Entry* e = q->oldest; e != nullptr;) {
      Entry* newer = e->newer;
      if (e->where == Where::kDead) {
        DeleteEntry(e);
      } else {
        *link = e;
        link = &e->newer;
        last = e;
      }
      e = newer;
    }
    *link = nullptr;
    q->newest = last;
  }
  dead_ = 0;
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
  Bury(e);
  return true;
}

bool S3Fifo::RemoveOldest(bool* expired) {
  // Each pass either evicts or moves one entry; a move lowers a counter or
  // empties the small queue's share, so this ends within ~4 x items passes.
  for (;;) {
    if (small_.items == 0 && main_.items == 0) return false;
    // The small queue's last entry is spared while main has any. Alone
    // there, it is most likely the entry just added (the cache evicts right
    // after an insert), which a large value leaves over the queue's share
    // by itself: evicting it would break "any value that fits the budget is
    // cached" (group.h), and load the key twice.
    const bool from_small =
        small_.items > 0 &&
        (main_.items == 0 || (small_.items > 1 && small_.bytes * 10 > small_.bytes + main_.bytes));
    Queue& q = from_small ? small_ : main_;
    // A queue with live entries has one at its oldest end once the
    // tombstones ahead of it are gone.
    DropDeadOldest(q);
    Entry* e = q.oldest;
    const bool dead = e->value.Expired();
    const uint8_t f = e->freq.load(std::memory_order_relaxed);
    if (!dead && f > 0) {
      PopOldest(q);
      if (from_small) {
        // Read while on probation: promoted, its count starting afresh.
        e->freq.store(0, std::memory_order_relaxed);
        e->where = Where::kMain;
      } else {
        e->freq.store(static_cast<uint8_t>(f - 1), std::memory_order_relaxed);
      }
      PushNewest(main_, e);
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
    Unchain(e);
    DeleteEntry(PopOldest(q));
    return true;
  }
}

void S3Fifo::Clear() {
  for (Queue* q : {&small_, &main_}) {
    for (Entry* e = q->oldest; e != nullptr;) {
      Entry* newer = e->newer;
      DeleteEntry(e);
      e = newer;
    }
    *q = Queue{};
  }
  dead_ = 0;
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
