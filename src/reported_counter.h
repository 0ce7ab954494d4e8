// ReportedCounter: the last value reported of a counter that is derived
// from others (a difference, or a sum read while they move), so that the
// reported value never goes down.
//
// Why: a snapshot read while lookups are under way can count one that has
// not finished (a reader that entered the cache but has not yet recorded
// its miss reads as a hit for a moment, and a look-again counted before
// its lookup makes Group's gets one short): the next snapshot could then
// be one lower. Prometheus reads any decrease of a counter as a reset, and
// rate() jumps by the counter's whole value. The true counts only grow, so
// the maximum of what was computed is reported: a value counted early
// stays over by that much until the true count passes it (by at most the
// lookups that were in flight at one snapshot).
//
// Thread-safe; Report may be called from any thread at once.

#ifndef GROUPCACHE_SRC_REPORTED_COUNTER_H_
#define GROUPCACHE_SRC_REPORTED_COUNTER_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace groupcache::internal {

class ReportedCounter {
 public:
  // `computed`, or the largest value reported before if that is larger.
  // Const: reporting is reading, as far as the counted object goes.
  int64_t Report(int64_t computed) const {
    int64_t before = reported_.load(std::memory_order_relaxed);
    while (computed > before &&
           !reported_.compare_exchange_weak(before, computed, std::memory_order_relaxed)) {
    }
    return std::max(before, computed);
  }

 private:
  mutable std::atomic<int64_t> reported_{0};
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_REPORTED_COUNTER_H_
