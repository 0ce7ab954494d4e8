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

}  // namespace
}  // namespace groupcache::internal
