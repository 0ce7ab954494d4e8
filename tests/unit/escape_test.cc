#include "escape.h"

#include <gtest/gtest.h>

namespace groupcache::internal {
namespace {

TEST(EscapeTest, PathEscapeMatchesGo) {
  // Expected values from Go's url.PathEscape.
  EXPECT_EQ(PathEscape("key with space"), "key%20with%20space");
  EXPECT_EQ(PathEscape("a/b?c&d=e+f%20"), "a%2Fb%3Fc&d=e+f%2520");
  EXPECT_EQ(PathEscape("$&+,;=:@-_.~"), "$&+%2C%3B=:@-_.~");
  EXPECT_EQ(PathEscape("ключ"), "%D0%BA%D0%BB%D1%8E%D1%87");
}

TEST(EscapeTest, QueryEscapeMatchesGo) {
  EXPECT_EQ(QueryEscape("key with space"), "key+with+space");
  EXPECT_EQ(QueryEscape("a/b?c&d=e+f%20"), "a%2Fb%3Fc%26d%3De%2Bf%2520");
  EXPECT_EQ(QueryEscape("-_.~"), "-_.~");
}

TEST(EscapeTest, PercentDecodeKeepsPlus) {
  EXPECT_EQ(PercentDecode("a+b%20c%2Fd"), "a+b c/d");
  EXPECT_EQ(PercentDecode("%D0%BA"), "\xD0\xBA");
  EXPECT_FALSE(PercentDecode("%zz").has_value());
  EXPECT_FALSE(PercentDecode("abc%2").has_value());
  EXPECT_FALSE(PercentDecode("%").has_value());
}

}  // namespace
}  // namespace groupcache::internal
