// Sink: where a value is delivered, and the five kinds Go users know.
//
// A getter receives a Sink and fills it exactly once with SetString,
// SetBytes or SetView (or SetProto from proto_sink.h). A getter that returns
// OK without filling its sink, or that fills it twice, fails the load with
// an error; the second fill itself returns FailedPrecondition and leaves the
// first value in place. Callers of Group::Get pass a Sink of the kind that
// suits them; the group fills it once per call.
//
// A Sink belongs to one call and is not thread-safe.
//
// Example (a getter):
//   Status Load(const Context& ctx, std::string_view key, Sink& dest) {
//     std::string v = ReadFromDatabase(key);
//     return dest.SetString(std::move(v));   // moved, not copied
//   }

#ifndef GROUPCACHE_SINK_H_
#define GROUPCACHE_SINK_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "groupcache/byte_view.h"
#include "groupcache/status.h"

namespace groupcache {

class Sink {
 public:
  Sink() = default;
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  virtual ~Sink() = default;

  // Fills the sink with `value`, taking ownership (no copy of the bytes).
  Status SetString(std::string value, Time expire = kNoExpiry);
  // Fills the sink with a copy of `bytes`.
  Status SetBytes(std::string_view bytes, Time expire = kNoExpiry);
  // Fills the sink with a shared view (no copy for ByteViewSink).
  Status SetView(const ByteView& value) { return Fill(value); }

  // True once a Set* call succeeded.
  bool filled() const { return filled_; }
  // How many Set* calls were made, including refused second fills.
  int fill_attempts() const { return fill_attempts_; }

  // True if Store only copies or shares the bytes: it never blocks and
  // never calls into a Group. A cache hit then hands the value to the sink
  // while the cache holds it (no reference-count traffic on the value);
  // other sinks get a copied ByteView after the cache let go.
  virtual bool StoresInPlace() const { return false; }

 protected:
  // Delivers the value to the destination. Errors (e.g. a ProtoSink that
  // cannot parse) are returned from the Set* call.
  virtual Status Store(const ByteView& value) = 0;

 private:
  // Inline because every cache hit fills its caller's sink through here:
  // SetView and Fill as two out-of-line calls were 6% of a warm Get.
  Status Fill(const ByteView& value) {
    ++fill_attempts_;
    if (filled_) [[unlikely]] {
      return AlreadyFilled();
    }
    Status s = Store(value);
    if (s.ok()) filled_ = true;
    return s;
  }
  static Status AlreadyFilled();
  bool filled_ = false;
  int fill_attempts_ = 0;
};

// Copies the value into *dst (and its expiry into *expire if given).
class StringSink final : public Sink {
 public:
  explicit StringSink(std::string* dst, Time* expire = nullptr) : dst_(dst), expire_(expire) {}

  bool StoresInPlace() const override { return true; }

 private:
  Status Store(const ByteView& value) override;
  std::string* dst_;
  Time* expire_;
};

// Shares the cached bytes: the cheapest sink, no copy at all.
class ByteViewSink final : public Sink {
 public:
  explicit ByteViewSink(ByteView* dst) : dst_(dst) {}

  bool StoresInPlace() const override { return true; }

 private:
  Status Store(const ByteView& value) override;
  ByteView* dst_;
};

// Replaces *dst with a newly allocated copy of the value (Go's
// AllocatingByteSliceSink): the caller owns the bytes outright.
class AllocatingBytesSink final : public Sink {
 public:
  explicit AllocatingBytesSink(std::vector<uint8_t>* dst) : dst_(dst) {}

  bool StoresInPlace() const override { return true; }

 private:
  Status Store(const ByteView& value) override;
  std::vector<uint8_t>* dst_;
};

// Copies at most buffer.size() bytes into a caller-owned buffer (Go's
// TruncatingByteSliceSink). written() is how many bytes were copied;
// value_size() is the full size, so truncation shows as written() <
// value_size().
class TruncatingBytesSink final : public Sink {
 public:
  explicit TruncatingBytesSink(std::span<uint8_t> buffer) : buffer_(buffer) {}

  size_t written() const { return written_; }
  size_t value_size() const { return value_size_; }

  bool StoresInPlace() const override { return true; }

 private:
  Status Store(const ByteView& value) override;
  std::span<uint8_t> buffer_;
  size_t written_ = 0;
  size_t value_size_ = 0;
};

}  // namespace groupcache

#endif  // GROUPCACHE_SINK_H_
