// ParseTtl: the bounds a user-given TTL or timeout must keep (ParseDuration
// and FormatDuration themselves are tested through the discovery config,
// tests/discovery/config_test.cc).

#include "groupcache/duration.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "groupcache/byte_view.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

TEST(ParseTtlTest, AboveZeroAndAtMostAHundredYearsInGoSyntax) {
  EXPECT_EQ(*ParseTtl("30s"), 30s);
  EXPECT_EQ(*ParseTtl("1m30s"), 90s);
  EXPECT_EQ(*ParseTtl("1.5h"), 90min);
  EXPECT_EQ(*ParseTtl("1ns"), 1ns);
  EXPECT_EQ(*ParseTtl("876000h"), kMaxTtl);
  for (const char* bad : {"0", "0s", "-1s", "876001h", "2500000h", "3000000h", "2", "soon", ""}) {
    Result<Duration> d = ParseTtl(bad);
    EXPECT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  // The refusal quotes what was given.
  EXPECT_NE(ParseTtl("876001h").status().message().find("\"876001h\""), std::string::npos);
  // The longest accepted TTL still fits a Time when added to now.
  EXPECT_GT(WallClock::now() + kMaxTtl, WallClock::now());
}

}  // namespace
}  // namespace groupcache
