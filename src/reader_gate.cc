#include "reader_gate.h"

#include <algorithm>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace groupcache::internal {

// The records a thread holds, one per table it has read, each with a
// reference that keeps its table (and so the table's address) alive while
// the thread may still compare with it. Given back when the thread exits.
struct ThreadReaders {
  struct Held {
    std::shared_ptr<ReaderGates::Table> table;
    // nullptr if the table was full: this thread reads that cache through
    // the mutex path, and tries again once a record has been given back.
    ReaderGates::Reader* reader;
    uint64_t releases_seen = 0;  // the table's releases when it was full
  };
  // A thread that reads more caches than this in turn gives back the
  // record it used least recently (the table's own count of records is
  // then bounded by threads x this, not by caches ever read).
  static constexpr size_t kMaxHeld = 64;
  std::vector<Held> held;  // most recently used last

  ~ThreadReaders() {
    ReaderGates::last_table = nullptr;
    ReaderGates::last_reader = nullptr;
    exiting = true;
    for (Held& h : held) Release(h);
  }
  static void Release(Held& h) {
    if (h.reader == nullptr) return;
    // The counts stay in the record for whoever takes it next.
    h.reader->held.store(false, std::memory_order_release);
    h.table->releases.fetch_add(1, std::memory_order_release);
  }
  // Set once this thread's list is destroyed: a read after that (from
  // another thread-local's destructor) takes the mutex path.
  static inline thread_local constinit bool exiting = false;
};

namespace {
thread_local ThreadReaders thread_readers;
}  // namespace

ReaderGates::ReaderGates()
    : table_(std::make_shared<Table>(
          std::max<size_t>(kMinMaxReaders, size_t{2} * std::thread::hardware_concurrency()))) {}

ReaderGates::~ReaderGates() { table_->alive.store(false, std::memory_order_relaxed); }

ReaderGates::Table::Table(size_t max)
    : max_readers(max), readers(std::make_unique<Reader[]>(max)) {}

ReaderGates::Reader* ReaderGates::Table::Claim() {
  std::lock_guard lock(claim_mu);
  const size_t n = used.load(std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    bool expected = false;
    if (readers[i].held.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      return &readers[i];
    }
  }
  if (n == max_readers) return nullptr;
  readers[n].held.store(true, std::memory_order_relaxed);
  // seq_cst: a writer that closes a gate after this and then reads `used`
  // sees this record before the new reader can be inside (see Close).
  used.store(n + 1, std::memory_order_seq_cst);
  return &readers[n];
}

ReaderGates::Reader* ReaderGates::MineSlow() {
  if (ThreadReaders::exiting) return nullptr;
  std::vector<ThreadReaders::Held>& held = thread_readers.held;
  auto found = std::find_if(held.begin(), held.end(),
                            [&](const ThreadReaders::Held& h) { return h.table == table_; });
  if (found == held.end()) {
    // Dropping entries below may free the table the fast path compares
    // with, whose address a new table may take: forget it first (it is
    // set again below unless something throws).
    last_table = nullptr;
    last_reader = nullptr;
    // Give back the records of caches that are gone, then the least
    // recently used one if the list is still full.
    std::erase_if(held, [](ThreadReaders::Held& h) {
      if (h.table->alive.load(std::memory_order_relaxed)) return false;
      ThreadReaders::Release(h);
      return true;
    });
    if (held.size() >= ThreadReaders::kMaxHeld) {
      ThreadReaders::Release(held.front());
      held.erase(held.begin());
    }
    held.reserve(ThreadReaders::kMaxHeld);  // so that push_back cannot throw
    const uint64_t releases = table_->releases.load(std::memory_order_acquire);
    held.push_back({table_, table_->Claim(), releases});
    found = held.end() - 1;
  } else {
    std::rotate(found, found + 1, held.end());
    found = held.end() - 1;
    if (found->reader == nullptr) {
      // The table was full; a record given back since may be ours now.
      const uint64_t releases = table_->releases.load(std::memory_order_acquire);
      if (releases != found->releases_seen) {
        found->releases_seen = releases;
        found->reader = table_->Claim();
      }
    }
  }
  // Without a record the thread comes back here on its next read (the
  // fast path would answer nullptr for good), a list search beside the
  // mutex it reads through.
  last_table = found->reader != nullptr ? found->table.get() : nullptr;
  last_reader = found->reader;
  return found->reader;
}

void ReaderGates::Close(Gate& gate) const {
  gate.closed_.store(true, std::memory_order_seq_cst);
  // Every reader inside this shard entered before it could see the gate
  // closed (its exchange, then its load, against this store, then these
  // loads, all seq_cst): wait for each to leave. A reader holds it for
  // tens of nanoseconds unless it was preempted there; spin briefly, then
  // yield the CPU to it.
  const size_t used = table_->used.load(std::memory_order_seq_cst);
  for (size_t i = 0; i < used; ++i) {
    for (int spins = 0; table_->readers[i].inside.load(std::memory_order_seq_cst) == gate.id_;
         ++spins) {
      if (spins > 64) std::this_thread::yield();
    }
  }
}

}  // namespace groupcache::internal
