#include "get_response.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "groupcache.pb.h"
#include "peer_handler.h"

namespace groupcache::internal {
namespace {

std::string Framed(const ByteView& value) {
  GetResponseFrame f = FrameGetResponse(value);
  return std::string(f.prefix.data(), f.prefix_size) + std::string(value.data(), value.size()) +
         std::string(f.suffix.data(), f.suffix_size);
}

std::string Serialized(const ByteView& value) {
  groupcachepb::GetResponse response;
  response.set_value(value.data(), value.size());
  if (value.has_expiry()) response.set_expire(ToUnixNanos(value.expire()));
  return response.SerializeAsString();
}

// What protobuf itself reads from `bytes`: the reference for the hand
// reader.
std::optional<ByteView> Reference(const std::string& bytes) {
  groupcachepb::GetResponse response;
  if (!response.ParseFromString(bytes)) return std::nullopt;
  return ByteView(response.value(), FromUnixNanos(response.expire()));
}

// The server sends values framed by hand around the cached bytes; a peer
// (of either language) must read exactly what protobuf itself would write,
// and the client's hand reader must read it back.
TEST(GetResponseTest, HandFramedIsProtobufsOwnEncodingAndReadsBack) {
  std::vector<size_t> sizes = {0, 1, 127, 128, 300, 16383, 16384, 1 << 20};
  std::vector<Time> expiries = {kNoExpiry, FromUnixNanos(1), FromUnixNanos(1700000000123456789),
                                FromUnixNanos(-5), FromUnixNanos(INT64_MAX)};
  for (size_t size : sizes) {
    for (Time expire : expiries) {
      ByteView value(std::string(size, 'v'), expire);
      std::string framed = Framed(value);
      ASSERT_EQ(framed, Serialized(value)) << "size " << size;
      PeerReply reply{200, "application/x-protobuf", {}, value, {}};
      EXPECT_EQ(reply.size(), framed.size());
      std::optional<ByteView> read = DecodeGetResponse(framed);
      ASSERT_TRUE(read.has_value()) << "size " << size;
      EXPECT_EQ(*read, value);
      EXPECT_EQ(read->expire(), value.expire());
    }
  }
}

// Messages as other writers may send them (fields in another order or
// repeated, minute_qps, unknown fields of every wire type) and bytes that
// are no message at all: the hand reader reads what protobuf reads, and
// refuses what it refuses.
TEST(GetResponseTest, ReadsWhatProtobufReads) {
  std::mt19937_64 rng(20261204);
  auto pick = [&rng](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
  auto varint = [](uint64_t v) {
    std::string out;
    while (v >= 0x80) {
      out += static_cast<char>(v | 0x80);
      v >>= 7;
    }
    out += static_cast<char>(v);
    return out;
  };
  auto field = [&]() -> std::string {
    switch (pick(7)) {
      case 0:
      case 1: {
        std::string value(pick(300), 'a');
        for (char& c : value) c = static_cast<char>(pick(256));
        return "\x0a" + varint(value.size()) + value;
      }
      case 2: return std::string("\x11") + std::string(8, static_cast<char>(pick(256)));
      case 3: {
        const uint64_t expiries[] = {0, 1, pick(uint64_t{1} << 62), ~uint64_t{0},
                                     uint64_t{1} << 63};
        return "\x18" + varint(expiries[pick(5)]);
      }
      case 4: return varint((uint64_t{4 + pick(1000)} << 3) | 0) + varint(pick(1 << 20));
      case 5: return varint((uint64_t{4 + pick(1000)} << 3) | 2) + varint(3) + "xyz";
      default: return varint((uint64_t{4 + pick(1000)} << 3) | 5) + "abcd";
    }
  };
  int decoded = 0;
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    for (uint64_t n = pick(5); n > 0; --n) bytes += field();
    // Half of them damaged: a byte changed, or the end cut off.
    if (pick(2) == 0 && !bytes.empty()) {
      if (pick(2) == 0) {
        bytes[pick(bytes.size())] = static_cast<char>(pick(256));
      } else {
        bytes.resize(pick(bytes.size()));
      }
    }
    std::optional<ByteView> want = Reference(bytes);
    std::optional<ByteView> got = DecodeGetResponse(bytes);
    ASSERT_EQ(got.has_value(), want.has_value()) << testing::PrintToString(bytes);
    if (!want) {
      ++refused;
      continue;
    }
    ++decoded;
    ASSERT_EQ(got->view(), want->view()) << testing::PrintToString(bytes);
    ASSERT_EQ(got->expire(), want->expire()) << testing::PrintToString(bytes);
  }
  // Both outcomes must be common, or the comparison proved little.
  EXPECT_GT(decoded, 5000);
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace groupcache::internal
