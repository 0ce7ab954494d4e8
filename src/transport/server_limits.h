// The server's limits as plain logic, without any I/O, so that the
// connection loop stays thin and each rule is testable on its own:
//  - ConnectionTable: the open connections and which of them are idle, so
//    that at max_connections the longest-idle keep-alive connection makes
//    room for a new one instead of the new one being refused;
//  - BodyBudget: the bytes of request bodies being read at once;
//  - AcceptBackoff: the pause after an accept that failed for want of
//    descriptors or memory (the listening socket stays readable, so an
//    accept loop that retries at once spins);
//  - LogLimiter (log_limiter.h, shared with the core): at most one line
//    per period for a repeating condition.
// Thread-safe unless said otherwise.

#ifndef GROUPCACHE_SRC_TRANSPORT_SERVER_LIMITS_H_
#define GROUPCACHE_SRC_TRANSPORT_SERVER_LIMITS_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>

#include "../log_limiter.h"
#include "groupcache/context.h"

namespace groupcache::internal {

class ConnectionTable {
 public:
  // One per connection, owned by the connection; removed from the table
  // when destroyed.
  class Entry {
   public:
    ~Entry();
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;

    // The connection waits for a request (a new connection counts) or is
    // working on one. A new idle spell makes it a candidate again: asked to
    // close while it was idle, it may have declined because a request came
    // first.
    void SetIdle(Clock::time_point since) {
      closing_.store(false, std::memory_order_relaxed);
      idle_since_.store(since.time_since_epoch().count(), std::memory_order_relaxed);
    }
    void SetBusy() { idle_since_.store(kBusy, std::memory_order_relaxed); }

   private:
    friend class ConnectionTable;
    static constexpr int64_t kBusy = INT64_MAX;
    Entry(ConnectionTable* table, std::function<void(bool)> close)
        : table_(table), close_(std::move(close)) {}

    ConnectionTable* table_;
    // Asks the connection to close: if idle, or in any case (true).
    const std::function<void(bool even_busy)> close_;
    std::atomic<int64_t> idle_since_{kBusy};
    // Asked to close (written under table_->mu_, cleared by SetIdle).
    std::atomic<bool> closing_{false};
    std::list<Entry*>::iterator position_;  // GUARDED_BY(table_->mu_)
  };

  // Registers a connection; `close(even_busy)` must be safe to call from
  // any thread, even just after the entry is gone (it typically posts to
  // the connection's executor what a weak pointer finds), and close the
  // connection if it is idle then, or in any case when `even_busy`. The
  // table must outlive its entries.
  std::unique_ptr<Entry> Add(std::function<void(bool even_busy)> close);

  // Connections in the table (those asked to close included, until they
  // are gone).
  size_t size() const;

  // Asks the connection idle for longest, not yet asked in its current
  // idle spell, to close. False when none is idle. Runs `close` outside the
  // table's lock. (A connection whose request began meanwhile declines; the
  // limit is then over by one until the next accept asks again.)
  bool CloseLongestIdle();

  // Asks every connection to close, busy or not (the server stops).
  void CloseAll();

 private:
  mutable std::mutex mu_;
  std::list<Entry*> entries_;  // GUARDED_BY(mu_)
};

class BodyBudget {
 public:
  explicit BodyBudget(size_t limit) : limit_(limit) {}

  // Reserves `bytes`; false when that would go over the limit, unless
  // nothing is reserved at all (one body of any allowed size always fits).
  bool TryReserve(size_t bytes);
  void Release(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }
  size_t used() const { return used_.load(std::memory_order_relaxed); }

 private:
  const size_t limit_;
  std::atomic<size_t> used_{0};
};

// Not thread-safe: the accept loop owns it.
class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{10};
  static constexpr std::chrono::milliseconds kMax{1000};

  // The pause after one more failure in a row: 10 ms, doubling, up to 1 s.
  std::chrono::milliseconds Fail();
  void Succeed() { next_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds next_{0};
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_SERVER_LIMITS_H_
