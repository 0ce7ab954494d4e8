#include "mutex.h"

namespace groupcache::internal {
namespace {

// Long enough to cover a short critical section on another core, short
// enough (~a microsecond) that a preempted holder costs little before the
// waiter sleeps.
constexpr int kSpinLimit = 100;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

int Mutex::Spin() const {
  for (int spins = kSpinLimit;; --spins) {
    int state = state_.load(std::memory_order_relaxed);
    if (state != kHeld || spins == 0) return state;
    CpuRelax();
  }
}

void Mutex::LockContended() {
  int state = Spin();
  if (state == kFree && state_.compare_exchange_strong(state, kHeld, std::memory_order_acquire,
                                                       std::memory_order_relaxed)) {
    return;
  }
  for (;;) {
    // Taking it as kContended (not kHeld) is what makes the unlocker wake
    // the next sleeper: we cannot know whether others sleep too.
    if (state != kContended && state_.exchange(kContended, std::memory_order_acquire) == kFree) {
      return;
    }
    state_.wait(kContended, std::memory_order_seq_cst);  // see unlock()
    state = Spin();
  }
}

}  // namespace groupcache::internal
