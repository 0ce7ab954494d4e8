// StripedCounter: a monotonic counter that many threads bump without
// sharing a cache line.
//
// Each thread adds to one of kStripes cells (assigned round-robin the first
// time the thread counts), so two threads on the hit path do not bounce one
// line between cores; Value() sums the cells. Thread-safe. Reads are not a
// consistent snapshot across counters, which statistics do not need.

#ifndef GROUPCACHE_SRC_STRIPED_COUNTER_H_
#define GROUPCACHE_SRC_STRIPED_COUNTER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace groupcache::internal {

class StripedCounter {
 public:
  static constexpr size_t kStripes = 16;

  void Add(int64_t n = 1) { cells_[ThreadStripe()].value.fetch_add(n, std::memory_order_relaxed); }

  int64_t Value() const {
    int64_t sum = 0;
    for (const Cell& c : cells_) sum += c.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(64) Cell {
    std::atomic<int64_t> value{0};
  };

  static size_t ThreadStripe() {
    // A ticket dispenser, not state: it only spreads threads over cells.
    static std::atomic<size_t> next{0};
    thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return stripe;
  }

  Cell cells_[kStripes];
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_STRIPED_COUNTER_H_
