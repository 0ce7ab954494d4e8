// Histogram: a latency histogram with fixed buckets, in the shape Prometheus
// exposes (`_bucket{le=...}`, `_sum`, `_count`).
//
// The buckets are the same for every histogram (kBounds, 0.5 ms to 10 s),
// so dashboards can sum them across groups and nodes. Thread-safe and
// lock-free: Observe is two relaxed atomic increments (its bucket and the
// sum), so it may sit on a hot path; Snapshot reads each atomic once, so a
// snapshot taken while observations go on may be off by the observations
// in flight (its count and sum can disagree by those), never by more.
//
// Example:
//   Histogram fetches;
//   Clock::time_point start = Clock::now();
//   ... fetch ...
//   fetches.Observe(Clock::now() - start);
//   HistogramSnapshot s = fetches.Snapshot();  // s.count(), s.sum_seconds

#ifndef GROUPCACHE_HISTOGRAM_H_
#define GROUPCACHE_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

namespace groupcache {

struct HistogramSnapshot {
  // counts[i]: observations in (kBounds[i-1], kBounds[i]] (not
  // cumulative); the last one, past every bound (+Inf).
  std::vector<int64_t> counts;
  double sum_seconds = 0;

  int64_t count() const;
};

class Histogram {
 public:
  // Upper bounds of the buckets, in seconds (a +Inf bucket follows).
  static constexpr std::array<double, 14> kBounds = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  Histogram() = default;
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts one observation of `elapsed` (a negative one counts as zero).
  void Observe(std::chrono::nanoseconds elapsed);

  HistogramSnapshot Snapshot() const;

 private:
  std::array<std::atomic<int64_t>, kBounds.size() + 1> counts_{};
  std::atomic<int64_t> sum_ns_{0};
};

}  // namespace groupcache

#endif  // GROUPCACHE_HISTOGRAM_H_
