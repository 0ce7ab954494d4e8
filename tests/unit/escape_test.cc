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

TEST(EscapeTest, PercentDecodeViewCopiesOnlyEscapedText) {
  std::string storage = "left over";
  std::string_view plain = "/_groupcache/g/key";
  std::optional<std::string_view> same = PercentDecodeView(plain, &storage);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->data(), plain.data());  // no copy
  EXPECT_EQ(*same, plain);

  std::optional<std::string_view> decoded = PercentDecodeView("%41b%2Fc%2", &storage);
  EXPECT_FALSE(decoded.has_value());
  decoded = PercentDecodeView("%41b%2Fc d%25", &storage);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, "Ab/c d%");
  EXPECT_EQ(decoded->data(), storage.data());
  decoded = PercentDecodeView("%2F", &storage);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, "/");
  EXPECT_FALSE(PercentDecodeView("ab%g1", &storage).has_value());
  EXPECT_FALSE(PercentDecodeView("ab%", &storage).has_value());
}

}  // namespace
}  // namespace groupcache::internal
