// ReaderGate: lets cache hits run without the shard's mutex.
//
// Readers announce themselves in a per-CPU slot (one cache line each), so
// two threads reading on two CPUs write nothing in common; a writer, which
// already holds the shard's mutex, closes every slot and waits for the
// readers inside to leave (a "big reader" lock, as in the Linux kernel's
// brlock). A reader that finds its slot closed backs out and takes the
// mutex instead, so it never waits on a writer by spinning.
//
// A slot's word packs: the closed flag (bit 63), the readers inside (bits
// 0-15) and how many readers ever entered (bits 16-62), which doubles as
// the lookup counter of the cache's statistics at no extra cost. Entering
// is one atomic add, leaving one atomic subtract, as the mutex's lock and
// unlock were.
//
// A reader must not mutate the protected data, nor close a gate it is
// inside of (it would wait for itself).

#ifndef GROUPCACHE_SRC_READER_GATE_H_
#define GROUPCACHE_SRC_READER_GATE_H_

#include <sched.h>
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>  // glibc 2.35+; defines RSEQ_SIG where rseq is used
#endif

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

namespace groupcache::internal {

class ReaderGate {
 public:
  struct alignas(64) Slot {
    std::atomic<uint64_t> word{0};
    // Statistics the cache keeps per slot, on the slot's own line.
    std::atomic<int64_t> misses{0};
    std::atomic<int64_t> second_hits{0};

    int64_t entered() const {
      return static_cast<int64_t>((word.load(std::memory_order_relaxed) & ~kClosed) >>
                                  kEnteredShift);
    }
  };

  // One slot per CPU (rounded up to a power of two, at most kMaxSlots).
  ReaderGate()
      : mask_(std::bit_ceil(std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kMaxSlots)) -
              1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)) {}

  // Enters through this CPU's slot; nullptr if a writer holds the gate.
  Slot* TryEnter() {
    const int cpu = CurrentCpu();
    Slot* s = &slots_[static_cast<size_t>(cpu < 0 ? 0 : cpu) & mask_];
    const uint64_t before = s->word.fetch_add(kReader + kEntered, std::memory_order_acquire);
    if ((before & kClosed) == 0) [[likely]] {
      return s;
    }
    s->word.fetch_sub(kReader + kEntered, std::memory_order_relaxed);
    return nullptr;
  }
  // Leaves through the slot TryEnter returned (the thread may have moved).
  static void Leave(Slot* s) { s->word.fetch_sub(kReader, std::memory_order_release); }

  // REQUIRES: the caller holds the mutex that serialises writers.
  void Close() {
    for (size_t i = 0; i <= mask_; ++i) slots_[i].word.fetch_or(kClosed, std::memory_order_seq_cst);
    for (size_t i = 0; i <= mask_; ++i) {
      // A reader inside holds it for tens of nanoseconds unless it was
      // preempted there; spin briefly, then yield the CPU to it.
      for (int spins = 0; (slots_[i].word.load(std::memory_order_acquire) & kReaderMask) != 0;
           ++spins) {
        if (spins > 64) std::this_thread::yield();
      }
    }
  }
  void Open() {
    for (size_t i = 0; i <= mask_; ++i)
      slots_[i].word.fetch_and(~kClosed, std::memory_order_release);
  }

  size_t slots() const { return mask_ + 1; }
  const Slot& slot(size_t i) const { return slots_[i]; }

 private:
  static constexpr size_t kMaxSlots = 64;
  static constexpr uint64_t kReader = 1;
  static constexpr uint64_t kReaderMask = 0xffff;
  static constexpr int kEnteredShift = 16;
  static constexpr uint64_t kEntered = uint64_t{1} << kEnteredShift;
  static constexpr uint64_t kClosed = uint64_t{1} << 63;

  // The CPU this thread runs on (or ran on a moment ago; any slot is
  // correct, the right one only avoids sharing a line). glibc 2.35+
  // registers an rseq area per thread in which the kernel keeps the CPU
  // number, and sched_getcpu reads it; reading it here saves the call
  // through the PLT, which was a tenth of a warm Get. Without rseq (older
  // glibc, registration refused or turned off) it falls back.
  static int CurrentCpu() {
#if defined(RSEQ_SIG) && defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
    if (__rseq_size != 0) {
      const auto* area = reinterpret_cast<const struct rseq*>(
          static_cast<const char*>(__builtin_thread_pointer()) + __rseq_offset);
      // The kernel rewrites it when the thread migrates: a relaxed load.
      const auto cpu = static_cast<int>(__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED));
      if (cpu >= 0) return cpu;
    }
#endif
#endif
    return sched_getcpu();
  }

  size_t mask_;
  std::unique_ptr<Slot[]> slots_;
};

// Closes a gate for a scope (the writer's side).
class ClosedGate {
 public:
  explicit ClosedGate(ReaderGate* gate) : gate_(gate) {
    if (gate_ != nullptr) gate_->Close();
  }
  ~ClosedGate() {
    if (gate_ != nullptr) gate_->Open();
  }
  ClosedGate(const ClosedGate&) = delete;
  ClosedGate& operator=(const ClosedGate&) = delete;

 private:
  ReaderGate* gate_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_READER_GATE_H_
