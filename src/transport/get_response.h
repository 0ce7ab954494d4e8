// GetResponse, the peer protocol's answer to a GET, in protobuf's encoding
// (protos/groupcache.proto), written and read by hand on the hot paths:
// the server sends a cached value without copying it into a message, and
// the client reads one without a message and its string in between.
// Protobuf's own code stays the reference (unit tests compare the two) and
// reads whatever the hand reader does not expect.

#ifndef GROUPCACHE_SRC_TRANSPORT_GET_RESPONSE_H_
#define GROUPCACHE_SRC_TRANSPORT_GET_RESPONSE_H_

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

#include "groupcache/byte_view.h"

namespace groupcache::internal {

// The protobuf encoding of GetResponse{value, expire} is prefix + the
// value's bytes + suffix, so a server can send a cached value without
// copying it into a message: the bytes go out straight from the ByteView.
// The same bytes as GetResponse::SerializeAsString (a unit test checks).
struct GetResponseFrame {
  std::array<char, 11> prefix{};  // field 1 tag, varint length
  size_t prefix_size = 0;
  std::array<char, 11> suffix{};  // field 3 tag, varint expire (if any)
  size_t suffix_size = 0;

  // The encoded message's size around a value of `value_size` bytes.
  size_t Size(size_t value_size) const { return prefix_size + value_size + suffix_size; }
};
GetResponseFrame FrameGetResponse(const ByteView& value);

// The value (one copy of its bytes) and expiry of an encoded GetResponse,
// as protobuf's parser reads them: the last value and expire fields win,
// minute_qps and unknown fields are skipped. nullopt for bytes protobuf
// refuses.
std::optional<ByteView> DecodeGetResponse(std::string_view bytes);

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_GET_RESPONSE_H_
