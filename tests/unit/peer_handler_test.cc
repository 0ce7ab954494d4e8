#include "peer_handler.h"

#include <gtest/gtest.h>

#include <string>

namespace groupcache::internal {
namespace {

TEST(PeerHandlerTest, ReplyTypeFallsBackToTheLiteral) {
  PeerReply reply = PeerHandler::Error(404, "no such group: x");
  EXPECT_EQ(reply.type(), "text/plain; charset=utf-8");
  EXPECT_EQ(reply.body, "no such group: x\n");
  EXPECT_EQ(reply.size(), reply.body.size());
  reply.owned_content_type = "application/json";
  PeerReply moved = std::move(reply);
  EXPECT_EQ(moved.type(), "application/json");
}

// The mark of a forwarded fetch is one whole query parameter, wherever it
// stands among others.
TEST(PeerHandlerTest, TheForwardedMarkIsOneWholeQueryParameter) {
  EXPECT_TRUE(PeerHandler::IsForwarded("hop=1"));
  EXPECT_TRUE(PeerHandler::IsForwarded("a=b&hop=1"));
  EXPECT_TRUE(PeerHandler::IsForwarded("hop=1&a=b"));
  EXPECT_TRUE(PeerHandler::IsForwarded("a&hop=1&b"));
  EXPECT_FALSE(PeerHandler::IsForwarded(""));
  EXPECT_FALSE(PeerHandler::IsForwarded("hop=10"));
  EXPECT_FALSE(PeerHandler::IsForwarded("xhop=1"));
  EXPECT_FALSE(PeerHandler::IsForwarded("hop=1x&b"));
  EXPECT_FALSE(PeerHandler::IsForwarded("hop"));
  EXPECT_FALSE(PeerHandler::IsForwarded("&&"));
}

}  // namespace
}  // namespace groupcache::internal
