#include "get_response.h"

#include <cstdint>
#include <string>
#include <utility>

#include "groupcache.pb.h"

namespace groupcache::internal {
namespace {

// GetResponse's tags: field number << 3 | wire type.
constexpr unsigned char kValueTag = (1 << 3) | 2;   // value: length-delimited
constexpr unsigned char kQpsTag = (2 << 3) | 1;     // minute_qps: 64-bit
constexpr unsigned char kExpireTag = (3 << 3) | 0;  // expire: varint

// Protobuf's base-128 varint; returns the bytes written (at most 10).
size_t PutVarint(uint64_t v, char* out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<char>(v);
  return n;
}

// A varint of at most `max_bytes` bytes at *p, before `end`; false if it
// is longer or cut short.
bool ReadVarint(const char** p, const char* end, int max_bytes, uint64_t* v) {
  uint64_t result = 0;
  for (int i = 0; i < max_bytes && *p != end; ++i) {
    const auto b = static_cast<unsigned char>(*(*p)++);
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

std::optional<ByteView> DecodeWithProtobuf(std::string_view bytes) {
  groupcachepb::GetResponse response;
  if (!response.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return std::nullopt;
  return ByteView(std::move(*response.mutable_value()), FromUnixNanos(response.expire()));
}

}  // namespace

GetResponseFrame FrameGetResponse(const ByteView& value) {
  // GetResponse's fields are proto3 `optional`: value is always present
  // (even empty), expire only when set; minute_qps is never sent.
  GetResponseFrame f;
  f.prefix[0] = static_cast<char>(kValueTag);
  f.prefix_size = 1 + PutVarint(value.size(), f.prefix.data() + 1);
  if (value.has_expiry()) {
    f.suffix[0] = static_cast<char>(kExpireTag);
    f.suffix_size =
        1 + PutVarint(static_cast<uint64_t>(ToUnixNanos(value.expire())), f.suffix.data() + 1);
  }
  return f;
}

std::optional<ByteView> DecodeGetResponse(std::string_view bytes) {
  // What every peer sends: the three fields, each tag one byte, lengths
  // that fit the message and expiry times that are not negative (at most
  // 9 varint bytes). Anything else (unknown fields, groups, a negative
  // time, a malformed message) is protobuf's to judge.
  if (bytes.size() > INT32_MAX) return std::nullopt;  // as ParseFromArray
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  std::string_view value;
  uint64_t expire = 0;
  while (p != end) {
    switch (static_cast<unsigned char>(*p++)) {
      case kValueTag: {
        uint64_t n = 0;
        if (!ReadVarint(&p, end, 5, &n) || n > static_cast<uint64_t>(end - p)) {
          return DecodeWithProtobuf(bytes);
        }
        value = {p, static_cast<size_t>(n)};
        p += n;
        break;
      }
      case kQpsTag:
        if (end - p < 8) return DecodeWithProtobuf(bytes);
        p += 8;
        break;
      case kExpireTag:
        if (!ReadVarint(&p, end, 9, &expire)) return DecodeWithProtobuf(bytes);
        break;
      default: return DecodeWithProtobuf(bytes);
    }
  }
  return ByteView::Copy(value, FromUnixNanos(static_cast<int64_t>(expire)));
}

}  // namespace groupcache::internal
