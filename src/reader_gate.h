// ReaderGates: lets cache hits run without the shard's mutex.
//
// Each shard has a gate (a closed flag); each thread that reads a cache has
// a record of its own in that cache's ReaderGates, in which it says which
// shard it is inside. A reader enters by writing its record, then checking
// the gate; a writer, which already holds the shard's mutex, closes the
// gate, then waits until no record says it is inside that shard (a "big
// reader" lock, as in the Linux kernel's brlock, with a slot per thread
// instead of per CPU). A reader that finds the gate closed backs out and
// takes the mutex instead, so it never waits on a writer by spinning.
//
// Why per thread: only the owner writes its record, so leaving is a plain
// store, and only entering needs the one locked instruction (the exchange
// that orders "I am inside" before "is it closed?", against the writer's
// "closed" before "is anyone inside?"). With a slot per CPU, shared by the
// threads on that CPU, entering and leaving were two locked instructions,
// two-thirds of a warm Get. The record also keeps the reader's lookup
// statistics, incremented without a locked instruction for the same
// reason, and summed by Stats.
//
// A thread finds its record through a thread-local pair (the gates it used
// last, its record there) and, failing that, a thread-local list of the
// records it holds, each holding its gates' record table alive, so that a
// table's address is never reused while a thread still compares with it.
// A thread's records are given back when it exits, their counts kept for
// the next thread that takes them. A table holds at most max(64, 2 per
// CPU) records, since every write looks at all of them; a thread that
// finds it full reads through the mutex path until one is given back.
//
// A reader must not mutate the protected data, nor close a gate it is
// inside of (it would wait for itself). TryEnter refuses a second gate of
// the same ReaderGates while the thread is inside one (the caller then
// takes the mutex path).

#ifndef GROUPCACHE_SRC_READER_GATE_H_
#define GROUPCACHE_SRC_READER_GATE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "mutex.h"

namespace groupcache::internal {

class ReaderGates {
 public:
  // One thread's record. Written only by the thread that holds it (the
  // counters with a plain load and store); read by writers and Stats.
  struct alignas(64) Reader {
    // 1 + the index of the shard this reader is inside; 0 when outside.
    std::atomic<uint32_t> inside{0};
    std::atomic<bool> held{false};  // a thread holds this record
    // Lookups through the gates: main gets, main misses (hot gets), hot hits.
    std::atomic<int64_t> gets{0};
    std::atomic<int64_t> misses{0};
    std::atomic<int64_t> second_hits{0};
  };
  // A shard's gate. Numbered by its owner (1 + the shard's index) before
  // first use: the number a reader inside writes into its record.
  class Gate {
   public:
    void set_shard(size_t shard) { id_ = static_cast<uint32_t>(shard) + 1; }

   private:
    friend class ReaderGates;
    std::atomic<bool> closed_{false};
    uint32_t id_ = 1;
  };

  ReaderGates();
  ~ReaderGates();
  ReaderGates(const ReaderGates&) = delete;
  ReaderGates& operator=(const ReaderGates&) = delete;

  // Enters `gate`: this thread's record, or
  // nullptr if a writer holds the gate, if this thread has no record (it
  // is exiting and gave its records back, or the table was full), or if it
  // is inside a gate of these already (a visitor reading its own cache,
  // which the cache forbids: overwriting its record would let a writer of
  // the outer shard go ahead and free what the outer visitor reads; the
  // mutex path instead can at worst deadlock, on a read of the same shard,
  // as the per-CPU gate before this did). Counts the lookup as a main get.
  Reader* TryEnter(const Gate& gate) {
    Reader* r = Mine();
    if (r == nullptr || r->inside.load(std::memory_order_relaxed) != 0) [[unlikely]] {
      return nullptr;
    }
    // The exchange is the one locked instruction of a hit: the store must
    // be visible before the gate is read (see Close).
    r->inside.exchange(gate.id_, std::memory_order_seq_cst);
    if (gate.closed_.load(std::memory_order_seq_cst)) [[unlikely]] {
      r->inside.store(0, std::memory_order_release);
      return nullptr;
    }
    Count(r->gets);
    return r;
  }
  static void Leave(Reader* r) { r->inside.store(0, std::memory_order_release); }
  // A counter of the caller's own record. Released, so that Stats, reading
  // them in the reverse order (second_hits, misses, gets), never sees more
  // of a later count than of an earlier one.
  static void Count(std::atomic<int64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Closes `gate` and waits until no reader is inside it. REQUIRES: the
  // caller holds the mutex that serialises the shard's writers, and is not
  // inside the gate.
  void Close(Gate& gate) const;
  static void Open(Gate& gate) { gate.closed_.store(false, std::memory_order_release); }

  // How many threads may hold a record at once.
  size_t max_readers() const { return table_->max_readers; }

  // Calls f(const Reader&) for every record ever held (their counters are
  // the gates' lookup statistics; a record given back keeps its counts).
  template <typename F>
  void ForEachReader(F&& f) const;

 private:
  // At most this many records (or two per CPU, if more): a writer looks at
  // every record ever held, so a burst of thousands of threads would
  // otherwise tax every later write. A thread that finds the table full
  // reads through the mutex path.
  static constexpr size_t kMinMaxReaders = 64;
  // The record table, shared with the threads holding one of its records.
  struct Table {
    explicit Table(size_t max);
    const size_t max_readers;
    const std::unique_ptr<Reader[]> readers;  // max_readers of them
    std::atomic<size_t> used{0};              // readers[0, used) have been held
    Mutex claim_mu;                           // serialises Claim
    // Records given back so far: a thread that found the table full tries
    // again once this has moved.
    std::atomic<uint64_t> releases{0};
    // False once its ReaderGates is destroyed: threads then give its
    // records back when they next look for a record.
    std::atomic<bool> alive{true};
    // A record no thread holds, or nullptr if all max_readers are held.
    Reader* Claim();
  };
  friend struct ThreadReaders;

  // This thread's record in this table, or nullptr once the thread is
  // exiting. The fast path compares one thread-local pointer.
  Reader* Mine() {
    if (last_table == table_.get()) [[likely]] {
      return last_reader;
    }
    return MineSlow();
  }
  Reader* MineSlow();

  // The table this thread read last and its record there. Trivial
  // thread-locals (no guard, no wrapper call); the list that keeps them
  // valid is in reader_gate.cc.
  static inline thread_local constinit const Table* last_table = nullptr;
  static inline thread_local constinit Reader* last_reader = nullptr;

  std::shared_ptr<Table> table_;
};

template <typename F>
void ReaderGates::ForEachReader(F&& f) const {
  const size_t used = table_->used.load(std::memory_order_acquire);
  for (size_t i = 0; i < used; ++i) f(table_->readers[i]);
}

// Closes a gate for a scope (the writer's side); nothing when `gates` is
// null (a policy without concurrent readers).
class ClosedGate {
 public:
  ClosedGate(const ReaderGates* gates, ReaderGates::Gate& gate) : gates_(gates), gate_(gate) {
    if (gates_ != nullptr) gates_->Close(gate_);
  }
  ~ClosedGate() {
    if (gates_ != nullptr) ReaderGates::Open(gate_);
  }
  ClosedGate(const ClosedGate&) = delete;
  ClosedGate& operator=(const ClosedGate&) = delete;

 private:
  const ReaderGates* gates_;
  ReaderGates::Gate& gate_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_READER_GATE_H_
