// Histogram: bucket edges, the sum, and counts under concurrent observers.

#include "groupcache/histogram.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace groupcache {
namespace {

using namespace std::chrono_literals;

TEST(HistogramTest, EmptyHasEveryBucketAndNothingInThem) {
  Histogram h;
  HistogramSnapshot s = h.Snapshot();
  ASSERT_EQ(s.counts.size(), Histogram::kBounds.size() + 1);
  EXPECT_EQ(s.count(), 0);
  EXPECT_EQ(s.sum_seconds, 0);
}

TEST(HistogramTest, AnObservationOnABoundCountsInThatBucket) {
  Histogram h;
  h.Observe(0ns);    // first bucket (<= 0.5 ms)
  h.Observe(500us);  // exactly 0.5 ms: still the first (le is inclusive)
  h.Observe(501us);  // second (<= 1 ms)
  h.Observe(10s);    // the last bound
  h.Observe(11s);    // +Inf
  h.Observe(-5ms);   // a clock step back counts as zero
  HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.counts[0], 3);
  EXPECT_EQ(s.counts[1], 1);
  EXPECT_EQ(s.counts[Histogram::kBounds.size() - 1], 1);
  EXPECT_EQ(s.counts.back(), 1);
  EXPECT_EQ(s.count(), 6);
  EXPECT_NEAR(s.sum_seconds, 0.0005 + 0.000501 + 10 + 11, 1e-9);
}

TEST(HistogramTest, ConcurrentObserversLoseNothing) {
  Histogram h;
  constexpr int kThreads = 8;
  constexpr int kEach = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kEach; ++i) h.Observe(std::chrono::microseconds(100 * (t + 1)));
    });
  }
  for (auto& t : threads) t.join();
  HistogramSnapshot s = h.Snapshot();
  EXPECT_EQ(s.count(), int64_t{kThreads} * kEach);
  // 100..800 us: 0.1-0.5 ms in the first bucket, 0.6-0.8 ms in the second.
  EXPECT_EQ(s.counts[0], int64_t{5} * kEach);
  EXPECT_EQ(s.counts[1], int64_t{3} * kEach);
  EXPECT_NEAR(s.sum_seconds, kEach * 0.0001 * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8), 1e-6);
}

}  // namespace
}  // namespace groupcache
