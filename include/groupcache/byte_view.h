// ByteView: an immutable, cheaply copyable view of a cached value.
//
// The bytes live in one shared, never-mutated buffer; copies and slices share
// it, so handing a cached value to many callers copies nothing. A ByteView
// also carries the value's expiry time. Like std::string_view it is safe to
// read from many threads; assigning to one ByteView object concurrently is
// not.
//
// Example:
//   ByteView v = ByteView::Copy("hello");
//   ByteView w = v;                    // shares the buffer
//   assert(w.view() == "hello" && !w.expire());

#ifndef GROUPCACHE_BYTE_VIEW_H_
#define GROUPCACHE_BYTE_VIEW_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace groupcache {

// Wall-clock time; expiry times travel between processes as nanoseconds
// since the Unix epoch, so they are system_clock, not steady_clock.
using WallClock = std::chrono::system_clock;
using Time = WallClock::time_point;

// The "no expiry" value: Time{} (the epoch). Zero on the wire means the same.
inline constexpr Time kNoExpiry{};

// Converts to and from the wire form (int64 nanoseconds since the epoch).
int64_t ToUnixNanos(Time t);
Time FromUnixNanos(int64_t nanos);

class ByteView {
 public:
  // An empty value that never expires.
  ByteView() = default;

  // Takes ownership of `bytes` without copying them.
  explicit ByteView(std::string bytes, Time expire = kNoExpiry);

  // Copies `bytes`.
  static ByteView Copy(std::string_view bytes, Time expire = kNoExpiry);

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const char* data() const { return buffer_ ? buffer_->data() + offset_ : ""; }
  std::string_view view() const { return {data(), size_}; }
  std::string ToString() const { return std::string(view()); }

  // The expiry time, or kNoExpiry.
  Time expire() const { return expire_; }
  bool has_expiry() const { return expire_ != kNoExpiry; }
  // True if the value has an expiry time and it is not after `now`.
  bool ExpiredAt(Time now) const { return has_expiry() && expire_ <= now; }
  bool Expired() const { return has_expiry() && ExpiredAt(WallClock::now()); }

  // A view of bytes [from, from + n) sharing this buffer (n is clamped).
  ByteView Slice(size_t from, size_t n = std::string_view::npos) const;

  // The same bytes with another expiry time.
  ByteView WithExpire(Time expire) const;

  friend bool operator==(const ByteView& a, const ByteView& b) { return a.view() == b.view(); }
  friend bool operator==(const ByteView& a, std::string_view b) { return a.view() == b; }

 private:
  std::shared_ptr<const std::string> buffer_;
  size_t offset_ = 0;
  size_t size_ = 0;
  Time expire_ = kNoExpiry;
};

}  // namespace groupcache

#endif  // GROUPCACHE_BYTE_VIEW_H_
