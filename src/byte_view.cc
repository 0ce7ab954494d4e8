#include "groupcache/byte_view.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace groupcache {

// A cache entry holds its ByteView for as long as it lives, so the view's
// size is paid once per entry.
static_assert(sizeof(ByteView) == 32);

// An adopted string: the header, then the std::string object, whose own
// buffer holds the bytes. The kind bit in refs tells Free which it is.
struct ByteView::Adopted : Buffer {
  explicit Adopted(std::string s) : Buffer(kRef | kAdopted), bytes(std::move(s)) {}
  std::string bytes;
};

namespace {

// Every block is at least this large. A cache hit through the ByteView API
// bumps the count of the value it returns; if two small values' headers
// shared a cache line, two threads reading two different keys would bounce
// that line between their cores (measured with the shared_ptr layout this
// replaced: 2 threads reading 2 warm keys ran no faster than one). A 56-byte
// request is a 64-byte chunk in glibc (a 64-byte class in jemalloc and
// tcmalloc), so any two headers are at least 64 bytes apart and never share
// a line. Small values cost no more than before: the old control block was
// a 64-byte aligned block of its own.
constexpr size_t kMinBlock = 56;

}  // namespace

int64_t ToUnixNanos(Time t) {
  if (t == kNoExpiry) return 0;
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

Time FromUnixNanos(int64_t nanos) {
  // Negative values cannot come from a Go node (time.Now().UnixNano() is
  // positive); treat them as "already expired" rather than "never".
  if (nanos == 0) return kNoExpiry;
  if (nanos < 0) return Time(std::chrono::nanoseconds(1));
  return Time(std::chrono::duration_cast<WallClock::duration>(std::chrono::nanoseconds(nanos)));
}

// Up to kCopyLimit the string is copied into one block and released. The
// copy costs at most a few microseconds, little next to producing the value
// (a getter run or a peer round trip), and it pays for itself for as long
// as the entry stays cached: the adopted form would keep a second block
// (header + string object, 48 bytes with malloc's overhead) and the string's
// unused capacity (up to half its buffer for a string grown by appends).
// Above 64 KiB that saving is under 0.1% of the value while the copy keeps
// growing (and past glibc's 128 KiB mmap threshold it faults in fresh
// pages), so the string is adopted as is.
ByteView::ByteView(std::string bytes, Time expire) {
  if (bytes.size() <= kCopyLimit) {
    *this = Copy(bytes, expire);
    return;
  }
  auto adopted = std::make_unique<Adopted>(std::move(bytes));
  data_ = adopted->bytes.data();
  size_ = adopted->bytes.size();
  expire_ = expire;
  buffer_ = adopted.release();  // owned through refs from here; Free deletes it
}

ByteView ByteView::Copy(std::string_view bytes, Time expire) {
  if (bytes.empty()) return ByteView(nullptr, "", 0, expire);
  // One block: the header, then the bytes. operator new's result is
  // suitably aligned for Buffer, and the bytes need no alignment.
  void* block = ::operator new(std::max(sizeof(Buffer) + bytes.size(), kMinBlock));
  auto* buffer = ::new (block) Buffer(kRef);
  char* data = static_cast<char*>(block) + sizeof(Buffer);
  std::memcpy(data, bytes.data(), bytes.size());
  return ByteView(buffer, data, bytes.size(), expire);
}

void ByteView::Free(Buffer* b) noexcept {
  // The last owner: the count is zero and no one else can reach b.
  if ((b->refs.load(std::memory_order_relaxed) & kAdopted) != 0) {
    std::unique_ptr<Adopted> adopted(static_cast<Adopted*>(b));
    return;
  }
  b->~Buffer();
  ::operator delete(b);
}

ByteView ByteView::Slice(size_t from, size_t n) const {
  ByteView out = *this;
  from = std::min(from, size_);
  out.data_ = data_ + from;
  out.size_ = std::min(n, size_ - from);
  return out;
}

ByteView ByteView::WithExpire(Time expire) const {
  ByteView out = *this;
  out.expire_ = expire;
  return out;
}

}  // namespace groupcache
