#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "groupcache.pb.h"
#include "groupcache/byte_view.h"
#include "groupcache/proto_sink.h"
#include "groupcache/sink.h"

// Counts this binary's (unaligned) operator new and delete calls, so the
// tests below can see how many blocks a ByteView asks for, of what size, and
// that the last owner frees them.
namespace {
std::atomic<int64_t> g_news{0};
std::atomic<int64_t> g_deletes{0};
std::atomic<size_t> g_last_request{0};
}  // namespace

void* operator new(size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  g_last_request.store(n, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;  // NOLINT: malloc is what new wraps
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  if (p != nullptr) g_deletes.fetch_add(1, std::memory_order_relaxed);
  std::free(p);  // NOLINT: pairs with the malloc above
}
void operator delete(void* p, size_t /*size*/) noexcept { operator delete(p); }

namespace groupcache {
namespace {

using namespace std::chrono_literals;

int64_t News() { return g_news.load(); }
int64_t LiveBlocks() { return g_news.load() - g_deletes.load(); }

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

TEST(ByteViewTest, IsFourWords) { static_assert(sizeof(ByteView) == 32); }

TEST(ByteViewTest, SlicesAndCopiesPointIntoOneBuffer) {
  ByteView v = ByteView::Copy("0123456789");
  ByteView s = v.Slice(3, 4);
  EXPECT_EQ(s.data(), v.data() + 3);
  ByteView t = s.Slice(1);  // a slice of a slice
  EXPECT_EQ(t.data(), v.data() + 4);
  EXPECT_EQ(t.view(), "456");
  ByteView e = v.WithExpire(WallClock::now() + 1h);
  EXPECT_EQ(e.data(), v.data());
  EXPECT_TRUE(e.has_expiry());
  EXPECT_FALSE(v.has_expiry());
  v = ByteView();  // the slices keep the buffer alive
  EXPECT_EQ(s.view(), "3456");
  EXPECT_EQ(e.view(), "0123456789");
}

TEST(ByteViewTest, TakesOwnershipOfLargeStringWithoutCopy) {
  std::string s(ByteView::kCopyLimit + 1, 'x');
  const char* p = s.data();
  int64_t news = News();
  ByteView v(std::move(s));
  EXPECT_EQ(News() - news, 1);  // only the header + string object block
  EXPECT_EQ(v.data(), p);
  EXPECT_EQ(v.size(), ByteView::kCopyLimit + 1);
  ByteView w = v.Slice(1);  // NOLINT(performance-unnecessary-copy-initialization): the point
  EXPECT_EQ(w.data(), p + 1);
}

TEST(ByteViewTest, SmallStringBecomesOneBlock) {
  std::string s(1024, 'x');
  int64_t news = News();
  int64_t live = LiveBlocks();
  ByteView v(std::move(s), WallClock::now() + 1h);
  EXPECT_EQ(News() - news, 1);
  EXPECT_EQ(g_last_request.load(), 8U + 1024U);
  EXPECT_EQ(LiveBlocks(), live);  // the string's own buffer was released
  EXPECT_EQ(v.view(), std::string(1024, 'x'));
  EXPECT_TRUE(v.has_expiry());
}

TEST(ByteViewTest, CopyIsOneBlockFreedByLastOwner) {
  std::string bytes(1024, 'y');
  int64_t live = LiveBlocks();
  {
    int64_t news = News();
    ByteView v = ByteView::Copy(bytes);
    EXPECT_EQ(News() - news, 1);
    EXPECT_EQ(g_last_request.load(), 8U + 1024U);
    ByteView copy = v;  // NOLINT(performance-unnecessary-copy-initialization): the point
    ByteView slice = v.Slice(10);
    EXPECT_EQ(News() - news, 1);  // copies and slices allocate nothing
    v = ByteView();
    copy = ByteView();
    EXPECT_EQ(LiveBlocks(), live + 1);  // the slice still holds it
    EXPECT_EQ(slice.size(), 1014U);
  }
  EXPECT_EQ(LiveBlocks(), live);
}

TEST(ByteViewTest, EmptyAllocatesNothing) {
  int64_t news = News();
  ByteView empty;
  ByteView copied = ByteView::Copy("", WallClock::now() + 1h);
  ByteView adopted{std::string()};
  EXPECT_EQ(News(), news);
  for (const ByteView* v : {&empty, &copied, &adopted}) {
    ASSERT_NE(v->data(), nullptr);
    EXPECT_STREQ(v->data(), "");
    EXPECT_EQ(v->size(), 0U);
    EXPECT_TRUE(v->empty());
    EXPECT_EQ(v->Slice(0).view(), "");
  }
  EXPECT_TRUE(copied.has_expiry());
  EXPECT_EQ(copied, empty);
}

TEST(ByteViewTest, MoveLeavesSourceEmpty) {
  Time when = WallClock::now() + 1h;
  ByteView a = ByteView::Copy("moved", when);
  const char* p = a.data();
  ByteView b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(b.expire(), when);
  EXPECT_STREQ(a.data(), "");  // NOLINT(bugprone-use-after-move): the point
  EXPECT_EQ(a.size(), 0U);
  EXPECT_FALSE(a.has_expiry());

  ByteView c = ByteView::Copy("old");
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_STREQ(b.data(), "");  // NOLINT(bugprone-use-after-move): the point
  EXPECT_EQ(b.size(), 0U);
}

TEST(ByteViewTest, SelfAssignmentKeepsValue) {
  int64_t live = LiveBlocks();
  {
    ByteView v = ByteView::Copy("self");
    ByteView& alias = v;
    v = alias;
    EXPECT_EQ(v, "self");
    v = std::move(alias);
    EXPECT_EQ(v, "self");
    ByteView other = v.Slice(1);
    other = v;  // same buffer on both sides
    EXPECT_EQ(other, "self");
  }
  EXPECT_EQ(LiveBlocks(), live);
}

// Copies of one ByteView made, moved and destroyed on 4 threads at once
// (run under ASan: no leak, no double free).
TEST(ByteViewTest, ConcurrentCopiesShareOneCount) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 100000;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  int64_t live = LiveBlocks();
  {
    const ByteView shared = ByteView::Copy(std::string(1024, 'z'));
    std::atomic<int> bad{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&shared, &bad] {
        ByteView keep;
        for (int i = 0; i < kRounds; ++i) {
          ByteView copy = shared;
          ByteView slice = copy.Slice(static_cast<size_t>(i) % 1024);
          ByteView moved = std::move(copy);
          if (moved.data() != shared.data() || slice.data()[0] != 'z') bad.fetch_add(1);
          if (i % 3 == 0) keep = slice;
          if (i % 5 == 0) keep = ByteView();
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_EQ(shared.view(), std::string(1024, 'z'));
  }
  threads.clear();
  EXPECT_EQ(LiveBlocks(), live);
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
