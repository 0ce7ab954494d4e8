#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "groupcache.pb.h"
#include "groupcache/byte_view.h"
#include "groupcache/proto_sink.h"
#include "groupcache/sink.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

TEST(ByteViewTest, SharesBytesAndSlices) {
  ByteView v = ByteView::Copy("hello world");
  ByteView w = v;                 // NOLINT(performance-unnecessary-copy-initialization): the point
  EXPECT_EQ(v.data(), w.data());  // shared, not copied
  EXPECT_EQ(v.Slice(6).view(), "world");
  EXPECT_EQ(v.Slice(0, 5).view(), "hello");
  EXPECT_EQ(v.Slice(100).size(), 0U);
  EXPECT_EQ(v.Slice(3, 100).view(), "lo world");
  EXPECT_EQ(v, "hello world");
  EXPECT_EQ(ByteView().view(), "");
}

TEST(ByteViewTest, TakesOwnershipWithoutCopy) {
  std::string s(1000, 'x');
  const char* p = s.data();
  ByteView v(std::move(s));
  EXPECT_EQ(v.data(), p);
}

TEST(ByteViewTest, Expiry) {
  ByteView never = ByteView::Copy("a");
  EXPECT_FALSE(never.has_expiry());
  EXPECT_FALSE(never.Expired());
  ByteView past = ByteView::Copy("a", WallClock::now() - 1s);
  EXPECT_TRUE(past.Expired());
  ByteView future = ByteView::Copy("a", WallClock::now() + 1h);
  EXPECT_FALSE(future.Expired());
  EXPECT_TRUE(future.ExpiredAt(future.expire()));
}

TEST(ByteViewTest, WireTimeRoundTrips) {
  EXPECT_EQ(ToUnixNanos(kNoExpiry), 0);
  EXPECT_EQ(FromUnixNanos(0), kNoExpiry);
  int64_t nanos = 1764000000123456789;
  EXPECT_EQ(ToUnixNanos(FromUnixNanos(nanos)), nanos);
  EXPECT_TRUE(ByteView::Copy("x", FromUnixNanos(-5)).Expired());
}

TEST(SinkTest, StringSinkCopiesValueAndExpiry) {
  std::string out;
  Time expire;
  StringSink sink(&out, &expire);
  Time when = WallClock::now() + 1h;
  ASSERT_TRUE(sink.SetBytes("abc", when).ok());
  EXPECT_EQ(out, "abc");
  EXPECT_EQ(expire, when);
  EXPECT_TRUE(sink.filled());
}

TEST(SinkTest, SecondFillIsRefusedAndKeepsFirst) {
  std::string out;
  StringSink sink(&out);
  ASSERT_TRUE(sink.SetString("first").ok());
  Status s = sink.SetString("second");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(out, "first");
  EXPECT_EQ(sink.fill_attempts(), 2);
}

TEST(SinkTest, ByteViewSinkShares) {
  ByteView src = ByteView::Copy("shared");
  ByteView out;
  ByteViewSink sink(&out);
  ASSERT_TRUE(sink.SetView(src).ok());
  EXPECT_EQ(out.data(), src.data());
}

TEST(SinkTest, AllocatingBytesSink) {
  std::vector<uint8_t> out = {9, 9, 9, 9, 9};
  AllocatingBytesSink sink(&out);
  ASSERT_TRUE(sink.SetBytes("ab").ok());
  EXPECT_EQ(out, (std::vector<uint8_t>{'a', 'b'}));
}

TEST(SinkTest, TruncatingBytesSinkTruncates) {
  std::vector<uint8_t> buf(4, 0);
  TruncatingBytesSink sink(buf);
  ASSERT_TRUE(sink.SetBytes("abcdef").ok());
  EXPECT_EQ(sink.written(), 4U);
  EXPECT_EQ(sink.value_size(), 6U);
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "abcd");

  std::vector<uint8_t> big(10, 0);
  TruncatingBytesSink sink2(big);
  ASSERT_TRUE(sink2.SetBytes("xy").ok());
  EXPECT_EQ(sink2.written(), 2U);
}

TEST(SinkTest, ProtoSinkRoundTrip) {
  groupcachepb::GetRequest msg;
  msg.set_group("g");
  msg.set_key("k/with/slash");
  ByteView captured;
  ByteViewSink capture(&captured);
  ASSERT_TRUE(SetProto(capture, msg).ok());

  groupcachepb::GetRequest out;
  ProtoSink sink(&out);
  ASSERT_TRUE(sink.SetView(captured).ok());
  EXPECT_EQ(out.group(), "g");
  EXPECT_EQ(out.key(), "k/with/slash");
}

TEST(SinkTest, ProtoSinkRejectsGarbage) {
  groupcachepb::GetRequest out;
  ProtoSink sink(&out);
  Status s = sink.SetBytes("\xff\xff\xff");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(sink.filled());
}

}  // namespace
}  // namespace groupcache
