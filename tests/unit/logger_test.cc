#include "groupcache/logger.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

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

// The JSON objects of the captured lines, one per line.
std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
    if (nlohmann::json::accept(line)) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

TEST(LoggerTest, JsonLoggerWritesOneObjectPerLineWithTheFieldsIntact) {
  auto logger = NewDefaultLogger({LogLevel::kInfo, "json-test", LogFormat::kJson});
  EXPECT_FALSE(logger->Enabled(LogLevel::kDebug));
  const std::string awkward = "say \"hi\"\nthen \\ leave\t{\"x\":1}";
  ::testing::internal::CaptureStderr();
  logger->Debug("hidden");
  logger->Warn("peer fetch failed", {{"peer", "http://a:1"}, {"error", awkward}});
  logger->Error("two\nlines \"quoted\"", {{"msg", "not the message"}, {"key", "\xff\xfe"}});
  std::vector<nlohmann::json> lines = JsonLines(::testing::internal::GetCapturedStderr());
  ASSERT_EQ(lines.size(), 2U);

  const nlohmann::json& warn = lines[0];
  EXPECT_EQ(warn["level"], "warn");
  EXPECT_EQ(warn["logger"], "json-test");
  EXPECT_EQ(warn["msg"], "peer fetch failed");
  EXPECT_EQ(warn["peer"], "http://a:1");
  EXPECT_EQ(warn["error"], awkward);
  // UTC with milliseconds: 2024-05-01T12:00:00.123Z
  std::string ts = warn["ts"];
  ASSERT_EQ(ts.size(), 24U) << ts;
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[19], '.');
  EXPECT_EQ(ts.back(), 'Z');
  EXPECT_EQ(warn.size(), 6U);  // ts, level, logger, msg, peer, error

  const nlohmann::json& error = lines[1];
  EXPECT_EQ(error["level"], "error");
  EXPECT_EQ(error["msg"], "two\nlines \"quoted\"");
  EXPECT_EQ(error["msg_"], "not the message");  // cannot hide the message
  EXPECT_EQ(error["key"], "\ufffd\ufffd");      // invalid UTF-8, replaced, not thrown
}

TEST(LoggerTest, JsonKeepsTheOrderTsLevelLoggerMsgThenFields) {
  auto logger = NewDefaultLogger({LogLevel::kDebug, "n", LogFormat::kJson});
  ::testing::internal::CaptureStderr();
  logger->Info("m", {{"z", "1"}, {"a", "2"}});
  std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  auto line = nlohmann::ordered_json::parse(out);
  std::vector<std::string> keys;
  for (const auto& item : line.items()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"ts", "level", "logger", "msg", "z", "a"}));
}

TEST(LoggerTest, ParseLogFormat) {
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(ParseLogFormat("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_TRUE(ParseLogFormat("text", &format));
  EXPECT_EQ(format, LogFormat::kText);
  EXPECT_FALSE(ParseLogFormat("xml", &format));
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
