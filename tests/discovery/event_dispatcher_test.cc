// EventDispatcher: events in order on one thread, and Stop from several
// threads at once (Close may race with a destructor or another Close).

#include "event_dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace groupcache::discovery::internal {
namespace {

using std::chrono::milliseconds;

Event Added(int port) { return Event{Event::Kind::kAdded, Node{"n", "127.0.0.1", port}, {}}; }

TEST(EventDispatcherTest, DeliversInOrderOnItsOwnThread) {
  EventDispatcher d;
  std::mutex mu;
  std::vector<int> ports;
  std::atomic<bool> on_thread{true};
  ASSERT_TRUE(d.Start([&](const Event& e) {
    on_thread = on_thread && d.OnDispatcherThread();
    std::lock_guard<std::mutex> lock(mu);
    ports.push_back(e.node.port);
  }));
  EXPECT_FALSE(d.Start([](const Event&) {}));
  EXPECT_FALSE(d.OnDispatcherThread());
  for (int p = 1; p <= 100; ++p) d.Post(Added(p));
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (ports.size() == 100) break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  d.Stop();
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(ports.size(), 100u);
  for (int p = 1; p <= 100; ++p) EXPECT_EQ(ports[p - 1], p);
  EXPECT_TRUE(on_thread);
  d.Post(Added(101));  // after Stop: dropped
  EXPECT_EQ(ports.size(), 100u);
}

TEST(EventDispatcherTest, ConcurrentStopsAllWaitForTheRunningCallback) {
  for (int round = 0; round < 5; ++round) {
    EventDispatcher d;
    std::atomic<bool> entered{false};
    std::atomic<bool> finished{false};
    ASSERT_TRUE(d.Start([&](const Event&) {
      entered = true;
      std::this_thread::sleep_for(milliseconds(100));
      finished = true;
    }));
    d.Post(Added(1));
    while (!entered) std::this_thread::sleep_for(milliseconds(1));
    std::atomic<int> saw_finished{0};
    std::vector<std::thread> stoppers;
    for (int i = 0; i < 4; ++i) {
      stoppers.emplace_back([&] {
        d.Stop();
        if (finished) ++saw_finished;
      });
    }
    for (std::thread& t : stoppers) t.join();
    EXPECT_EQ(saw_finished, 4) << "a Stop returned while the callback was still running";
    d.Stop();  // and once more: idempotent
  }
}

TEST(EventDispatcherTest, StopWithoutStartReturns) {
  EventDispatcher d;
  d.Stop();
  d.Stop();
  EXPECT_FALSE(d.Start([](const Event&) {}));  // stopped for good
}

}  // namespace
}  // namespace groupcache::discovery::internal
