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
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "groupcache/byte_view.h"

namespace groupcache::internal {

// A key with its hash computed once by the caller (the cache shards by the
// same hash), so a lookup hashes the key once, not twice.
struct HashedKey {
  std::string_view key;
  size_t hash;

  static HashedKey Of(std::string_view key) { return {key, std::hash<std::string_view>{}(key)}; }
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

  // Removes the least recently used entry; false if empty.
  bool RemoveOldest();

  void Clear();

  size_t items() const { return map_.size(); }
  // Sum of len(key) + len(value) over all entries.
  int64_t bytes() const { return bytes_; }

 private:
  struct Entry {
    std::string key;
    ByteView value;
  };
  using List = std::list<Entry>;

  // Transparent, so that lookups by HashedKey use the hash they carry. The
  // map caches each node's hash, so rehashing never calls these either.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    size_t operator()(const HashedKey& k) const { return k.hash; }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
    bool operator()(const HashedKey& a, std::string_view b) const { return a.key == b; }
    bool operator()(std::string_view a, const HashedKey& b) const { return a == b.key; }
  };

  void Erase(List::iterator it);

  List list_;  // front = most recently used
  // Keys are views of the strings in list_; a list node never moves.
  std::unordered_map<std::string_view, List::iterator, Hash, Equal> map_;
  int64_t bytes_ = 0;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_LRU_H_
