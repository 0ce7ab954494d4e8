// ByteView: an immutable, cheaply copyable view of a cached value.
//
// The bytes live in one shared, never-mutated buffer; copies and slices share
// it, so handing a cached value to many callers copies nothing. A ByteView
// also carries the value's expiry time. Like std::string_view it is safe to
// read from many threads, and copies of one ByteView may be made and
// destroyed on many threads at once (the buffer's reference count is atomic,
// as shared_ptr's is); assigning to one ByteView object concurrently is not
// safe.
//
// Cost: a ByteView is 32 bytes. The buffer is intrusively reference counted:
// a value of n bytes, up to kCopyLimit (64 KiB), is one heap block of an
// 8-byte header followed by the n bytes (8 + n bytes, at least 56), shared
// by every copy and slice; a 1 KiB value is one 1,032-byte allocation. A
// larger std::string handed to the constructor is adopted without copying:
// its own buffer plus a 40-byte block (header + the std::string object).
// The empty ByteView allocates nothing.
//
// Example:
//   ByteView v = ByteView::Copy("hello");
//   ByteView w = v;                    // shares the buffer
//   assert(w.view() == "hello" && !w.expire());

#ifndef GROUPCACHE_BYTE_VIEW_H_
#define GROUPCACHE_BYTE_VIEW_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

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
  // Strings up to this size given to ByteView(std::string) are copied into
  // a single block; larger ones are adopted (see byte_view.cc for why).
  static constexpr size_t kCopyLimit = size_t{64} << 10;

  // An empty value that never expires.
  ByteView() = default;

  // Takes ownership of `bytes`. A string longer than kCopyLimit is kept
  // as is (its data() becomes this view's data(), nothing is copied); one
  // of at most kCopyLimit bytes is copied into one block and released.
  explicit ByteView(std::string bytes, Time expire = kNoExpiry);

  // Copies `bytes` into one block.
  static ByteView Copy(std::string_view bytes, Time expire = kNoExpiry);

  // Copies share the buffer. A moved-from ByteView is empty (size 0, data()
  // "", no expiry).
  ByteView(const ByteView& other) noexcept
      : buffer_(other.buffer_), data_(other.data_), size_(other.size_), expire_(other.expire_) {
    Ref(buffer_);
  }
  ByteView(ByteView&& other) noexcept
      : buffer_(std::exchange(other.buffer_, nullptr)),
        data_(std::exchange(other.data_, "")),
        size_(std::exchange(other.size_, 0)),
        expire_(std::exchange(other.expire_, kNoExpiry)) {}
  ByteView& operator=(const ByteView& other) noexcept {
    // Copy, then move: the copy's reference keeps a shared buffer alive
    // while the old one is released, so self-assignment is safe.
    *this = ByteView(other);
    return *this;
  }
  ByteView& operator=(ByteView&& other) noexcept {
    if (this != &other) {
      Unref(buffer_);
      buffer_ = std::exchange(other.buffer_, nullptr);
      data_ = std::exchange(other.data_, "");
      size_ = std::exchange(other.size_, 0);
      expire_ = std::exchange(other.expire_, kNoExpiry);
    }
    return *this;
  }
  ~ByteView() { Unref(buffer_); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Never null: "" for the empty view.
  const char* data() const { return data_; }
  std::string_view view() const { return {data_, size_}; }
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
  // The 8-byte header that starts every buffer. In the common case the
  // value's bytes follow it in the same block; an adopted string's buffer is
  // an Adopted (the header, then the std::string object).
  struct Buffer {
    explicit Buffer(uint64_t refs_and_kind) : refs(refs_and_kind) {}
    // kRef times the number of ByteViews sharing the buffer, plus kAdopted
    // if it is an Adopted. Only Free looks at the kind bit.
    std::atomic<uint64_t> refs;
  };
  struct Adopted;
  static constexpr uint64_t kAdopted = 1;
  static constexpr uint64_t kRef = 2;

  ByteView(Buffer* buffer, const char* data, size_t size, Time expire)
      : buffer_(buffer), data_(data), size_(size), expire_(expire) {}

  static void Ref(Buffer* b) noexcept {
    // Relaxed, as shared_ptr's: a new reference is made from an existing one,
    // which already keeps the buffer alive and its bytes visible.
    if (b != nullptr) b->refs.fetch_add(kRef, std::memory_order_relaxed);
  }
  static void Unref(Buffer* b) noexcept {
    // acq_rel: the release orders this owner's reads before the free, the
    // acquire makes the last owner see every other owner's release.
    if (b != nullptr && b->refs.fetch_sub(kRef, std::memory_order_acq_rel) < 2 * kRef) Free(b);
  }
  // Frees a buffer whose last reference is gone.
  static void Free(Buffer* b) noexcept;

  Buffer* buffer_ = nullptr;  // null for the empty view
  const char* data_ = "";     // into *buffer_'s bytes; "" when buffer_ is null
  size_t size_ = 0;
  Time expire_ = kNoExpiry;
};

}  // namespace groupcache

#endif  // GROUPCACHE_BYTE_VIEW_H_
