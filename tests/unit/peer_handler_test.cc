#include "peer_handler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "groupcache.pb.h"

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

// The server sends values framed by hand around the cached bytes; a peer
// (of either language) must read exactly what protobuf itself would write.
TEST(PeerHandlerTest, HandFramedGetResponseIsProtobufsOwnEncoding) {
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
      groupcachepb::GetResponse parsed;
      ASSERT_TRUE(parsed.ParseFromString(framed));
      EXPECT_EQ(parsed.value().size(), size);
    }
  }
}

TEST(PeerHandlerTest, ReplyTypeFallsBackToTheLiteral) {
  PeerReply reply = PeerHandler::Error(404, "no such group: x");
  EXPECT_EQ(reply.type(), "text/plain; charset=utf-8");
  EXPECT_EQ(reply.body, "no such group: x\n");
  EXPECT_EQ(reply.size(), reply.body.size());
  reply.owned_content_type = "application/json";
  PeerReply moved = std::move(reply);
  EXPECT_EQ(moved.type(), "application/json");
}

}  // namespace
}  // namespace groupcache::internal
