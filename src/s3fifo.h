// S3Fifo: the S3-FIFO eviction policy (Yang et al., "FIFO queues are all
// you need for cache eviction", SOSP 2023) as an EvictionStore.
//
// New keys enter a small probation queue; when the small queue holds more
// than a tenth of the bytes, its oldest entry leaves: to the main queue if
// it was read while on probation, else out of the cache, its key hash
// remembered in a ghost list. A key found in the ghost list is inserted
// straight into the main queue. The main queue is a CLOCK: its oldest
// entry, if read since it last came round, goes back to the head with its
// count lowered, else it is evicted. One-time keys (a scan) therefore pass
// through the small queue without touching the main one.
//
// Why it is the cache's default: a hit only raises a 2-bit counter (a
// relaxed atomic, written only when it changes), so Peek needs no exclusive
// lock and hits on one key from many threads share nothing but reads.
//
// Layout, for memory per entry: one allocation per entry holds the links,
// the value and the key bytes; the index chains through the entries. The
// queues are singly linked, oldest to newest: the policy only ever takes
// from a queue's oldest end and adds at its newest, so a second link would
// serve only Remove of a key in the middle. Such an entry is unchained
// from the index and its value released at once, but it stays in its
// queue as a tombstone until it reaches the oldest end or until tombstones
// outnumber the live entries (then one pass drops them all, which keeps
// Remove amortised O(1)). That, and a 16-bit key length, make the entry
// header 56 bytes, so that with a key of up to 16 bytes the allocation is
// an 80-byte malloc chunk instead of a 96-byte one: 16 bytes per entry
// (1.4% of a 1 KiB value). The ghost list is a table of 32-bit
// fingerprints with insertion stamps, buckets of four, about two slots per
// cached entry (8 bytes each); an overflowing bucket forgets its oldest
// ghost early, which only costs a hit-ratio hair.
#ifndef GROUPCACHE_SRC_S3FIFO_H_
#define GROUPCACHE_SRC_S3FIFO_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "eviction_store.h"
#include "groupcache/byte_view.h"
#include "key_hash.h"

namespace groupcache::internal {

class S3Fifo final : public EvictionStore {
 public:
  S3Fifo() = default;
  ~S3Fifo() override;

  void Add(const HashedKey& key, ByteView value) override;
  // As Peek (an expired entry stays until evicted or replaced).
  const ByteView* Get(const HashedKey& key) override { return Peek(key); }
  bool Remove(const HashedKey& key) override;
  bool RemoveOldest(bool* expired) override;
  void Clear() override;

  size_t items() const override { return small_.items + main_.items; }
  int64_t bytes() const override { return small_.bytes + main_.bytes; }

  // Get for readers: may run concurrently with other Peeks on this store,
  // never with a mutation. Returns nullptr for an expired entry. Inline,
  // as are Find and SameKey: they are the whole lookup of a warm hit, and
  // their two calls were 3% of one.
  const ByteView* Peek(const HashedKey& key) const;

 private:
  static constexpr uint8_t kMaxFreq = 3;
  // kDead: removed from the middle of its queue, waiting to be dropped.
  enum class Where : uint8_t { kSmall, kMain, kDead };
  // A key of this length or longer keeps its length in 4 bytes ahead of
  // its bytes (the usual short key pays nothing for the rare long one).
  static constexpr uint16_t kLongKey = 0xffff;
  struct Entry {
    Entry* chain;  // the index bucket's chain
    Entry* newer;  // the next entry towards the queue's newest end
    ByteView value;
    // The low half of the key's hash: the index's bucket and a quick
    // filter (the ghost list, which wants all of it, rehashes the key).
    uint32_t hash;
    uint16_t key_size;  // kLongKey: see there
    // Raised by readers (relaxed), lowered by the eviction scan.
    mutable std::atomic<uint8_t> freq;
    Where where;
    const char* key_bytes() const { return reinterpret_cast<const char*>(this + 1); }
    std::string_view key() const {
      if (key_size != kLongKey) [[likely]] {
        return {key_bytes(), key_size};
      }
      uint32_t n;
      std::memcpy(&n, key_bytes(), sizeof n);
      return {key_bytes() + sizeof n, n};
    }
    int64_t charge() const { return static_cast<int64_t>(key().size() + value.size()); }
  };
  static_assert(sizeof(Entry) == 56, "the header the layout note above counts on");
  // Live entries only are counted; tombstones are in dead_.
  struct Queue {
    Entry* oldest = nullptr;
    Entry* newest = nullptr;
    size_t items = 0;
    int64_t bytes = 0;
  };
  // Remembered hashes of keys evicted from the small queue.
  class Ghost {
   public:
    // Forgets everything if the capacity (in keys) changed by 2x or more.
    void Fit(size_t capacity);
    void Insert(size_t hash);
    // True (and forgets it) if `hash` was inserted among the last capacity
    // insertions and not lost to its bucket's overflow.
    bool Take(size_t hash);
    void Clear();

   private:
    std::vector<uint64_t> slots_;  // fingerprint << 32 | stamp; 0 = empty
    size_t capacity_ = 0;
    uint32_t stamp_ = 0;
  };

  // Key equality without a call to memcmp for the usual short keys.
  static bool SameKey(std::string_view a, std::string_view b);
  static Entry* NewEntry(const HashedKey& key, ByteView value);
  static void DeleteEntry(Entry* e);
  Entry* Find(const HashedKey& key) const;
  void Reserve();
  void Chain(Entry* e);
  void Unchain(const Entry* e);
  Queue& QueueOf(const Entry* e) { return e->where == Where::kSmall ? small_ : main_; }
  // Appends at the newest end and counts e as live.
  static void PushNewest(Queue& q, Entry* e);
  // Unlinks the oldest entry (live or not) and returns it; no counting.
  static Entry* Unqueue(Queue& q);
  // Takes the oldest entry off the queue (it must be live) and uncounts it.
  static Entry* PopOldest(Queue& q);
  // Drops the tombstones at the oldest end of q.
  void DropDeadOldest(Queue& q);
  // Unchains e and leaves it in its queue as a tombstone.
  void Bury(Entry* e);
  // Drops every tombstone in one pass over both queues.
  void Compact();

  Queue small_;
  Queue main_;
  size_t dead_ = 0;              // tombstones in the two queues
  std::vector<Entry*> buckets_;  // power of two, load factor at most 1
  Ghost ghost_;
};

inline bool S3Fifo::SameKey(std::string_view a, std::string_view b) {
  // Two overlapping 8-byte loads cover 8-16 bytes (a tenth of a warm hit
  // was the call to memcmp).
  const size_t n = a.size();
  if (n != b.size()) return false;
  if (n >= 8 && n <= 16) {
    auto load = [](const char* p) {
      uint64_t v;
      std::memcpy(&v, p, sizeof v);
      return v;
    };
    return ((load(a.data()) ^ load(b.data())) |
            (load(a.data() + n - 8) ^ load(b.data() + n - 8))) == 0;
  }
  return a == b;
}

inline S3Fifo::Entry* S3Fifo::Find(const HashedKey& key) const {
  if (buckets_.empty()) return nullptr;
  const auto hash = static_cast<uint32_t>(key.hash);
  for (Entry* e = buckets_[hash & (buckets_.size() - 1)]; e != nullptr; e = e->chain) {
    if (e->hash == hash && SameKey(e->key(), key.key)) return e;
  }
  return nullptr;
}

inline const ByteView* S3Fifo::Peek(const HashedKey& key) const {
  Entry* e = Find(key);
  if (e == nullptr || e->value.Expired()) return nullptr;
  // Read before writing: a hot key's counter sits at the maximum, so its
  // readers never write its line.
  if (uint8_t f = e->freq.load(std::memory_order_relaxed); f < kMaxFreq) {
    e->freq.store(static_cast<uint8_t>(f + 1), std::memory_order_relaxed);
  }
  return &e->value;
}

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_S3FIFO_H_
