#include "groupcache/logger.h"

#include <gtest/gtest.h>

#include <string>

namespace groupcache {
namespace {

TEST(LoggerTest, DefaultLoggerWritesLevelMessageAndFields) {
  auto logger = NewDefaultLogger(LogLevel::kInfo, "test");
  EXPECT_FALSE(logger->Enabled(LogLevel::kDebug));
  EXPECT_TRUE(logger->Enabled(LogLevel::kWarn));
  ::testing::internal::CaptureStderr();
  logger->Debug("hidden");
  logger->Warn("peer fetch failed", {{"peer", "http://a:1"}, {"error", "Unavailable: down now"}});
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find("hidden"), std::string::npos);
  EXPECT_NE(out.find("warn"), std::string::npos) << out;
  EXPECT_NE(out.find("peer fetch failed peer=http://a:1 error=\"Unavailable: down now\""),
            std::string::npos)
      << out;
}

TEST(LoggerTest, NullLoggerIsSilent) {
  auto logger = NewNullLogger();
  EXPECT_FALSE(logger->Enabled(LogLevel::kError));
  ::testing::internal::CaptureStderr();
  logger->Error("nothing");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(LoggerTest, ParseLogLevel) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(ParseLogLevel("warning", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  EXPECT_FALSE(ParseLogLevel("loud", &level));
}

}  // namespace
}  // namespace groupcache
