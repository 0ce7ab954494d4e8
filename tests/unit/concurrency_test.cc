// Single-flight and the group under many threads: run under TSan too.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cache.h"
#include "groupcache/registry.h"
#include "key_hash.h"
#include "mutex.h"
#include "reader_gate.h"
#include "single_flight.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

// A gate a getter can wait on: opened by the test, or left when the
// getter's context is done.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Marks that a getter reached the gate; WaitEntered blocks until one has.
  Status Wait(const Context& ctx) {
    std::unique_lock lock(mu_);
    ++entered_;
    cv_.notify_all();
    auto reg = ctx.OnCancel([this] {
      std::lock_guard l(mu_);
      cv_.notify_all();
    });
    while (!open_ && !ctx.Done()) {
      if (auto d = ctx.deadline()) {
        cv_.wait_until(lock, *d);
      } else {
        cv_.wait(lock);
      }
    }
    return open_ ? Status() : ctx.Err();
  }
  void WaitEntered(int n = 1) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int entered_ = 0;
};

// Blocks until `pred` holds, yielding; bounded so a bug fails, not hangs.
template <typename Pred>
bool Eventually(Pred pred) {
  auto end = Clock::now() + 10s;
  while (!pred()) {
    if (Clock::now() > end) return false;
    std::this_thread::yield();
  }
  return true;
}

// The shard lock: every increment under it survives 4 threads hammering it
// (the uncontended, spinning and sleeping paths all run: the holder sleeps
// now and then, so waiters outlast their spin and sleep on the futex).
TEST(MutexTest, ExcludesUnderContentionIncludingSleepingWaiters) {
  internal::Mutex mu;
  int64_t counter = 0;  // plain: only the lock protects it
  constexpr int kThreads = 4;
  constexpr int kIters = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIters; ++i) {
        std::lock_guard lock(mu);
        int64_t seen = counter;
        if (i % 2000 == t) std::this_thread::sleep_for(200us);
        counter = seen + 1;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counter, int64_t{kThreads} * kIters);
}

// S3-FIFO hits run through the reader gate while writers add, replace,
// remove and evict in the same shard: every value read is whole and
// belongs to its key (a reader never sees a freed or half-replaced entry;
// TSan checks the ordering), and every lookup is counted once.
TEST(CacheGateTest, ReadersRaceWritersSafely) {
  internal::Cache cache(int64_t{64} * 40, 1, Eviction::kS3Fifo);  // ~64 of 200 keys fit
  auto key = [](int i) { return "key-" + std::to_string(i); };
  auto value = [](const std::string& k, int version) {
    return k + "#" + std::to_string(version) + std::string(24, '.');
  };
  std::atomic<bool> stop{false};
  std::atomic<int64_t> lookups{0};
  std::atomic<int64_t> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      int64_t n = 0;
      for (int i = t; !stop.load(std::memory_order_relaxed); i = (i * 7 + 3) % 200) {
        const std::string k = key(i);
        cache.Visit(k, [&](const ByteView& v, CacheType) {
          // "<key>#<version of 1-2 digits>........................"
          std::string_view s = v.view();
          const bool whole = s.starts_with(k + "#") && s.ends_with(std::string(24, '.')) &&
                             s.size() >= k.size() + 26 && s.size() <= k.size() + 27;
          if (!whole) bad.fetch_add(1);
        });
        ++n;
      }
      lookups.fetch_add(n);
    });
  }
  threads.emplace_back([&] {
    for (int round = 0; round < 20000; ++round) {
      const int i = (round * 13) % 200;
      if (round % 5 == 4) {
        cache.Remove(key(i));
      } else {
        cache.Add(CacheType::kMain, key(i), ByteView::Copy(value(key(i), round % 100)));
      }
    }
    stop.store(true);
  });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(cache.Stats(CacheType::kMain).gets, lookups.load());
  EXPECT_LE(cache.Stats(CacheType::kMain).bytes, 64 * 40);
}

// Holds a reader inside `key`'s shard (its visitor first runs `in_visitor`,
// then waits), then expects `write` to wait for it and to complete once it
// leaves.
void ExpectWriteWaitsForVisitor(internal::Cache& cache, const std::string& key,
                                const std::function<void()>& in_visitor,
                                const std::function<void()>& write, const char* why) {
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  std::atomic<bool> written{false};
  std::thread reader([&] {
    cache.Visit(key, [&](const ByteView&, CacheType) {
      in_visitor();
      inside = true;
      while (!release.load()) std::this_thread::sleep_for(1ms);
    });
  });
  EXPECT_TRUE(Eventually([&] { return inside.load(); }));
  std::thread writer([&] {
    write();
    written = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(written.load()) << why;
  release = true;
  EXPECT_TRUE(Eventually([&] { return written.load(); }));
  reader.join();
  writer.join();
}

// A writer of a shard waits for the reader inside it (here one held inside
// by its visitor), and only for it: the write completes once it leaves.
TEST(CacheGateTest, AWriterWaitsForTheReaderInsideItsShard) {
  internal::Cache cache(1 << 20, 1, Eviction::kS3Fifo);
  cache.Add(CacheType::kMain, "a", ByteView::Copy("value-a"));
  ExpectWriteWaitsForVisitor(
      cache, "a", [] {}, [&] { cache.Add(CacheType::kMain, "b", ByteView::Copy("value-b")); },
      "the write went ahead with a reader inside");
  ByteView b;
  EXPECT_TRUE(cache.Lookup("b", &b));
}

// A visitor that reads its own cache breaks the cache's contract, but must
// not open its shard to writers: the inner lookup (of another shard) takes
// the mutex path and leaves the outer reader's record alone, so a writer of
// the outer shard still waits for the outer visitor.
TEST(CacheGateTest, AVisitorReadingItsOwnCacheStillKeepsTheWriterOut) {
  internal::Cache cache(1 << 20, 4, Eviction::kS3Fifo);
  auto shard = [](const std::string& k) { return (internal::KeyHash(k) >> 48) & 3; };
  const std::string outer = "outer";
  std::string inner = "inner-0";
  std::string same = "same-0";  // a key written in the outer key's shard
  for (int i = 1; shard(inner) == shard(outer); ++i) inner = "inner-" + std::to_string(i);
  for (int i = 1; shard(same) != shard(outer); ++i) same = "same-" + std::to_string(i);
  cache.Add(CacheType::kMain, outer, ByteView::Copy("o"));
  cache.Add(CacheType::kMain, inner, ByteView::Copy("i"));
  bool inner_found = false;
  ExpectWriteWaitsForVisitor(
      cache, outer,
      [&] {
        ByteView v;
        inner_found = cache.Lookup(inner, &v) && v.view() == "i";
      },
      [&] { cache.Add(CacheType::kMain, same, ByteView::Copy("s")); },
      "the inner lookup let a writer into the outer shard");
  EXPECT_TRUE(inner_found);
}

// A closing writer finds the reader of the 40th thread to hold a record at
// once (records are made as threads come), and waits for the
// one inside its shard only.
TEST(ReaderGatesTest, ACloseSeesTheRecordOfTheFortiethThread) {
  internal::ReaderGates gates;
  std::array<internal::ReaderGates::Gate, 2> gate;
  gate[0].set_shard(0);
  gate[1].set_shard(1);
  constexpr int kThreads = 40;
  std::atomic<int> entered{0};
  std::atomic<bool> release_others{false};
  std::atomic<bool> release_last{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const size_t shard = t == kThreads - 1 ? 0 : 1;
      // Entered one after another, so the last is the last record claimed.
      while (entered.load() != t) std::this_thread::yield();
      internal::ReaderGates::Reader* r = gates.TryEnter(gate[shard]);
      EXPECT_NE(r, nullptr);
      entered.fetch_add(1);
      std::atomic<bool>& release = shard == 0 ? release_last : release_others;
      while (!release.load()) std::this_thread::sleep_for(1ms);
      if (r != nullptr) internal::ReaderGates::Leave(r);
    });
  }
  ASSERT_TRUE(Eventually([&] { return entered.load() == kThreads; }));
  int records = 0;
  gates.ForEachReader([&](const internal::ReaderGates::Reader&) { ++records; });
  EXPECT_EQ(records, kThreads);
  std::atomic<bool> closed{false};
  std::thread closer([&] {
    gates.Close(gate[0]);
    closed = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(closed.load()) << "closed with the 40th thread's reader inside";
  release_last = true;
  EXPECT_TRUE(Eventually([&] { return closed.load(); }));
  closer.join();
  // Shard 1's gate was never closed: its 39 readers are still inside.
  EXPECT_EQ(gates.TryEnter(gate[0]), nullptr) << "entered a closed gate";
  internal::ReaderGates::Open(gate[0]);
  release_others = true;
  for (auto& th : threads) th.join();
}

// More threads than the table takes hold records at once: the rest read
// through the mutex path (TryEnter says so), and a writer's scan stays
// bounded by the table's size, not by the threads that ever read. Once
// holders exit, the others get the records they gave back.
TEST(ReaderGatesTest, ThreadsBeyondTheTablesSizeReadThroughTheMutexPathUntilOneIsFree) {
  internal::ReaderGates gates;
  internal::ReaderGates::Gate gate;
  const int threads_count = static_cast<int>(gates.max_readers()) + 6;
  std::atomic<int> tried{0};
  std::atomic<int> holders{0};
  std::atomic<bool> holders_leave{false};
  std::atomic<int> holders_left{0};
  std::atomic<int> late_entries{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_count; ++t) {
    threads.emplace_back([&] {
      internal::ReaderGates::Reader* r = gates.TryEnter(gate);
      if (r != nullptr) holders.fetch_add(1);
      tried.fetch_add(1);
      if (r != nullptr) {
        internal::ReaderGates::Leave(r);
        while (!holders_leave.load()) std::this_thread::sleep_for(1ms);
        holders_left.fetch_add(1);
        return;  // gives the record back
      }
      // Still none while the table is full.
      EXPECT_EQ(gates.TryEnter(gate), nullptr);
      while (holders_left.load() != static_cast<int>(gates.max_readers())) {
        std::this_thread::sleep_for(1ms);
      }
      // The holders give their records back as their threads end.
      const auto deadline = std::chrono::steady_clock::now() + 5s;
      while (std::chrono::steady_clock::now() < deadline) {
        if (internal::ReaderGates::Reader* again = gates.TryEnter(gate)) {
          late_entries.fetch_add(1);
          internal::ReaderGates::Leave(again);
          break;
        }
        std::this_thread::sleep_for(1ms);
      }
    });
  }
  ASSERT_TRUE(Eventually([&] { return tried.load() == threads_count; }));
  EXPECT_EQ(holders.load(), static_cast<int>(gates.max_readers()));
  holders_leave = true;
  for (auto& th : threads) th.join();
  EXPECT_EQ(late_entries.load(), 6) << "a thread refused once was refused for good";
  int records = 0;
  gates.ForEachReader([&](const internal::ReaderGates::Reader&) { ++records; });
  EXPECT_EQ(records, static_cast<int>(gates.max_readers()));
}

// A thread's record is given back when it exits and taken, with its
// counts, by the next thread: threads that come and go do not grow the
// table, and their lookups stay counted.
TEST(ReaderGatesTest, AnExitedThreadsRecordIsReusedWithItsCounts) {
  internal::Cache cache(1 << 20, 1, Eviction::kS3Fifo);
  cache.Add(CacheType::kMain, "k", ByteView::Copy("v"));
  constexpr int kThreads = 50;
  constexpr int kReads = 10;
  for (int t = 0; t < kThreads; ++t) {
    std::thread([&] {
      for (int i = 0; i < kReads; ++i) {
        ByteView v;
        EXPECT_TRUE(cache.Lookup("k", &v));
      }
    }).join();
  }
  EXPECT_EQ(cache.Stats(CacheType::kMain).gets, kThreads * kReads);
  EXPECT_EQ(cache.Stats(CacheType::kMain).hits, kThreads * kReads);

  internal::ReaderGates gates;
  internal::ReaderGates::Gate gate;
  for (int t = 0; t < 5; ++t) {
    std::thread([&] { internal::ReaderGates::Leave(gates.TryEnter(gate)); }).join();
  }
  int records = 0;
  int64_t gets = 0;
  gates.ForEachReader([&](const internal::ReaderGates::Reader& r) {
    ++records;
    gets += r.gets.load();
  });
  EXPECT_EQ(records, 1);
  EXPECT_EQ(gets, 5);
}

// One thread reading more caches in turn than it keeps records for, and
// caches destroyed and made again in between (a new one may take a dead
// one's address): every lookup lands in its own cache's statistics.
TEST(ReaderGatesTest, AThreadReadingManyCachesInTurnCountsEachInItsOwn) {
  constexpr int kCaches = 100;  // more than a thread keeps records for
  for (int round = 0; round < 3; ++round) {
    std::vector<std::unique_ptr<internal::Cache>> caches;
    for (int c = 0; c < kCaches; ++c) {
      caches.push_back(std::make_unique<internal::Cache>(1 << 16, 1, Eviction::kS3Fifo));
      caches.back()->Add(CacheType::kMain, "k", ByteView::Copy(std::to_string(c)));
    }
    for (int pass = 0; pass < 2; ++pass) {
      for (int c = 0; c < kCaches; ++c) {
        ByteView v;
        ASSERT_TRUE(caches[c]->Lookup("k", &v));
        EXPECT_EQ(v.view(), std::to_string(c));
      }
    }
    for (int c = 0; c < kCaches; ++c) {
      EXPECT_EQ(caches[c]->Stats(CacheType::kMain).gets, 2) << "cache " << c << ", round " << round;
    }
  }
}

// A lookup from a thread-local's destructor, after the thread gave its
// records back, takes the mutex path: found, counted, no record reused.
TEST(ReaderGatesTest, ALookupFromAThreadLocalDestructorTakesTheMutexPath) {
  struct LookupAtExit {
    internal::Cache* cache = nullptr;
    std::atomic<int>* found = nullptr;
    ~LookupAtExit() {
      if (ByteView v; cache != nullptr && cache->Lookup("k", &v) && v.view() == "v") ++*found;
    }
  };
  internal::Cache cache(1 << 20, 1, Eviction::kS3Fifo);
  cache.Add(CacheType::kMain, "k", ByteView::Copy("v"));
  std::atomic<int> found{0};
  std::thread([&] {
    // Made before the thread's first lookup, so destroyed after its
    // records are given back.
    thread_local LookupAtExit at_exit;
    at_exit.cache = &cache;
    at_exit.found = &found;
    ByteView v;
    EXPECT_TRUE(cache.Lookup("k", &v));
  }).join();
  EXPECT_EQ(found.load(), 1);
  EXPECT_EQ(cache.Stats(CacheType::kMain).gets, 2);
}

// A waiter sleeping on the futex is woken by unlock, not left behind.
TEST(MutexTest, UnlockWakesASleepingWaiter) {
  internal::Mutex mu;
  std::atomic<bool> acquired{false};
  mu.lock();
  std::thread waiter([&] {
    std::lock_guard lock(mu);
    acquired = true;
  });
  std::this_thread::sleep_for(50ms);  // far past the spin: it sleeps
  EXPECT_FALSE(acquired.load());
  mu.unlock();
  EXPECT_TRUE(Eventually([&] { return acquired.load(); }));
  waiter.join();
}

TEST(SingleFlightTest, SharesOneRunAmongConcurrentCallers) {
  internal::SingleFlight<int> flight;
  Gate gate;
  std::atomic<int> runs{0};
  std::vector<std::thread> threads;
  std::vector<int> results(16, 0);
  std::atomic<int> shared_count{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      bool shared = false;
      auto r = flight.Do(
          {}, "k",
          [&](const Context& ctx) -> Result<int> {
            ++runs;
            Status s = gate.Wait(ctx);
            if (!s.ok()) return s;
            return 42;
          },
          {}, &shared);
      results[i] = r.ok() ? *r : -1;
      if (shared) ++shared_count;
    });
  }
  gate.WaitEntered();
  ASSERT_TRUE(Eventually([&] { return flight.InFlight() == 1; }));
  gate.Open();
  for (auto& t : threads) t.join();
  for (int r : results) EXPECT_EQ(r, 42);
  // Callers that arrived after the first run finished start their own; all
  // that overlapped it shared it.
  EXPECT_GE(runs.load(), 1);
  EXPECT_EQ(runs.load() + shared_count.load(), 16);
  EXPECT_EQ(flight.InFlight(), 0U);
}

TEST(SingleFlightTest, DifferentTagsDoNotShare) {
  internal::SingleFlight<int, int> flight;
  Gate gate;
  std::atomic<int> runs{0};
  std::thread first([&] {
    auto r = flight.Do(
        {}, "k",
        [&](const Context& c) -> Result<int> {
          ++runs;
          (void)gate.Wait(c);
          return 1;
        },
        1);
    EXPECT_EQ(*r, 1);
  });
  gate.WaitEntered();
  std::thread second([&] {
    auto r = flight.Do(
        {}, "k",
        [&](const Context&) -> Result<int> {
          ++runs;
          return 2;
        },
        2);
    EXPECT_EQ(*r, 2);  // its own value, run after the first finished
  });
  gate.Open();
  first.join();
  second.join();
  EXPECT_EQ(runs.load(), 2);
}

// Collects Results from DoAsync callbacks, on any thread.
template <typename T>
class Results {
 public:
  std::function<void(const Result<T>&)> Callback() {
    return [this](const Result<T>& r) {
      std::lock_guard lock(mu_);
      got_.push_back(r);
    };
  }
  size_t size() {
    std::lock_guard lock(mu_);
    return got_.size();
  }
  std::vector<Result<T>> got() {
    std::lock_guard lock(mu_);
    return got_;
  }

 private:
  std::mutex mu_;
  std::vector<Result<T>> got_;
};

TEST(SingleFlightTest, AsyncAndBlockingCallersShareOneRun) {
  using Flight = internal::SingleFlight<int>;
  Flight flight;
  std::atomic<int> runs{0};
  std::mutex mu;
  std::optional<Flight::Finisher> finisher;
  Flight::Start start = [&](const Context&, std::string_view key, Flight::Finisher f) {
    EXPECT_EQ(key, "k");
    ++runs;
    std::lock_guard lock(mu);
    finisher = std::move(f);
  };
  Results<int> results;
  auto owner = std::make_shared<int>(0);
  flight.DoAsync({}, "k", start, results.Callback(), owner);  // leads, returns at once
  ASSERT_EQ(runs.load(), 1);
  std::vector<std::thread> threads;
  std::atomic<int> blocking_ok{0};
  std::atomic<int> blocking_unshared{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      // A blocking caller that arrives after the finish runs its own call
      // (and says so through `shared`); the others join the async one.
      bool shared = false;
      auto r = flight.Do(
          {}, "k",
          [&](const Context&) -> Result<int> {
            ++runs;
            return 42;
          },
          {}, &shared);
      if (r.ok() && *r == 42) ++blocking_ok;
      if (!shared) ++blocking_unshared;
    });
    threads.emplace_back([&] { flight.DoAsync({}, "k", start, results.Callback(), owner); });
  }
  // Every async follower has registered once its thread returned; the
  // blocking ones are waiting in Do.
  for (size_t i = 1; i < threads.size(); i += 2) threads[i].join();
  EXPECT_EQ(results.size(), 0U);
  std::thread finishing([&] {
    std::lock_guard lock(mu);
    (*finisher)(42);
    (*finisher)(7);  // only the first finish counts
  });
  finishing.join();
  for (size_t i = 0; i < threads.size(); i += 2) threads[i].join();
  EXPECT_EQ(runs.load(), 1 + blocking_unshared.load());
  EXPECT_EQ(blocking_ok.load(), 8);
  ASSERT_EQ(results.size(), 9U);
  for (const auto& r : results.got()) EXPECT_EQ(*r, 42);
  EXPECT_EQ(flight.InFlight(), 0U);
}

TEST(SingleFlightTest, DroppedOrThrowingAsyncRunsReleaseEveryone) {
  using Flight = internal::SingleFlight<int>;
  Flight flight;
  // A start that loses its finisher (a callback dropped by a shutdown).
  std::vector<Flight::Finisher> kept;
  Results<int> results;
  flight.DoAsync(
      {}, "k",
      [&](const Context&, std::string_view, const Flight::Finisher& f) { kept.push_back(f); },
      results.Callback(), nullptr);
  std::thread blocked([&] {
    auto r = flight.Do({}, "k", [](const Context&) -> Result<int> { return 1; });
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  });
  ASSERT_TRUE(Eventually([&] { return flight.InFlight() == 1; }));
  std::this_thread::sleep_for(20ms);  // let the blocking caller wait
  kept.clear();
  blocked.join();
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results.got()[0].status().code(), StatusCode::kUnavailable);

  Results<int> thrown;
  flight.DoAsync(
      {}, "t",
      [](const Context&, std::string_view, const Flight::Finisher&) {
        throw std::runtime_error("start exploded");
      },
      thrown.Callback(), nullptr);
  ASSERT_EQ(thrown.size(), 1U);
  EXPECT_EQ(thrown.got()[0].status().code(), StatusCode::kInternal);
  EXPECT_EQ(flight.InFlight(), 0U);
}

// Forget detaches the call in flight (a write of the key happened): later
// callers start their own, and the forgotten call, when it ends, answers
// its own callers only and leaves its successor in place to be joined.
TEST(SingleFlightTest, AForgottenCallAnswersItsCallersAndLeavesItsSuccessor) {
  using Flight = internal::SingleFlight<int>;
  Flight flight;
  std::vector<Flight::Finisher> kept;
  auto keep = [&](const Context&, std::string_view, const Flight::Finisher& f) {
    kept.push_back(f);
  };
  Results<int> before;
  Results<int> after;
  flight.DoAsync({}, "k", keep, before.Callback(), nullptr);
  flight.Forget("k");
  flight.Forget("other");  // nothing in flight: nothing happens
  flight.DoAsync({}, "k", keep, after.Callback(), nullptr);
  ASSERT_EQ(kept.size(), 2U);  // the second caller started a call of its own
  kept[0](1);                  // the forgotten call ends first
  ASSERT_EQ(before.size(), 1U);
  EXPECT_EQ(*before.got()[0], 1);
  EXPECT_EQ(flight.InFlight(), 1U);
  flight.DoAsync({}, "k", keep, after.Callback(), nullptr);  // joins the successor
  EXPECT_EQ(kept.size(), 2U);
  kept[1](2);
  ASSERT_EQ(after.size(), 2U);
  EXPECT_EQ(*after.got()[0], 2);
  EXPECT_EQ(*after.got()[1], 2);
  EXPECT_EQ(flight.InFlight(), 0U);
}

// A waiter's callback that throws does not strand the waiters after it;
// the exception still reaches the thread that completed the call.
TEST(SingleFlightTest, ACallbackThatThrowsLeavesTheOtherWaitersAnswered) {
  using Flight = internal::SingleFlight<int>;
  Flight flight;
  std::vector<Flight::Finisher> kept;
  auto keep = [&](const Context&, std::string_view, const Flight::Finisher& f) {
    kept.push_back(f);
  };
  flight.DoAsync(
      {}, "k", keep, [](const Result<int>&) { throw std::runtime_error("callback exploded"); },
      nullptr);
  Results<int> after;
  flight.DoAsync({}, "k", keep, after.Callback(), nullptr);
  ASSERT_EQ(kept.size(), 1U);
  EXPECT_THROW(kept[0](7), std::runtime_error);
  ASSERT_EQ(after.size(), 1U);
  EXPECT_EQ(*after.got()[0], 7);
  EXPECT_EQ(flight.InFlight(), 0U);
}

TEST(SingleFlightTest, AsyncFollowerRunsAgainWhenOnlyTheLeadersContextEnded) {
  using Flight = internal::SingleFlight<int>;
  Flight flight;
  CancelSource leader_cancel;
  std::vector<Flight::Finisher> pending;
  std::atomic<int> runs{0};
  Flight::Start start = [&](const Context& ctx, std::string_view, Flight::Finisher f) {
    if (++runs == 1) {
      pending.push_back(std::move(f));  // finished below, after the cancel
    } else {
      f(ctx.Done() ? -1 : 7);
    }
  };
  Results<int> leader, follower;
  flight.DoAsync(leader_cancel.context(), "k", start, leader.Callback(), nullptr);
  flight.DoAsync({}, "k", start, follower.Callback(), nullptr);
  leader_cancel.Cancel();
  pending[0](CancelledError("leader cancelled"));
  ASSERT_EQ(leader.size(), 1U);
  EXPECT_EQ(leader.got()[0].status().code(), StatusCode::kCancelled);
  ASSERT_EQ(follower.size(), 1U);
  ASSERT_TRUE(follower.got()[0].ok()) << follower.got()[0].status().ToString();
  EXPECT_EQ(*follower.got()[0], 7);
  EXPECT_EQ(runs.load(), 2);
}

// A load that finishes inside start (a getter that never blocks) is over
// before DoAsync returns: a cancel that comes later finds nothing to do,
// and the callback, called once with the value, is not kept.
TEST(SingleFlightTest, AsyncCallFinishedInsideStartIgnoresALaterCancel) {
  using Flight = internal::SingleFlight<int>;
  Flight flight;
  CancelSource cancel;
  auto held = std::make_shared<int>(0);
  std::atomic<int> calls{0};
  std::atomic<int> value{0};
  flight.DoAsync(
      cancel.context(), "k",
      [](const Context&, std::string_view, const Flight::Finisher& f) { f(42); },
      [held, &calls, &value](const Result<int>& r) {
        ++calls;
        value = r.ok() ? *r : -1;
      },
      nullptr);
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(value.load(), 42);
  EXPECT_EQ(held.use_count(), 1);  // the callback is gone with its call
  cancel.Cancel();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(flight.InFlight(), 0U);
}

TEST(SingleFlightTest, AsyncWaitersWhoseContextIsCancelledLeaveTheCall) {
  using Flight = internal::SingleFlight<int>;
  Flight flight;
  std::vector<Flight::Finisher> pending;
  Flight::Start start = [&](const Context&, std::string_view, Flight::Finisher f) {
    pending.push_back(std::move(f));
  };
  Results<int> leader;
  flight.DoAsync({}, "k", start, leader.Callback(), nullptr);
  // Followers that give up: what their callbacks hold must be released
  // when they leave, not when the load ends.
  auto held = std::make_shared<int>(0);
  std::vector<std::unique_ptr<CancelSource>> cancels;
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 100; ++i) {
    cancels.push_back(std::make_unique<CancelSource>());
    flight.DoAsync(
        cancels.back()->context(), "k", start,
        [held, &cancelled](const Result<int>& r) {
          EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
          ++cancelled;
        },
        nullptr);
  }
  EXPECT_GT(held.use_count(), 100);  // held by every waiter
  // Cancelled from other threads, as a server's timers do.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < cancels.size(); i += 4) cancels[i]->Cancel();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(cancelled.load(), 100);
  EXPECT_EQ(held.use_count(), 1);
  EXPECT_EQ(flight.InFlight(), 1U);  // the load goes on for the leader
  // A waiter that is already cancelled does not join at all.
  Results<int> late;
  flight.DoAsync(cancels[0]->context(), "k", start, late.Callback(), nullptr);
  ASSERT_EQ(late.size(), 1U);
  EXPECT_EQ(late.got()[0].status().code(), StatusCode::kCancelled);
  ASSERT_EQ(pending.size(), 1U);
  pending[0](5);
  ASSERT_EQ(leader.size(), 1U);
  EXPECT_EQ(*leader.got()[0], 5);
  EXPECT_EQ(cancelled.load(), 100);  // nobody is called twice
  EXPECT_EQ(flight.InFlight(), 0U);
}

TEST(SingleFlightTest, CancelRacingCompletionCallsEachWaiterOnce) {
  using Flight = internal::SingleFlight<int>;
  for (int round = 0; round < 200; ++round) {
    Flight flight;
    std::optional<Flight::Finisher> finisher;
    Flight::Start start = [&](const Context&, std::string_view, Flight::Finisher f) {
      finisher = std::move(f);
    };
    Results<int> leader;
    flight.DoAsync({}, "k", start, leader.Callback(), nullptr);
    CancelSource cancel;
    std::atomic<int> calls{0};
    flight.DoAsync(
        cancel.context(), "k", start, [&calls](const Result<int>&) { ++calls; }, nullptr);
    std::thread canceller([&] { cancel.Cancel(); });
    (*finisher)(1);
    canceller.join();
    EXPECT_EQ(calls.load(), 1) << "round " << round;
    EXPECT_EQ(leader.size(), 1U);
  }
}

class GroupConcurrencyTest : public ::testing::Test {
 protected:
  GroupConcurrencyTest() : registry_(RegistryOptions{NewNullLogger()}) {}

  // A group whose getter counts its calls and holds each load at `gate`
  // (or until the load's context ends), then answers `value`.
  std::shared_ptr<Group> GatedGroup(Gate& gate, std::atomic<int>& loads, std::string value) {
    return *registry_.NewGroup(
        "g", 1 << 20,
        [&gate, &loads, value = std::move(value)](const Context& ctx, std::string_view, Sink& d) {
          ++loads;
          Status s = gate.Wait(ctx);
          if (!s.ok()) return s;
          return d.SetString(value);
        });
  }

  Registry registry_;
};

TEST_F(GroupConcurrencyTest, SixtyFourCallersOnOneColdKeyCauseOneLoad) {
  std::atomic<int> loads{0};
  std::shared_ptr<Group> g;
  g = *registry_.NewGroup("g", 1 << 20, [&](const Context&, std::string_view key, Sink& d) {
    ++loads;
    // Hold the load open until every caller has asked, so they all overlap.
    EXPECT_TRUE(Eventually([&] { return g->Stats().gets >= 64; }));
    return d.SetString("value-of-" + std::string(key));
  });
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&] {
      std::string out;
      StringSink sink(&out);
      if (g->Get({}, "cold", sink).ok() && out == "value-of-cold") ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(ok.load(), 64);
  GroupStats s = g->Stats();
  EXPECT_EQ(s.gets, 64);
  EXPECT_EQ(s.loads_deduped, 1);
  EXPECT_EQ(s.local_loads, 1);
}

TEST_F(GroupConcurrencyTest, ThrowingGetterReleasesEveryWaiterWithAnError) {
  std::atomic<int> loads{0};
  std::shared_ptr<Group> g;
  g = *registry_.NewGroup("g", 1 << 20, [&](const Context&, std::string_view, Sink&) -> Status {
    ++loads;
    EXPECT_TRUE(Eventually([&] { return g->Stats().gets >= 32; }));
    throw std::runtime_error("getter exploded");
  });
  std::vector<std::thread> threads;
  std::atomic<int> internal_errors{0};
  for (int i = 0; i < 32; ++i) {
    threads.emplace_back([&] {
      auto r = g->Get({}, "k");
      if (r.status().code() == StatusCode::kInternal &&
          r.status().message().find("getter exploded") != std::string::npos) {
        ++internal_errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(internal_errors.load(), 32);
  EXPECT_GE(loads.load(), 1);
  EXPECT_EQ(g->Stats().local_load_errs, loads.load());
}

TEST_F(GroupConcurrencyTest, ImpatientFollowerLeavesPromptlyOthersGetValue) {
  Gate gate;
  std::atomic<int> loads{0};
  auto g = GatedGroup(gate, loads, "slow-value");
  Result<ByteView> patient = InternalError("not run");
  std::thread leader([&] { patient = g->Get({}, "k"); });
  gate.WaitEntered();

  auto start = Clock::now();
  auto r = g->Get(Context::Background().WithTimeout(50ms), "k");
  auto waited = Clock::now() - start;
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(waited, 2s);  // returned on its own deadline, not the load's

  CancelSource cancel;
  std::thread canceller([&] {
    // Cancel once the follower is waiting (its get is counted first).
    EXPECT_TRUE(Eventually([&] { return g->Stats().gets >= 3; }));
    cancel.Cancel();
  });
  auto c = g->Get(cancel.context(), "k");
  canceller.join();
  EXPECT_EQ(c.status().code(), StatusCode::kCancelled);

  gate.Open();
  leader.join();
  ASSERT_TRUE(patient.ok()) << patient.status().ToString();
  EXPECT_EQ(*patient, "slow-value");
  EXPECT_EQ(loads.load(), 1);
}

TEST_F(GroupConcurrencyTest, LeaderDeadlineIsNotInheritedByFollowers) {
  // The first caller leads with a short deadline and a getter that honours
  // it; the patient follower must not get the leader's DeadlineExceeded but
  // run the load again and get the value.
  std::atomic<int> loads{0};
  Gate first_load;
  auto g = *registry_.NewGroup("g", 1 << 20, [&](const Context& ctx, std::string_view, Sink& d) {
    if (++loads == 1) {
      Status s = first_load.Wait(ctx);  // never opened: ends with ctx
      if (!s.ok()) return s;
    }
    return d.SetString("value");
  });
  Result<ByteView> leader_result = InternalError("not run");
  std::thread leader(
      [&] { leader_result = g->Get(Context::Background().WithTimeout(200ms), "k"); });
  first_load.WaitEntered();
  auto follower = g->Get({}, "k");
  leader.join();
  EXPECT_EQ(leader_result.status().code(), StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(follower.ok()) << follower.status().ToString();
  EXPECT_EQ(*follower, "value");
  EXPECT_EQ(loads.load(), 2);
}

// A transport's asynchronous requests and application threads on one cold
// key: one load, everybody gets its value, no thread is held by the waits.
TEST_F(GroupConcurrencyTest, AsyncAndBlockingGetsOfOneColdKeyCauseOneLoad) {
  Gate gate;
  std::atomic<int> loads{0};
  auto g = GatedGroup(gate, loads, "value");
  std::vector<std::jthread> workers;
  std::mutex workers_mu;
  Group::LocalRunner run_local = [&](std::function<void()> job) {
    std::lock_guard lock(workers_mu);
    workers.emplace_back(std::move(job));
    return true;
  };
  Results<ByteView> async_results;
  for (int i = 0; i < 16; ++i) g->GetForPeerAsync({}, "k", run_local, async_results.Callback());
  gate.WaitEntered();
  std::vector<std::thread> blocking;
  std::atomic<int> blocking_ok{0};
  for (int i = 0; i < 8; ++i) {
    blocking.emplace_back([&] {
      auto r = g->Get({}, "k");
      if (r.ok() && *r == "value") ++blocking_ok;
    });
  }
  EXPECT_TRUE(Eventually([&] { return g->Stats().gets >= 24; }));
  gate.Open();
  for (auto& t : blocking) t.join();
  ASSERT_TRUE(Eventually([&] { return async_results.size() == 16; }));
  for (const auto& r : async_results.got()) EXPECT_EQ(*r, "value");
  EXPECT_EQ(blocking_ok.load(), 8);
  EXPECT_EQ(loads.load(), 1);
  {
    std::lock_guard lock(workers_mu);
    EXPECT_EQ(workers.size(), 1U);
  }
  GroupStats s = g->Stats();
  EXPECT_EQ(s.server_requests, 16);
  EXPECT_EQ(s.loads_deduped, 1);
}

// Counters that Stats derives from others (gets, hits) never go down from
// one snapshot to the next while lookups hit, miss and look again: a
// decrease reads as a counter reset to Prometheus.
TEST_F(GroupConcurrencyTest, StatsCountersNeverGoDownUnderTraffic) {
  auto g = *registry_.NewGroup("g", 1 << 20, [](const Context&, std::string_view key, Sink& d) {
    return d.SetString(std::string(key));
  });
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  threads.emplace_back([&] {  // misses: each load's leader looks again
    for (int i = 0; !stop; ++i) (void)g->Get({}, "fresh-" + std::to_string(i));
  });
  threads.emplace_back([&] {  // hits, and misses through the gate
    for (int i = 0; !stop; ++i) (void)g->Get({}, i % 2 == 0 ? "warm" : "fresh-0");
  });
  std::string first_decrease;
  int decreases = 0;
  GroupStats last;
  CacheStats last_main;
  for (auto end = std::chrono::steady_clock::now() + 2s; std::chrono::steady_clock::now() < end;) {
    const GroupStats s = g->Stats();
    const CacheStats main = g->GetCacheStats(CacheType::kMain);
    if (s.gets < last.gets || s.cache_hits < last.cache_hits || main.gets < last_main.gets ||
        main.hits < last_main.hits) {
      if (decreases++ == 0) {
        first_decrease = "gets " + std::to_string(last.gets) + " -> " + std::to_string(s.gets) +
                         ", cache_hits " + std::to_string(last.cache_hits) + " -> " +
                         std::to_string(s.cache_hits) + ", main gets " +
                         std::to_string(last_main.gets) + " -> " + std::to_string(main.gets) +
                         ", main hits " + std::to_string(last_main.hits) + " -> " +
                         std::to_string(main.hits);
      }
    }
    last = s;
    last_main = main;
  }
  stop = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(decreases, 0) << "first: " << first_decrease;
  EXPECT_GT(last.gets, 1000);
}

TEST_F(GroupConcurrencyTest, ConcurrentMixedTrafficStaysConsistent) {
  auto g = *registry_.NewGroup("g", 1024, [](const Context&, std::string_view key, Sink& d) {
    return d.SetString(std::string(key) + "!");
  });
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string key = "k" + std::to_string((i * 7 + t) % 300);
        if (i % 50 == 0) {
          (void)g->Remove({}, key);
          continue;
        }
        auto r = g->Get({}, key);
        if (!r.ok() || *r != key + "!") ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  CacheStats main = g->GetCacheStats(CacheType::kMain);
  EXPECT_LE(main.bytes, 1024);
  EXPECT_GT(main.evictions, 0);
}

}  // namespace
}  // namespace groupcache
