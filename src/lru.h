// Lru: a least-recently-used map from string keys to ByteViews with byte
// accounting (go: groupcache/lru). It never evicts on its own; the owner
// calls RemoveOldest to enforce whatever budget it has, because the group's
// budget spans two caches (see cache.h).
//
// Not thread-safe: the owner locks.

#ifndef GROUPCACHE_SRC_LRU_H_
#define GROUPCACHE_SRC_LRU_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "groupcache/byte_view.h"

namespace groupcache::internal {

// The cache's key hash (not the ring's, which must match Go's): wyhash's
// construction, 64-bit reads folded by 128-bit multiplies. std::hash
// (MurmurHash2, a byte loop for the tail) was a fifth of a warm Get.
inline uint64_t KeyHash(std::string_view s) {
  constexpr uint64_t kP0 = 0xa0761d6478bd642full;
  constexpr uint64_t kP1 = 0xe7037ed1a0b428dbull;
  auto mix = [](uint64_t a, uint64_t b) {
    __extension__ using U128 = unsigned __int128;
    U128 r = static_cast<U128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  };
  auto r64 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  auto r32 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return static_cast<uint64_t>(v);
  };
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t seed = kP0;
  uint64_t a = 0;
  uint64_t b = 0;
  if (n <= 16) {
    if (n >= 4) {
      const size_t mid = (n >> 3) << 2;
      a = (r32(p) << 32) | r32(p + mid);
      b = (r32(p + n - 4) << 32) | r32(p + n - 4 - mid);
    } else if (n > 0) {
      auto byte = [p](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(p[i])); };
      a = (byte(0) << 16) | (byte(n >> 1) << 8) | byte(n - 1);
    }
  } else {
    size_t left = n;
    while (left > 16) {
      seed = mix(r64(p) ^ kP1, r64(p + 8) ^ seed);
      p += 16;
      left -= 16;
    }
    a = r64(p + left - 16);
    b = r64(p + left - 8);
  }
  return mix(kP1 ^ n, mix(a ^ kP1, b ^ seed));
}

// A key with its hash computed once by the caller (the cache shards by the
// same hash), so a lookup hashes the key once, not twice.
struct HashedKey {
  std::string_view key;
  size_t hash;

  static HashedKey Of(std::string_view key) { return {key, KeyHash(key)}; }
};

class Lru {
 public:
  Lru() = default;
  Lru(const Lru&) = delete;
  Lru& operator=(const Lru&) = delete;

  // Inserts or replaces `key`, making it the most recently used.
  void Add(const HashedKey& key, ByteView value);
  void Add(std::string_view key, ByteView value) { Add(HashedKey::Of(key), std::move(value)); }

  // Returns the value and marks it most recently used, or nullptr. An entry
  // whose expiry has passed is removed and reported as a miss, so an expired
  // value is never returned (the clock is read only for entries that have an
  // expiry). The pointer is valid until the next mutation.
  const ByteView* Get(const HashedKey& key);
  const ByteView* Get(std::string_view key) { return Get(HashedKey::Of(key)); }

  // Returns true if the key was present.
  bool Remove(const HashedKey& key);
  bool Remove(std::string_view key) { return Remove(HashedKey::Of(key)); }

  // Removes the least recently used entry; false if empty. *expired (if
  // given) tells whether that entry's expiry had passed.
  bool RemoveOldest(bool* expired = nullptr);

  void Clear();

  size_t items() const { return items_; }
  // Sum of len(key) + len(value) over all entries.
  int64_t bytes() const { return bytes_; }

 private:
  struct Entry;
  using List = std::list<Entry>;
  struct Entry {
    std::string key;
    ByteView value;
    size_t hash = 0;
    Entry* next = nullptr;  // the bucket's chain
    List::iterator self;    // this entry's own list node
  };

  Entry* Find(const HashedKey& key) const;
  // Makes room for one more entry before it is created.
  void Reserve();
  void Chain(Entry* e);  // into its bucket; Link also counts it
  void Link(Entry* e);
  void Unlink(const Entry* e);
  void Erase(List::iterator it);

  List list_;  // front = most recently used; a node never moves
  // The index: chains through Entry::next, power-of-two buckets (a mask,
  // not std::unordered_map's division by a prime, which with its dependent
  // load was a tenth of a warm Get), load factor at most 1, never shrinks.
  std::vector<Entry*> buckets_;
  size_t items_ = 0;
  int64_t bytes_ = 0;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_LRU_H_
