// Mutex: the cache shards' lock, inline.
//
// std::mutex is a call into glibc's pthread_mutex_lock/unlock, which check
// the mutex kind, robustness and lock elision around their one atomic
// operation each: 53 instructions per lock and unlock in callgrind, a tenth
// of a warm-key Get. This is the three-state futex mutex of Drepper's
// "Futexes Are Tricky" in the form Rust's standard library uses (unlock by
// exchange, a short bounded spin before sleeping): the uncontended path is
// one compare-exchange to lock and one exchange to unlock, both inline. The
// sections it guards are tens of nanoseconds, so a waiter spins briefly
// before it sleeps on the futex (std::atomic::wait). Not recursive, no
// fairness guarantee, like std::mutex. Meets BasicLockable, so
// std::lock_guard and std::unique_lock work with it.

#ifndef GROUPCACHE_SRC_MUTEX_H_
#define GROUPCACHE_SRC_MUTEX_H_

#include <atomic>

namespace groupcache::internal {

class Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() {
    int expected = kFree;
    if (state_.compare_exchange_strong(expected, kHeld, std::memory_order_acquire,
                                       std::memory_order_relaxed)) [[likely]] {
      return;
    }
    LockContended();
  }

  void unlock() {
    // seq_cst, not just release: notify_one skips the wake when libstdc++'s
    // own waiter count reads zero, a store-then-load handshake with the
    // waiter (count, then state) that the C++ model only guarantees when
    // both sides are seq_cst. On x86 the exchange is the same instruction.
    if (state_.exchange(kFree, std::memory_order_seq_cst) == kContended) [[unlikely]] {
      state_.notify_one();
    }
  }

 private:
  static constexpr int kFree = 0;
  static constexpr int kHeld = 1;       // held, nobody sleeping
  static constexpr int kContended = 2;  // held, someone may be sleeping

  void LockContended();
  // Spins while the lock is held without sleepers (its holder is running
  // and will be done soon); returns the last state seen.
  int Spin() const;

  std::atomic<int> state_{kFree};
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_MUTEX_H_
