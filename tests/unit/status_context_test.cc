#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include "groupcache/context.h"
#include "groupcache/status.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

TEST(StatusTest, OkAndErrors) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.ToString(), "OK");
  Status nf = NotFoundError("no key");
  EXPECT_FALSE(nf.ok());
  EXPECT_EQ(nf.code(), StatusCode::kNotFound);
  EXPECT_EQ(nf.ToString(), "NotFound: no key");
  EXPECT_EQ(StatusCodeName(StatusCode::kLoadFailed), "LoadFailed");
}

TEST(StatusTest, CopiesAreIndependentAndMovesLeaveOk) {
  Status ok(StatusCode::kOk, "ignored");
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.message(), "");
  Status a = InternalError("boom");
  Status b = a;
  EXPECT_EQ(a, b);
  b = CancelledError("stop");
  EXPECT_EQ(a.code(), StatusCode::kInternal);
  EXPECT_EQ(a.message(), "boom");
  EXPECT_NE(a, b);
  Status& self = a;
  a = self;
  EXPECT_EQ(a.ToString(), "Internal: boom");
  Status c = std::move(a);
  EXPECT_EQ(c.ToString(), "Internal: boom");
  c = Status();
  EXPECT_TRUE(c.ok());
  EXPECT_EQ(c, Status::Ok());
  EXPECT_LE(sizeof(Status), sizeof(void*));  // the hit path moves it around
}

TEST(StatusTest, ResultHoldsValueOrError) {
  Result<int> r = 7;
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 7);
  Result<int> e = UnavailableError("down");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnavailable);
  Result<int> bad = Status();  // an OK status carries no value
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
}

TEST(ContextTest, BackgroundIsNeverDone) {
  Context ctx;
  EXPECT_FALSE(ctx.Done());
  EXPECT_TRUE(ctx.Err().ok());
  EXPECT_FALSE(ctx.deadline().has_value());
}

TEST(ContextTest, DeadlinePasses) {
  Context ctx = Context::Background().WithDeadline(Clock::now() - 1ms);
  EXPECT_TRUE(ctx.Done());
  EXPECT_EQ(ctx.Err().code(), StatusCode::kDeadlineExceeded);
  Context later = Context::Background().WithTimeout(1h);
  EXPECT_FALSE(later.Done());
}

// A timeout too long for the clock (now + it would wrap into the past)
// is a very late deadline, not one already passed.
TEST(ContextTest, AHugeTimeoutIsAFarDeadline) {
  for (Clock::duration huge :
       {Clock::duration::max(), Clock::duration(std::chrono::hours(2562047))}) {
    Context ctx = Context::Background().WithTimeout(huge);
    EXPECT_FALSE(ctx.Done());
    ASSERT_TRUE(ctx.deadline().has_value());
    EXPECT_GT(*ctx.deadline(), Clock::now() + std::chrono::hours(24 * 365 * 99));
  }
  EXPECT_TRUE(Context::Background().WithTimeout(Clock::duration::min()).Done());
}

TEST(ContextTest, ChildKeepsEarlierDeadline) {
  auto soon = Clock::now() + 1s;
  Context parent = Context::Background().WithDeadline(soon);
  Context child = parent.WithTimeout(1h);
  EXPECT_EQ(*child.deadline(), soon);
}

TEST(ContextTest, CancelRunsCallbacksAndPropagatesToChildren) {
  CancelSource root;
  CancelSource child(root.context().WithTimeout(1h));
  Context ctx = child.context();
  std::atomic<int> calls{0};
  auto reg = ctx.OnCancel([&] { ++calls; });
  EXPECT_FALSE(ctx.Done());
  root.Cancel();
  EXPECT_TRUE(ctx.Done());
  EXPECT_EQ(ctx.Err().code(), StatusCode::kCancelled);
  EXPECT_EQ(calls.load(), 1);
  root.Cancel();  // idempotent
  EXPECT_EQ(calls.load(), 1);
}

TEST(ContextTest, RegistrationAfterCancelRunsInline) {
  CancelSource src;
  src.Cancel();
  bool ran = false;
  auto reg = src.context().OnCancel([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST(ContextTest, UnregisteredCallbackDoesNotRun) {
  CancelSource src;
  bool ran = false;
  {
    auto reg = src.context().OnCancel([&] { ran = true; });
  }
  src.Cancel();
  EXPECT_FALSE(ran);
}

TEST(ContextTest, ChildStateMayDieWhileParentCancels) {
  CancelSource root;
  auto child = std::make_unique<CancelSource>(root.context());
  Context kept = child->context();
  child.reset();  // only `kept` holds the child state now
  root.Cancel();
  EXPECT_TRUE(kept.Done());
}

TEST(ContextTest, CancelFromAnotherThread) {
  CancelSource src;
  Context ctx = src.context();
  std::thread t([&] { src.Cancel(); });
  t.join();
  EXPECT_TRUE(ctx.Done());
}

}  // namespace
}  // namespace groupcache
