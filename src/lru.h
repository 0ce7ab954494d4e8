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

#include "eviction_store.h"
#include "groupcache/byte_view.h"
#include "key_hash.h"

namespace groupcache::internal {

class Lru final : public EvictionStore {
 public:
  Lru() = default;
  Lru(const Lru&) = delete;
  Lru& operator=(const Lru&) = delete;

  // Inserts or replaces `key`, making it the most recently used.
  void Add(const HashedKey& key, ByteView value) override;
  void Add(std::string_view key, ByteView value) { Add(HashedKey::Of(key), std::move(value)); }

  // Returns the value and marks it most recently used, or nullptr. An entry
  // whose expiry has passed is removed and reported as a miss, so an expired
  // value is never returned (the clock is read only for entries that have an
  // expiry). The pointer is valid until the next mutation.
  const ByteView* Get(const HashedKey& key) override;
  const ByteView* Get(std::string_view key) { return Get(HashedKey::Of(key)); }

  // Returns true if the key was present.
  bool Remove(const HashedKey& key) override;
  bool Remove(std::string_view key) { return Remove(HashedKey::Of(key)); }

  // Removes the least recently used entry; false if empty. *expired (if
  // given) tells whether that entry's expiry had passed.
  bool RemoveOldest(bool* expired = nullptr) override;

  void Clear() override;

  size_t items() const override { return items_; }
  // Sum of len(key) + len(value) over all entries.
  int64_t bytes() const override { return bytes_; }

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
