// The server's limits and its worker pool, without any I/O.

#include "server_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "worker_pool.h"

namespace groupcache::internal {
namespace {

using namespace std::chrono_literals;

TEST(ConnectionTableTest, ClosesTheLongestIdleConnectionOnceAndNeverABusyOne) {
  ConnectionTable table;
  std::vector<int> closed;
  auto add = [&](int id) {
    return table.Add([&closed, id](bool even_busy) {
      EXPECT_FALSE(even_busy);
      closed.push_back(id);
    });
  };
  auto busy = add(1);
  auto newer = add(2);
  auto older = add(3);
  busy->SetBusy();
  const Clock::time_point now = Clock::now();
  newer->SetIdle(now - 1s);
  older->SetIdle(now - 5s);
  EXPECT_EQ(table.size(), 3U);
  ASSERT_TRUE(table.CloseLongestIdle());
  ASSERT_TRUE(table.CloseLongestIdle());   // the next one: 3 was asked already
  EXPECT_FALSE(table.CloseLongestIdle());  // only the busy one is left
  EXPECT_EQ(closed, (std::vector<int>{3, 2}));
  older.reset();
  EXPECT_EQ(table.size(), 2U);
}

// A connection asked to close may decline (a request began before the close
// ran): once idle again it can be asked again, rather than never.
TEST(ConnectionTableTest, AConnectionThatDeclinedIsAskedAgainInItsNextIdleSpell) {
  ConnectionTable table;
  int asked = 0;
  auto e = table.Add([&asked](bool) { ++asked; });
  e->SetIdle(Clock::now() - 1s);
  ASSERT_TRUE(table.CloseLongestIdle());
  EXPECT_FALSE(table.CloseLongestIdle());  // asked already in this spell
  e->SetBusy();                            // it declined: a request came
  e->SetIdle(Clock::now());
  ASSERT_TRUE(table.CloseLongestIdle());
  EXPECT_EQ(asked, 2);
}

// A stopping server closes every connection, busy or idle, asked already
// or not.
TEST(ConnectionTableTest, CloseAllAsksEveryConnectionEvenBusyOnes) {
  ConnectionTable table;
  std::vector<std::pair<int, bool>> closed;
  auto add = [&](int id) {
    return table.Add([&closed, id](bool even_busy) { closed.emplace_back(id, even_busy); });
  };
  auto busy = add(1);
  auto idle = add(2);
  busy->SetBusy();
  idle->SetIdle(Clock::now() - 1s);
  ASSERT_TRUE(table.CloseLongestIdle());  // 2, asked once already
  table.CloseAll();
  EXPECT_EQ(closed, (std::vector<std::pair<int, bool>>{{2, false}, {1, true}, {2, true}}));
}

TEST(BodyBudgetTest, RefusesWhatWouldGoOverButAlwaysFitsOneBody) {
  BodyBudget budget(100);
  EXPECT_TRUE(budget.TryReserve(60));
  EXPECT_FALSE(budget.TryReserve(50));
  EXPECT_TRUE(budget.TryReserve(40));
  budget.Release(60);
  budget.Release(40);
  EXPECT_EQ(budget.used(), 0U);
  EXPECT_TRUE(budget.TryReserve(500));  // alone, over the limit: still fits
  EXPECT_FALSE(budget.TryReserve(1));
  budget.Release(500);
}

TEST(AcceptBackoffTest, DoublesUpToOneSecondAndResetsOnSuccess) {
  AcceptBackoff backoff;
  EXPECT_EQ(backoff.Fail(), 10ms);
  EXPECT_EQ(backoff.Fail(), 20ms);
  for (int i = 0; i < 10; ++i) backoff.Fail();
  EXPECT_EQ(backoff.Fail(), 1000ms);
  backoff.Succeed();
  EXPECT_EQ(backoff.Fail(), 10ms);
}

TEST(LogLimiterTest, OneLinePerPeriodWithTheCountHeldBack) {
  LogLimiter limiter(10s);
  const Clock::time_point t0 = Clock::now();
  int64_t suppressed = -1;
  EXPECT_TRUE(limiter.Allow(t0, &suppressed));
  EXPECT_EQ(suppressed, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(limiter.Allow(t0 + 1s, &suppressed));
  EXPECT_TRUE(limiter.Allow(t0 + 10s, &suppressed));
  EXPECT_EQ(suppressed, 1000);
}

TEST(WorkerPoolTest, CloseDropsQueuedJobsUnrunWaitsForRunningOnesAndRefusesLater) {
  auto pool = std::make_shared<WorkerPool>(1, 10);
  std::atomic<bool> release{false};
  std::atomic<bool> running{false};
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool->TrySubmit([&] {
    running = true;
    while (!release) std::this_thread::sleep_for(1ms);
    ++ran;
  }));
  // The first job is on the thread before the others queue behind it.
  while (!running) std::this_thread::sleep_for(1ms);
  // Queued behind it: each owns something whose destruction we can see.
  auto owned = std::make_shared<int>(0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(pool->TrySubmit([owned, &ran] { ++ran; }));
  EXPECT_EQ(owned.use_count(), 6);
  std::thread closer([&] { pool->Close(); });
  std::this_thread::sleep_for(50ms);
  release = true;
  closer.join();
  EXPECT_EQ(ran.load(), 1);              // only the running one
  EXPECT_EQ(owned.use_count(), 1);       // the queued ones were destroyed
  EXPECT_FALSE(pool->TrySubmit([] {}));  // closed
}

TEST(WorkerPoolTest, RefusesBeyondItsQueueLimit) {
  WorkerPool pool(1, 2);
  std::atomic<bool> release{false};
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    if (pool.TrySubmit([&] {
          while (!release) std::this_thread::sleep_for(1ms);
        })) {
      ++accepted;
    }
  }
  EXPECT_EQ(accepted, 3);  // one running, two waiting
  release = true;
  pool.Close();
}

}  // namespace
}  // namespace groupcache::internal
