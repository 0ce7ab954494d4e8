// EvictionStore: the policy interface of the cache. One store is a map from
// keys to ByteViews with byte accounting and an eviction order; the Cache
// (cache.h) owns two per shard (main and hot), locks them and decides when
// to evict, because its budget spans both. Two implementations: Lru (Go's
// exact order, lru.h) and S3Fifo (s3fifo.h).
//
// Not thread-safe: the owner locks. S3Fifo also offers Peek, which may run
// concurrently with other Peeks (never with a mutation); the cache keeps
// its S3Fifo stores typed as well and serves hits through Peek without its
// mutex.

#ifndef GROUPCACHE_SRC_EVICTION_STORE_H_
#define GROUPCACHE_SRC_EVICTION_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "groupcache/byte_view.h"
#include "key_hash.h"

namespace groupcache::internal {

class EvictionStore {
 public:
  EvictionStore() = default;
  EvictionStore(const EvictionStore&) = delete;
  EvictionStore& operator=(const EvictionStore&) = delete;
  virtual ~EvictionStore() = default;

  // Inserts or replaces `key`; a replacement counts as an access.
  virtual void Add(const HashedKey& key, ByteView value) = 0;
  // Returns the value and records the access, or nullptr. An entry whose
  // expiry has passed is a miss (and may be dropped). The pointer is valid
  // until the next mutation.
  virtual const ByteView* Get(const HashedKey& key) = 0;
  // Returns true if the key was present.
  virtual bool Remove(const HashedKey& key) = 0;
  // Evicts one entry in the policy's order; false if empty. *expired (if
  // given) tells whether that entry's expiry had passed.
  virtual bool RemoveOldest(bool* expired) = 0;
  virtual void Clear() = 0;

  virtual size_t items() const = 0;
  // Sum of len(key) + len(value) over all entries.
  virtual int64_t bytes() const = 0;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_EVICTION_STORE_H_
