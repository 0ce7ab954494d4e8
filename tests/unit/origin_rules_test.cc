// The http: loader's rules without a server: templates, key escaping, and
// the expiry a response's headers give, with the clock passed in.

#include "origin_rules.h"

#include <gtest/gtest.h>

#include "groupcache/duration.h"

namespace groupcache::daemon {
namespace {

using std::chrono::seconds;

TEST(OriginTemplateTest, SplitsTheUrlAroundTheKey) {
  auto t = ParseOriginTemplate("https://origin.internal/images/{key}.png?v=2");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(t->tls);
  EXPECT_EQ(t->host, "origin.internal");
  EXPECT_EQ(t->port, "443");
  EXPECT_EQ(t->authority, "origin.internal");
  EXPECT_EQ(*t->Target("cats/tom"), "/images/cats/tom.png?v=2");
  EXPECT_EQ(t->Url("/x"), "https://origin.internal/x");

  auto v6 = ParseOriginTemplate("http://[::1]:8080/{key}");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_FALSE(v6->tls);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "8080");
  EXPECT_EQ(v6->authority, "[::1]:8080");

  auto query = ParseOriginTemplate("http://h?k={key}");
  ASSERT_TRUE(query.ok()) << query.status().ToString();
  EXPECT_EQ(query->port, "80");
  EXPECT_EQ(*query->Target("a&b"), "/?k=a%26b");
}

TEST(OriginTemplateTest, RefusesBadTemplatesSayingWhy) {
  auto why = [](std::string_view text) {
    auto t = ParseOriginTemplate(text);
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << text;
    return t.status().message();
  };
  EXPECT_NE(why("ftp://h/{key}").find("not an http:// or https:// URL"), std::string::npos);
  EXPECT_NE(why("http://h/images").find("no {key}"), std::string::npos);
  EXPECT_NE(why("http://h/{key}/{key}").find("more than one {key}"), std::string::npos);
  EXPECT_NE(why("http://{key}.h/x").find("in the host"), std::string::npos);
  EXPECT_NE(why("http:///{key}").find("no host"), std::string::npos);
  EXPECT_NE(why("http://h:0/{key}").find("bad port"), std::string::npos);
  EXPECT_NE(why("http://h:99999/{key}").find("bad port"), std::string::npos);
  EXPECT_NE(why("http://h:x/{key}").find("bad port"), std::string::npos);
  EXPECT_NE(why("http://u:p@h/{key}").find("user info"), std::string::npos);
  EXPECT_NE(why("http://h/{key}#f").find("fragment"), std::string::npos);
  EXPECT_NE(why("http://h/a b/{key}").find("space"), std::string::npos);
  EXPECT_NE(why("http://[::1/{key}").find("'['"), std::string::npos);
}

TEST(OriginTemplateTest, EscapesAllButUnreservedAndSlash) {
  EXPECT_EQ(EscapeKeyPath("aZ09-._~/x"), "aZ09-._~/x");
  EXPECT_EQ(EscapeKeyPath("a b?c#d%e&f+g=h"), "a%20b%3Fc%23d%25e%26f%2Bg%3Dh");
  EXPECT_EQ(EscapeKeyPath(std::string("\0\xff\xc3\xa9", 4)), "%00%FF%C3%A9");
}

TEST(OriginTemplateTest, RefusesKeysThatWouldLeaveThePath) {
  auto t = ParseOriginTemplate("http://h/images/{key}");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Target("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t->Target("..").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t->Target("a/../../admin").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t->Target("a/./b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*t->Target("a..b/.c/d."), "/images/a..b/.c/d.");
  EXPECT_EQ(*t->Target("a//b/"), "/images/a//b/");
}

class OriginExpiryTest : public ::testing::Test {
 protected:
  Time Expiry(std::string_view cache_control, std::string_view expires = "",
              std::string_view date = "", std::string_view age = "",
              std::chrono::milliseconds ttl = {}) const {
    return OriginExpiry(
        {.cache_control = cache_control, .expires = expires, .date = date, .age = age}, now_, ttl);
  }
  // Sun, 06 Nov 1994 08:49:37 GMT
  const Time now_ = WallClock::from_time_t(784111777);
};

TEST_F(OriginExpiryTest, MaxAgeAndSMaxAgeWhichWins) {
  EXPECT_EQ(Expiry("max-age=60"), now_ + seconds(60));
  EXPECT_EQ(Expiry("public, MAX-AGE=\"60\""), now_ + seconds(60));
  EXPECT_EQ(Expiry("s-maxage=120, max-age=60"), now_ + seconds(120));
  EXPECT_EQ(Expiry("max-age=60, s-maxage=120"), now_ + seconds(120));
  EXPECT_EQ(Expiry("max-age=60", "", "", "20"), now_ + seconds(40));
  EXPECT_EQ(Expiry("max-age=60", "", "", "90"), now_);
  // Cache-Control wins over Expires.
  EXPECT_EQ(Expiry("max-age=60", "Sun, 06 Nov 1994 09:49:37 GMT"), now_ + seconds(60));
}

TEST_F(OriginExpiryTest, UncacheableAndInvalidMeanExpiredAtOnce) {
  EXPECT_EQ(Expiry("no-store"), now_);
  EXPECT_EQ(Expiry("max-age=60, no-cache"), now_);
  EXPECT_EQ(Expiry("private, max-age=60"), now_);
  EXPECT_EQ(Expiry("max-age=0"), now_);
  EXPECT_EQ(Expiry("max-age=soon"), now_);
  EXPECT_EQ(Expiry("max-age=-5"), now_);
  EXPECT_EQ(Expiry("", "0"), now_);
  EXPECT_EQ(Expiry("", "Thu, 01 Jan 1970 00:00:00 GMT"), now_);  // not kNoExpiry
}

TEST_F(OriginExpiryTest, ExpiresRelativeToDate) {
  // The origin's clock is an hour behind ours: what counts is Expires - Date.
  EXPECT_EQ(Expiry("", "Sun, 06 Nov 1994 07:54:37 GMT", "Sun, 06 Nov 1994 07:49:37 GMT"),
            now_ + seconds(300));
  EXPECT_EQ(Expiry("", "Sun, 06 Nov 1994 08:54:37 GMT"), now_ + seconds(300));
  EXPECT_EQ(Expiry("", "Sun, 06 Nov 1994 08:54:37 GMT", "garbage"), now_ + seconds(300));
  EXPECT_EQ(Expiry("", "Sun, 06 Nov 1994 07:49:37 GMT", "Sun, 06 Nov 1994 07:54:37 GMT"), now_);
}

TEST_F(OriginExpiryTest, DefaultTtlOrNoExpiry) {
  EXPECT_EQ(Expiry("public"), kNoExpiry);
  EXPECT_EQ(Expiry("", "", "", "", std::chrono::seconds(5)), now_ + seconds(5));
}

// A date past 2262 does not fit the clock's nanoseconds: it is far ahead,
// not wrapped into the past (which cached nothing at all).
TEST_F(OriginExpiryTest, AFarExpiryIsCappedAtAHundredYears) {
  EXPECT_EQ(Expiry("", "Fri, 31 Dec 9999 23:59:59 GMT"), now_ + kMaxTtl);
  EXPECT_EQ(Expiry("", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"),
            now_ + kMaxTtl);
  EXPECT_EQ(Expiry("", "Fri, 01 Jan 2100 00:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT"),
            now_ + kMaxTtl);
  EXPECT_EQ(Expiry("", "", "", "", std::chrono::hours(2400000)), now_ + kMaxTtl);
  // The difference of two far dates, added to now, must not wrap either.
  EXPECT_EQ(Expiry("", "Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 1700 00:00:00 GMT"),
            now_ + kMaxTtl);
  EXPECT_EQ(Expiry("", "Mon, 01 Jan 1700 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"), now_);
  EXPECT_EQ(Expiry("max-age=2147483648"), now_ + seconds(int64_t{1} << 31));
  EXPECT_GT(*ParseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT"), WallClock::from_time_t(4102444800));
}

TEST(HttpDateTest, ParsesTheThreeForms) {
  const Time t = WallClock::from_time_t(784111777);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), t);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), t);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), t);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT junk"), std::nullopt);
  EXPECT_EQ(ParseHttpDate(""), std::nullopt);
}

}  // namespace
}  // namespace groupcache::daemon
