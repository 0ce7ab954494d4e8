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

#include "groupcache/byte_view.h"

namespace groupcache::internal {

class Lru {
 public:
  Lru() = default;
  Lru(const Lru&) = delete;
  Lru& operator=(const Lru&) = delete;

  // Inserts or replaces `key`, making it the most recently used.
  void Add(std::string_view key, ByteView value);

  // Returns the value and marks it most recently used, or nullptr. An entry
  // whose expiry has passed is removed and reported as a miss, so an expired
  // value is never returned (the clock is read only for entries that have an
  // expiry). The pointer is valid until the next mutation.
  const ByteView* Get(std::string_view key);

  // Returns true if the key was present.
  bool Remove(std::string_view key);

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

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void Erase(List::iterator it);

  List list_;  // front = most recently used
  // Keys are views of the strings in list_; a list node never moves.
  std::unordered_map<std::string_view, List::iterator, Hash, std::equal_to<>> map_;
  int64_t bytes_ = 0;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_LRU_H_
