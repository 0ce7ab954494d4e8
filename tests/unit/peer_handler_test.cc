#include "peer_handler.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "groupcache/registry.h"

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

class CountingLogger final : public Logger {
 public:
  bool Enabled(LogLevel) const override { return true; }
  void Log(LogLevel, std::string_view message, std::initializer_list<LogField> fields) override {
    std::string line(message);
    for (const LogField& f : fields) line += " " + std::string(f.key) + "=" + std::string(f.value);
    lines.push_back(std::move(line));
  }
  std::vector<std::string> lines;
};

// A client can send thousands of bad requests a second: each gets its 400,
// but the log gets one line per 10 s, saying how many it held back.
TEST(PeerHandlerTest, BadRequestsAreLoggedAtMostOncePerPeriod) {
  Registry registry(RegistryOptions{NewNullLogger()});
  CountingLogger logger;
  PeerHandler handler(&registry, HttpPoolOptions{}, &logger);
  for (int i = 0; i < 1000; ++i) {
    PeerReply reply;
    PeerHandler::Pending pending;
    ASSERT_TRUE(handler.Handle("GET", "/_groupcache/%zz", "", &reply, &pending));
    EXPECT_EQ(reply.status, 400);
  }
  ASSERT_EQ(logger.lines.size(), 1U);
  EXPECT_EQ(logger.lines[0], "bad request path path=/_groupcache/%zz suppressed=0");
}

}  // namespace
}  // namespace groupcache::internal
