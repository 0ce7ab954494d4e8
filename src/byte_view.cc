#include "groupcache/byte_view.h"

#include <algorithm>
#include <cstddef>
#include <new>
#include <utility>

namespace groupcache {
namespace {

// Gives each shared buffer's control block a cache line of its own. Every
// cache hit bumps the reference count of the value it returns; values
// created one after the other would otherwise share lines, and two threads
// reading two different keys would bounce that line between their cores
// (measured: 2 threads reading 2 warm keys ran no faster than one).
template <typename T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr size_t kLine = 64;
  CacheLineAllocator() = default;
  template <typename U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(size_t n) {
    size_t bytes = (n * sizeof(T) + kLine - 1) / kLine * kLine;
    return static_cast<T*>(::operator new(bytes, std::align_val_t(kLine)));
  }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t(kLine)); }
  template <typename U>
  friend bool operator==(const CacheLineAllocator&, const CacheLineAllocator<U>&) {
    return true;
  }
};

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

ByteView::ByteView(std::string bytes, Time expire) : size_(bytes.size()), expire_(expire) {
  if (!bytes.empty()) {
    buffer_ = std::allocate_shared<const std::string>(CacheLineAllocator<std::string>(),
                                                      std::move(bytes));
  }
}

ByteView ByteView::Copy(std::string_view bytes, Time expire) {
  return ByteView(std::string(bytes), expire);
}

ByteView ByteView::Slice(size_t from, size_t n) const {
  ByteView out = *this;
  from = std::min(from, size_);
  out.offset_ = offset_ + from;
  out.size_ = std::min(n, size_ - from);
  return out;
}

ByteView ByteView::WithExpire(Time expire) const {
  ByteView out = *this;
  out.expire_ = expire;
  return out;
}

}  // namespace groupcache
