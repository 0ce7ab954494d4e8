// Statistics snapshots of a group and of its two caches.
//
// Plain values copied out of live counters; every counter is monotonic
// except bytes and items. Field names follow Go's Stats/CacheStats so
// dashboards translate one to one.

#ifndef GROUPCACHE_STATS_H_
#define GROUPCACHE_STATS_H_

#include <cstdint>

namespace groupcache {

// Which of a group's two caches: main holds keys this node owns (or that it
// loaded locally), hot mirrors popular keys owned by other peers.
enum class CacheType { kMain, kHot };

struct CacheStats {
  int64_t bytes = 0;  // len(key) + len(value) over the entries
  int64_t items = 0;
  int64_t gets = 0;  // lookups that reached this cache
  int64_t hits = 0;
  int64_t evictions = 0;  // entries dropped to respect the byte budget
  // Of those, the ones whose expiry had not passed: a value still good
  // dropped for room (Go: EvictionsNonExpiredOnMemFull), a sign the budget
  // is too small.
  int64_t evictions_nonexpired = 0;
};

struct GroupStats {
  int64_t gets = 0;             // Get calls, including those that failed
  int64_t cache_hits = 0;       // served from the main or hot cache
  int64_t peer_loads = 0;       // loads answered by a remote peer
  int64_t peer_errors = 0;      // remote fetches that failed and fell back
  int64_t loads = 0;            // misses that entered the load path
  int64_t loads_deduped = 0;    // loads actually run after single-flight
  int64_t local_loads = 0;      // getter calls that succeeded
  int64_t local_load_errs = 0;  // getter calls that failed
  int64_t server_requests = 0;  // requests for this group from peers
  // Forwarded fetches from peers (Group::Forwarded) that missed here for a
  // key this process's ring gives to another node: the two rings disagree
  // (a membership change under way, or nodes configured differently).
  int64_t ring_disagreements = 0;
  // The slowest remote fetch seen, in milliseconds (Go:
  // GetFromPeersLatencyLower).
  int64_t max_peer_latency_ms = 0;
};

}  // namespace groupcache

#endif  // GROUPCACHE_STATS_H_
