#include "groupcache/discovery/config.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "groupcache/discovery/provider.h"

namespace groupcache::discovery {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(ConfigTest, TypedValuesRoundTrip) {
  Config c;
  c.SetString("s", "text");
  c.SetInt("i", -42);
  c.SetBool("b", true);
  c.SetDouble("d", 0.25);
  c.SetDuration("t", milliseconds(1500));
  c.SetStringList("l", {"a", "b"});
  EXPECT_EQ(*c.GetString("s"), "text");
  EXPECT_EQ(*c.GetInt("i"), -42);
  EXPECT_TRUE(*c.GetBool("b"));
  EXPECT_DOUBLE_EQ(*c.GetDouble("d"), 0.25);
  EXPECT_EQ(*c.GetDuration("t"), milliseconds(1500));
  EXPECT_EQ(*c.GetStringList("l"), (StringList{"a", "b"}));
  EXPECT_EQ(c.size(), 6u);
  EXPECT_EQ(c.Keys(), (std::vector<std::string>{"b", "d", "i", "l", "s", "t"}));
}

TEST(ConfigTest, SetWithLiteralsPicksTheObviousType) {
  Config c;
  c.Set("s", "a literal");  // a string, not a bool
  c.Set("i", 5);
  EXPECT_EQ(*c.GetString("s"), "a literal");
  EXPECT_EQ(*c.GetInt("i"), 5);
}

TEST(ConfigTest, SetReplacesAnyType) {
  Config c;
  c.SetInt("k", 1);
  c.SetString("k", "now a string");
  EXPECT_EQ(*c.GetString("k"), "now a string");
  EXPECT_TRUE(c.Erase("k"));
  EXPECT_FALSE(c.Has("k"));
  EXPECT_FALSE(c.Erase("k"));
}

TEST(ConfigTest, MissingKeyIsNamed) {
  Config c;
  Result<std::string> r = c.GetString("nats-subject");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().ToString(),
            "InvalidArgument: discovery config: missing key \"nats-subject\"");
  EXPECT_EQ(c.GetDuration("timeout").status().message(),
            "discovery config: missing key \"timeout\"");
}

TEST(ConfigTest, WrongTypeNamesKeyHaveAndWant) {
  Config c;
  c.SetBool("timeout", true);
  c.SetInt("subject", 7);
  c.SetDuration("port", seconds(1));
  c.SetDouble("count", 1.5);
  EXPECT_EQ(c.GetDuration("timeout").status().ToString(),
            "InvalidArgument: discovery config: key \"timeout\" is a bool, want duration");
  EXPECT_EQ(c.GetString("subject").status().message(),
            "discovery config: key \"subject\" is an int64, want string");
  EXPECT_EQ(c.GetInt("port").status().message(),
            "discovery config: key \"port\" is a duration, want int64");
  EXPECT_EQ(c.GetInt("count").status().message(),
            "discovery config: key \"count\" is a double, want int64");
  // A number has no unit: it is not silently taken as seconds or nanoseconds.
  EXPECT_EQ(c.GetDuration("subject").status().message(),
            "discovery config: key \"subject\" is an int64, want duration");
}

TEST(ConfigTest, StringsAreParsedForOtherTypes) {
  Config c;
  c.SetString("timeout", "1s");
  c.SetString("short", "500ms");
  c.SetString("flag", "true");
  c.SetString("off", "0");
  c.SetString("n", "8080");
  c.SetString("ratio", "0.5");
  c.SetString("peers", "a:1, b:2,,");
  EXPECT_EQ(*c.GetDuration("timeout"), seconds(1));
  EXPECT_EQ(*c.GetDuration("short"), milliseconds(500));
  EXPECT_TRUE(*c.GetBool("flag"));
  EXPECT_FALSE(*c.GetBool("off"));
  EXPECT_EQ(*c.GetInt("n"), 8080);
  EXPECT_DOUBLE_EQ(*c.GetDouble("ratio"), 0.5);
  EXPECT_EQ(*c.GetStringList("peers"), (StringList{"a:1", "b:2"}));
}

TEST(ConfigTest, UnparsableStringNamesKeyAndQuotesText) {
  Config c;
  c.SetString("timeout", "soon");
  c.SetString("port", "80a");
  c.SetString("ipv6", "yes");
  EXPECT_EQ(c.GetDuration("timeout").status().message(),
            "discovery config: key \"timeout\" is a string, want duration: bad duration \"soon\" "
            "(want e.g. \"500ms\", \"2s\", \"1m30s\")");
  EXPECT_EQ(c.GetInt("port").status().message(),
            "discovery config: key \"port\" is a string, want int64: bad integer \"80a\"");
  EXPECT_EQ(c.GetBool("ipv6").status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.GetBool("ipv6").status().message().find("\"yes\""), std::string::npos);
}

TEST(ConfigTest, IntWidensToDoubleButNotBack) {
  Config c;
  c.SetInt("i", 3);
  EXPECT_DOUBLE_EQ(*c.GetDouble("i"), 3.0);
}

TEST(ConfigTest, DefaultsApplyOnlyToMissingKeys) {
  Config c;
  EXPECT_EQ(*c.GetDurationOr("timeout", seconds(1)), seconds(1));
  EXPECT_EQ(*c.GetStringOr("s", "x"), "x");
  EXPECT_EQ(*c.GetIntOr("i", 5), 5);
  EXPECT_TRUE(*c.GetBoolOr("b", true));
  EXPECT_DOUBLE_EQ(*c.GetDoubleOr("d", 2.5), 2.5);
  EXPECT_TRUE(c.GetStringListOr("l", {}).value().empty());
  c.SetString("timeout", "forever");
  // A present but bad value is an error, not the default.
  EXPECT_FALSE(c.GetDurationOr("timeout", seconds(1)).ok());
  c.SetString("timeout", "2s");
  EXPECT_EQ(*c.GetDurationOr("timeout", seconds(1)), seconds(2));
}

TEST(ParseDurationTest, GoSyntax) {
  EXPECT_EQ(*ParseDuration("0"), nanoseconds(0));
  EXPECT_EQ(*ParseDuration("1ns"), nanoseconds(1));
  EXPECT_EQ(*ParseDuration("3us"), nanoseconds(3000));
  EXPECT_EQ(*ParseDuration("3\xC2\xB5s"), nanoseconds(3000));
  EXPECT_EQ(*ParseDuration("200ms"), milliseconds(200));
  EXPECT_EQ(*ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*ParseDuration("1m30s"), seconds(90));
  EXPECT_EQ(*ParseDuration("2h"), hours(2));
  EXPECT_EQ(*ParseDuration("1h2m3s"), hours(1) + minutes(2) + seconds(3));
  EXPECT_EQ(*ParseDuration("-1s"), seconds(-1));
  EXPECT_EQ(*ParseDuration(".5s"), milliseconds(500));
  for (const char* bad : {"", "1", "s", "1x", "1.2.3s", "ms", "--1s", "1s2", "one second"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseDuration("3000000h").ok());  // beyond int64 nanoseconds
}

TEST(ParseTest, BoolIntDoubleList) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) EXPECT_TRUE(*ParseBool(t)) << t;
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) EXPECT_FALSE(*ParseBool(f));
  EXPECT_FALSE(ParseBool("yes").ok());
  EXPECT_FALSE(ParseBool("").ok());
  EXPECT_EQ(*ParseInt("+7"), 7);
  EXPECT_EQ(*ParseInt("-9223372036854775808"), INT64_MIN);
  EXPECT_FALSE(ParseInt("9223372036854775808").ok());
  EXPECT_FALSE(ParseInt("").ok());
  EXPECT_FALSE(ParseInt("1 ").ok());
  EXPECT_DOUBLE_EQ(*ParseDouble("-2.5e3"), -2500.0);
  EXPECT_FALSE(ParseDouble("nan").ok());
  EXPECT_FALSE(ParseDouble("1.0x").ok());
  EXPECT_TRUE(ParseStringList("").empty());
  EXPECT_EQ(ParseStringList(" a ,b"), (StringList{"a", "b"}));
}

TEST(FormatDurationTest, LikeGo) {
  EXPECT_EQ(FormatDuration(nanoseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(nanoseconds(15)), "15ns");
  EXPECT_EQ(FormatDuration(milliseconds(200)), "200ms");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(seconds(60)), "1m0s");
  EXPECT_EQ(FormatDuration(hours(1) + seconds(1)), "1h0m1s");
  EXPECT_EQ(FormatDuration(-milliseconds(2)), "-2ms");
}

TEST(NodeTest, AddressAndPeerUrlAreFullUrls) {
  Node n{"node-1", "10.0.0.2", 8080};
  EXPECT_EQ(n.Address(), "10.0.0.2:8080");
  EXPECT_EQ(n.PeerUrl(), "http://10.0.0.2:8080");
  Node v6{"v6", "::1", 9000};
  EXPECT_EQ(v6.Address(), "[::1]:9000");
  EXPECT_EQ(v6.PeerUrl(), "http://[::1]:9000");
}

TEST(NodeTest, ParseNodeAddress) {
  EXPECT_EQ(*ParseNodeAddress("10.0.0.1:8080"), (Node{"10.0.0.1:8080", "10.0.0.1", 8080}));
  EXPECT_EQ(*ParseNodeAddress("http://host:1/"), (Node{"host:1", "host", 1}));
  EXPECT_EQ(*ParseNodeAddress("https://host:1"), (Node{"host:1", "host", 1}));
  EXPECT_EQ(*ParseNodeAddress("[::1]:80"), (Node{"[::1]:80", "::1", 80}));
  for (const char* bad :
       {"host", "host:", ":80", "host:0", "host:65536", "host:http", "ftp://host:1",
        "http://host:1/path", "::1:80", "[::1", "[::1]", "[::1]x80", "a host:80"}) {
    Result<Node> r = ParseNodeAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
  // The NATS server URLs are split by the same code and say the same words.
  EXPECT_NE(ParseNodeAddress("[::1]x80").status().message().find("junk after ']'"),
            std::string::npos);
  EXPECT_NE(ParseNodeAddress("::1:80").status().message().find("IPv6 host needs [brackets]"),
            std::string::npos);
  EXPECT_NE(ParseNodeAddress("host").status().message().find(": no port"), std::string::npos);
}

TEST(NodeTest, SelfKeysRoundTripAndErrorsNameTheKey) {
  Config c;
  SetSelf(c, Node{"", "10.0.0.9", 9000});
  EXPECT_EQ(*GetSelf(c), (Node{"10.0.0.9", "10.0.0.9", 9000}));
  c.SetString(std::string(kSelfPort), "http");
  EXPECT_NE(GetSelf(c).status().message().find("\"self-port\""), std::string::npos);
  c.SetInt(std::string(kSelfPort), 70000);
  EXPECT_EQ(GetSelf(c).status().message(),
            "discovery config: key \"self-port\" is 70000, want a port in 1..65535");
  c.Erase(kSelfHost);
  EXPECT_EQ(GetSelf(c).status().message(), "discovery config: missing key \"self-host\"");
}

}  // namespace
}  // namespace groupcache::discovery
