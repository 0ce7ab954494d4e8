// The group read path, Set, Remove and stats, against fake peers.

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "fake_peers.h"
#include "groupcache/registry.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;
using testing::FakePeer;
using testing::FakePicker;

// A peer whose answers wait until the test releases them.
class HeldPeer : public FakePeer {
 public:
  using FakePeer::FakePeer;
  void GetAsync(const Context&, std::string_view, std::string_view key,
                std::function<void(Result<ByteView>)> done) override {
    ++gets;
    held.emplace_back(std::string(key), std::move(done));
  }
  std::vector<std::pair<std::string, std::function<void(Result<ByteView>)>>> held;
};

class GroupTest : public ::testing::Test {
 protected:
  GroupTest() : registry_(RegistryOptions{NewNullLogger()}) {}

  std::shared_ptr<Group> MakeGroup(Getter getter, int64_t bytes = 1 << 20) {
    auto g = registry_.NewGroup("g", bytes, std::move(getter));
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return *g;
  }

  // A getter that answers "v:<key>" and counts calls.
  Getter Counting() {
    return [this](const Context&, std::string_view key, Sink& dest) {
      ++loads_;
      return dest.SetString("v:" + std::string(key));
    };
  }

  std::shared_ptr<FakePicker> UsePicker() {
    auto picker = std::make_shared<FakePicker>();
    registry_.SetPeerPicker(picker);
    return picker;
  }

  // Makes the picker route `key` to a peer that refuses every connection.
  std::shared_ptr<FakePeer> RefusingOwnerOf(const std::string& key) {
    auto peer = std::make_shared<FakePeer>("http://peer:1");
    peer->OnGet([](const Context&, std::string_view) -> Result<ByteView> {
      return UnavailableError("connection refused");
    });
    UsePicker()->Route(key, peer);
    return peer;
  }

  // Makes a new picker (in *picker, if asked) route `key` to a peer that
  // holds its answers.
  std::shared_ptr<HeldPeer> HeldOwnerOf(const std::string& key,
                                        std::shared_ptr<FakePicker>* picker = nullptr) {
    auto peer = std::make_shared<HeldPeer>("http://peer:1");
    auto p = UsePicker();
    p->Route(key, peer);
    if (picker != nullptr) *picker = p;
    return peer;
  }

  // A LocalRunner that runs each job at once, on the caller's thread.
  static Group::LocalRunner RunInline() {
    return [](const std::function<void()>& job) {
      job();
      return true;
    };
  }

  Registry registry_;
  std::atomic<int> loads_{0};
};

TEST_F(GroupTest, ATenMebibyteValueInA64MebibyteGroupIsCached) {
  // 64 MiB is 16 lock shards of 4 MiB; the value is larger than any one.
  auto g = MakeGroup(
      [this](const Context&, std::string_view, Sink& dest) {
        ++loads_;
        return dest.SetString(std::string(10 << 20, 'x'));
      },
      64LL << 20);
  auto first = g->Get({}, "big");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), size_t{10} << 20);
  auto second = g->Get({}, "big");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(loads_.load(), 1);  // the second read was a hit
  EXPECT_EQ(g->Stats().cache_hits, 1);
  EXPECT_EQ(g->GetCacheStats(CacheType::kMain).bytes, (10 << 20) + 3);
}

TEST_F(GroupTest, LocalLoadThenHit) {
  auto g = MakeGroup(Counting());
  std::string out;
  StringSink sink(&out);
  ASSERT_TRUE(g->Get({}, "a", sink).ok());
  EXPECT_EQ(out, "v:a");
  auto again = g->Get({}, "a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "v:a");
  EXPECT_EQ(loads_.load(), 1);
  GroupStats s = g->Stats();
  EXPECT_EQ(s.gets, 2);
  EXPECT_EQ(s.cache_hits, 1);
  EXPECT_EQ(s.loads, 1);
  EXPECT_EQ(s.loads_deduped, 1);
  EXPECT_EQ(s.local_loads, 1);
  EXPECT_EQ(s.local_load_errs, 0);
  CacheStats main = g->GetCacheStats(CacheType::kMain);
  EXPECT_EQ(main.items, 1);
  EXPECT_EQ(main.bytes, 1 + 3);
  EXPECT_EQ(main.hits, 1);
}

// A sink of the user's own whose Store reads the group again: the group
// must fill it outside the cache's lock, or this deadlocks.
class ReentrantSink final : public Sink {
 public:
  ReentrantSink(Group* group, std::string* out) : group_(group), out_(out) {}

 private:
  Status Store(const ByteView& value) override {
    auto again = group_->Get({}, "a");
    if (!again.ok()) return again.status();
    *out_ = value.ToString() + "|" + again->ToString();
    return {};
  }
  Group* group_;
  std::string* out_;
};

// A hit delivers the same bytes, expiry and errors to every kind of sink.
TEST_F(GroupTest, HitsFillEveryKindOfSink) {
  const std::string big(64 << 10, 'b');
  const Time expire = WallClock::now() + 1h;
  auto g = MakeGroup([&](const Context&, std::string_view key, Sink& dest) {
    return key == "big" ? dest.SetBytes(big) : dest.SetString("v:" + std::string(key), expire);
  });
  ASSERT_TRUE(g->Get({}, "a").ok());
  ASSERT_TRUE(g->Get({}, "big").ok());

  std::string s;
  Time t{};
  StringSink string_sink(&s, &t);
  ASSERT_TRUE(g->Get({}, "a", string_sink).ok());
  EXPECT_EQ(s, "v:a");
  EXPECT_EQ(t, expire);
  ByteView view;
  ByteViewSink view_sink(&view);
  ASSERT_TRUE(g->Get({}, "a", view_sink).ok());
  EXPECT_EQ(view, "v:a");
  EXPECT_EQ(view.expire(), expire);
  std::vector<uint8_t> bytes;
  AllocatingBytesSink bytes_sink(&bytes);
  ASSERT_TRUE(g->Get({}, "a", bytes_sink).ok());
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "v:a");
  std::array<uint8_t, 2> small{};
  TruncatingBytesSink truncating(small);
  ASSERT_TRUE(g->Get({}, "a", truncating).ok());
  EXPECT_EQ(truncating.written(), 2U);
  EXPECT_EQ(truncating.value_size(), 3U);
  EXPECT_EQ(small[1], ':');

  std::string big_out;
  StringSink big_sink(&big_out);
  ASSERT_TRUE(g->Get({}, "big", big_sink).ok());
  EXPECT_EQ(big_out, big);

  std::string reentrant;
  ReentrantSink user_sink(g.get(), &reentrant);
  ASSERT_TRUE(g->Get({}, "a", user_sink).ok());
  EXPECT_EQ(reentrant, "v:a|v:a");

  // A second fill is refused and keeps the first value.
  EXPECT_EQ(g->Get({}, "big", string_sink).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(g->Get({}, "a", big_sink).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s, "v:a");
  EXPECT_EQ(big_out, big);
  EXPECT_EQ(g->Stats().cache_hits, 9);
}

TEST_F(GroupTest, GetterErrorsAreReturnedAndNotCached) {
  auto g = MakeGroup([this](const Context&, std::string_view, Sink&) {
    ++loads_;
    return NotFoundError("no such row");
  });
  auto r = g->Get({}, "k");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "no such row");
  EXPECT_FALSE(g->Get({}, "k").ok());
  EXPECT_EQ(loads_.load(), 2);
  EXPECT_EQ(g->Stats().local_load_errs, 2);
}

TEST_F(GroupTest, GetterThatThrowsFailsTheLoad) {
  auto g = MakeGroup(
      [](const Context&, std::string_view, Sink&) -> Status { throw std::runtime_error("boom"); });
  auto r = g->Get({}, "k");
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("boom"), std::string::npos);
}

TEST_F(GroupTest, GetterMustFillItsSinkExactlyOnce) {
  auto none = MakeGroup([](const Context&, std::string_view, Sink&) { return Status(); });
  EXPECT_EQ(none->Get({}, "k").status().code(), StatusCode::kInternal);

  auto twice = registry_.NewGroup("twice", 1000, [](const Context&, std::string_view, Sink& d) {
    (void)d.SetString("one");
    (void)d.SetString("two");  // refused; the load then fails
    return Status();
  });
  ASSERT_TRUE(twice.ok());
  auto r = (*twice)->Get({}, "k");
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("2 times"), std::string::npos);
}

TEST_F(GroupTest, ExpiredValuesAreReloaded) {
  std::atomic<int> n{0};
  auto g = MakeGroup([&](const Context&, std::string_view, Sink& d) {
    int i = ++n;
    // The first value is already expired; the second lasts.
    Time exp = i == 1 ? WallClock::now() - 1s : WallClock::now() + 1h;
    return d.SetString("v" + std::to_string(i), exp);
  });
  EXPECT_EQ(*g->Get({}, "k"), "v1");  // delivered to its callers, not cached
  EXPECT_EQ(*g->Get({}, "k"), "v2");
  EXPECT_EQ(*g->Get({}, "k"), "v2");
  EXPECT_EQ(n.load(), 2);
}

TEST_F(GroupTest, PeerSuccessFillsHotCacheWithoutLocalLoad) {
  auto picker = UsePicker();
  auto peer = std::make_shared<FakePeer>("http://peer:1");
  peer->OnGet([](const Context&, std::string_view key) -> Result<ByteView> {
    return ByteView::Copy("remote:" + std::string(key));
  });
  picker->Route("k", peer);
  auto g = MakeGroup(Counting());
  EXPECT_EQ(*g->Get({}, "k"), "remote:k");
  EXPECT_EQ(*g->Get({}, "k"), "remote:k");  // from the hot cache
  EXPECT_EQ(peer->gets.load(), 1);
  EXPECT_EQ(peer->last_group(), "g");
  EXPECT_EQ(loads_.load(), 0);
  EXPECT_EQ(g->Stats().peer_loads, 1);
  EXPECT_EQ(g->GetCacheStats(CacheType::kHot).items, 1);
  EXPECT_EQ(g->GetCacheStats(CacheType::kMain).items, 0);
}

TEST_F(GroupTest, PeerNotFoundAndLoadFailedAreReturnedWithoutLocalLoad) {
  auto picker = UsePicker();
  auto peer = std::make_shared<FakePeer>("http://peer:1");
  peer->OnGet([](const Context&, std::string_view key) -> Result<ByteView> {
    if (key == "missing") return NotFoundError("not here");
    return LoadFailedError("owner's getter failed");
  });
  picker->Route("missing", peer);
  picker->Route("broken", peer);
  auto g = MakeGroup(Counting());
  EXPECT_EQ(g->Get({}, "missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(g->Get({}, "broken").status().code(), StatusCode::kLoadFailed);
  EXPECT_EQ(loads_.load(), 0);
  EXPECT_EQ(g->Stats().peer_errors, 0);
}

TEST_F(GroupTest, OtherPeerFailuresFallBackToLocalLoad) {
  auto peer = RefusingOwnerOf("k");
  auto g = MakeGroup(Counting());
  EXPECT_EQ(*g->Get({}, "k"), "v:k");
  EXPECT_EQ(loads_.load(), 1);
  GroupStats s = g->Stats();
  EXPECT_EQ(s.peer_errors, 1);
  EXPECT_EQ(s.local_loads, 1);
  // A fallback load belongs in main: this process loaded it.
  EXPECT_EQ(g->GetCacheStats(CacheType::kMain).items, 1);
}

TEST_F(GroupTest, NoFallbackWhenContextIsDone) {
  auto picker = UsePicker();
  auto peer = std::make_shared<FakePeer>("http://peer:1");
  CancelSource cancel;
  peer->OnGet([&](const Context& ctx, std::string_view) -> Result<ByteView> {
    cancel.Cancel();  // the caller gives up while the peer is being asked
    return ctx.Err();
  });
  picker->Route("k", peer);
  auto g = MakeGroup(Counting());
  auto r = g->Get(cancel.context(), "k");
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(loads_.load(), 0);
}

TEST_F(GroupTest, ExpiredValueFromPeerCountsAsFailure) {
  auto picker = UsePicker();
  auto peer = std::make_shared<FakePeer>("http://peer:1");
  peer->OnGet([](const Context&, std::string_view) -> Result<ByteView> {
    return ByteView::Copy("stale", WallClock::now() - 1s);
  });
  picker->Route("k", peer);
  auto g = MakeGroup(Counting());
  EXPECT_EQ(*g->Get({}, "k"), "v:k");
  EXPECT_EQ(g->Stats().peer_errors, 1);
  EXPECT_EQ(g->Stats().peer_loads, 0);
  EXPECT_EQ(g->GetCacheStats(CacheType::kHot).items, 0);
}

TEST_F(GroupTest, PeerExpiryIsKept) {
  auto picker = UsePicker();
  auto peer = std::make_shared<FakePeer>("http://peer:1");
  Time when = WallClock::now() + 1h;
  peer->OnGet([&](const Context&, std::string_view) -> Result<ByteView> {
    return ByteView::Copy("fresh", when);
  });
  picker->Route("k", peer);
  auto g = MakeGroup(Counting());
  std::string out;
  Time exp;
  StringSink sink(&out, &exp);
  ASSERT_TRUE(g->Get({}, "k", sink).ok());
  EXPECT_EQ(exp, when);
}

TEST_F(GroupTest, SetLocalOwnerGoesToMain) {
  auto g = MakeGroup(Counting());
  ASSERT_TRUE(g->Set({}, "k", "set-value").ok());
  EXPECT_EQ(*g->Get({}, "k"), "set-value");
  EXPECT_EQ(loads_.load(), 0);
  EXPECT_EQ(g->GetCacheStats(CacheType::kMain).items, 1);
  EXPECT_EQ(g->Set({}, "", "v").code(), StatusCode::kInvalidArgument);
}

TEST_F(GroupTest, SetRemoteOwnerSendsPutAndOptionallyMirrorsHot) {
  auto picker = UsePicker();
  auto peer = std::make_shared<FakePeer>("http://peer:1");
  picker->Route("cold", peer);
  picker->Route("hot", peer);
  auto g = MakeGroup(Counting());
  Time when = WallClock::now() + 1h;
  ASSERT_TRUE(g->Set({}, "cold", "c", when, false).ok());
  ASSERT_TRUE(g->Set({}, "hot", "h", when, true).ok());
  auto stored = peer->stored();
  ASSERT_EQ(stored.count("cold"), 1U);
  EXPECT_EQ(stored["cold"], "c");
  EXPECT_EQ(stored["cold"].expire(), when);
  EXPECT_EQ(g->GetCacheStats(CacheType::kHot).items, 1);
  EXPECT_EQ(g->GetCacheStats(CacheType::kMain).items, 0);
  peer->FailWith(UnavailableError("down"));
  EXPECT_EQ(g->Set({}, "cold", "c2").code(), StatusCode::kUnavailable);
}

TEST_F(GroupTest, RemoveClearsOwnerLocalAndEveryOtherPeer) {
  auto picker = UsePicker();
  auto owner = std::make_shared<FakePeer>("http://owner:1");
  auto other1 = std::make_shared<FakePeer>("http://other:1");
  auto other2 = std::make_shared<FakePeer>("http://other:2");
  picker->Route("k", owner);
  picker->AddBystander(other1);
  picker->AddBystander(other2);
  owner->OnGet([](const Context&, std::string_view) -> Result<ByteView> {
    return ByteView::Copy("remote");
  });
  auto g = MakeGroup(Counting());
  ASSERT_TRUE(g->Get({}, "k").ok());  // now in our hot cache
  ASSERT_TRUE(g->Remove({}, "k").ok());
  EXPECT_EQ(owner->removes.load(), 1);
  EXPECT_EQ(other1->removes.load(), 1);
  EXPECT_EQ(other2->removes.load(), 1);
  EXPECT_EQ(g->GetCacheStats(CacheType::kHot).items, 0);
  ASSERT_TRUE(g->Get({}, "k").ok());
  EXPECT_EQ(owner->gets.load(), 2);  // not served from a stale hot copy
}

// PeerClient is an interface an application may implement: one whose
// Remove throws (on the fan-out's own threads) fails its peer, and the
// process goes on.
class ThrowingRemovePeer : public FakePeer {
 public:
  using FakePeer::FakePeer;
  Status Remove(const Context&, std::string_view, std::string_view) override {
    throw std::runtime_error("remove exploded");
  }
};

TEST_F(GroupTest, APeerWhoseRemoveThrowsFailsThatPeerOnly) {
  auto picker = UsePicker();
  auto owner = std::make_shared<FakePeer>("http://owner:1");
  auto thrower1 = std::make_shared<ThrowingRemovePeer>("http://other:1");
  auto thrower2 = std::make_shared<ThrowingRemovePeer>("http://other:2");
  auto fine = std::make_shared<FakePeer>("http://other:3");
  picker->Route("k", owner);
  picker->AddBystander(thrower1);
  picker->AddBystander(thrower2);
  picker->AddBystander(fine);
  auto g = MakeGroup(Counting());
  Status s = g->Remove({}, "k");
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_NE(s.message().find("remove exploded"), std::string::npos) << s.ToString();
  EXPECT_EQ(fine->removes.load(), 1);
  EXPECT_EQ(owner->removes.load(), 1);
}

TEST_F(GroupTest, RemoveReportsEveryFailedPeerAfterTryingAll) {
  auto picker = UsePicker();
  auto owner = std::make_shared<FakePeer>("http://owner:1");
  auto ok_peer = std::make_shared<FakePeer>("http://ok:1");
  auto bad_peer = std::make_shared<FakePeer>("http://bad:1");
  picker->Route("k", owner);
  picker->AddBystander(ok_peer);
  picker->AddBystander(bad_peer);
  owner->FailWith(UnavailableError("owner down"));
  bad_peer->FailWith(DeadlineExceededError("slow"));
  auto g = MakeGroup(Counting());
  ASSERT_TRUE(g->Set({}, "local", "v").ok());
  Status s = g->Remove({}, "k");
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);  // the first failure's code
  EXPECT_NE(s.message().find("http://owner:1"), std::string::npos);
  EXPECT_NE(s.message().find("http://bad:1"), std::string::npos);
  EXPECT_EQ(s.message().find("http://ok:1"), std::string::npos);
  EXPECT_EQ(ok_peer->removes.load(), 1);
  EXPECT_EQ(bad_peer->removes.load(), 1);
}

TEST_F(GroupTest, ServerSideEntryPoints) {
  auto g = MakeGroup(Counting());
  ByteView v;
  EXPECT_FALSE(g->LookupForPeer("k", &v));  // a miss counts nothing
  EXPECT_EQ(g->Stats().server_requests, 0);
  ASSERT_TRUE(g->GetForPeer({}, "k").ok());
  EXPECT_EQ(g->Stats().server_requests, 1);
  EXPECT_TRUE(g->LookupForPeer("k", &v));
  EXPECT_EQ(v, "v:k");
  EXPECT_EQ(g->Stats().server_requests, 2);
  EXPECT_EQ(loads_.load(), 1);
  g->SetFromPeer("p", ByteView::Copy("pushed"));
  EXPECT_EQ(*g->Get({}, "p"), "pushed");
  g->RemoveFromPeer("p");
  EXPECT_EQ(*g->Get({}, "p"), "v:p");
}

// The transport's non-blocking read path takes the same steps as Get: a
// hit answers at once, a remote owner's value is mirrored hot, its
// NotFound is final, a failed owner means a load here through the runner,
// and a runner that refuses fails the load instead of blocking.
TEST_F(GroupTest, GetForPeerAsyncFollowsTheReadPath) {
  auto picker = UsePicker();
  auto peer = std::make_shared<FakePeer>("http://peer:1");
  peer->OnGet([](const Context&, std::string_view key) -> Result<ByteView> {
    if (key == "remote") return ByteView::Copy("remote:" + std::string(key));
    if (key == "missing") return NotFoundError("not here");
    return UnavailableError("connection refused");
  });
  for (const char* k : {"remote", "missing", "down", "down2"}) picker->Route(k, peer);
  auto g = MakeGroup(Counting());

  int jobs = 0;
  bool accept = true;
  Group::LocalRunner run_local = [&](const std::function<void()>& job) {
    if (!accept) return false;
    ++jobs;
    job();  // inline: this test is single-threaded
    return true;
  };
  auto get = [&](const std::string& key) {
    std::optional<Result<ByteView>> got;
    g->GetForPeerAsync({}, key, run_local, [&](const Result<ByteView>& r) { got = r; });
    EXPECT_TRUE(got.has_value()) << key;  // every step here completes inline
    return got.value_or(InternalError("no callback"));
  };

  EXPECT_EQ(*get("local"), "v:local");
  EXPECT_EQ(jobs, 1);
  EXPECT_EQ(*get("local"), "v:local");  // a hit: no job
  EXPECT_EQ(jobs, 1);

  EXPECT_EQ(*get("remote"), "remote:remote");
  EXPECT_EQ(g->GetCacheStats(CacheType::kHot).items, 1);
  EXPECT_EQ(jobs, 1);

  EXPECT_EQ(get("missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(jobs, 1);

  EXPECT_EQ(*get("down"), "v:down");  // the owner failed: loaded here
  EXPECT_EQ(jobs, 2);
  EXPECT_EQ(g->Stats().peer_errors, 1);

  accept = false;
  EXPECT_EQ(get("down2").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(loads_.load(), 2);
  GroupStats s = g->Stats();
  EXPECT_EQ(s.server_requests, 6);
  EXPECT_EQ(s.gets, 6);
  EXPECT_EQ(s.cache_hits, 1);
  EXPECT_EQ(s.peer_loads, 1);
}

// A forwarded peer request (another node's fetch) is served here, never
// sent on to the owner this process's ring names; an unmarked one (a
// client reading through this node, or a Go peer) still is.
TEST_F(GroupTest, AForwardedPeerRequestIsServedHereWhoeverOwnsTheKey) {
  auto picker = UsePicker();
  auto peer = std::make_shared<FakePeer>("http://peer:1");
  peer->OnGet([](const Context&, std::string_view key) -> Result<ByteView> {
    return ByteView::Copy("remote:" + std::string(key));
  });
  for (const char* k : {"sync", "async", "unmarked"}) picker->Route(k, peer);
  auto g = MakeGroup(Counting());
  Group::LocalRunner run_inline = RunInline();

  auto sync = g->GetForPeer({}, "sync", Group::Forwarded::kYes);
  ASSERT_TRUE(sync.ok()) << sync.status().ToString();
  EXPECT_EQ(*sync, "v:sync");
  std::optional<Result<ByteView>> async;
  g->GetForPeerAsync(
      {}, "async", run_inline, [&](const Result<ByteView>& r) { async = r; },
      Group::Forwarded::kYes);
  ASSERT_TRUE(async.has_value() && async->ok());
  EXPECT_EQ(**async, "v:async");
  EXPECT_EQ(peer->gets.load(), 0);
  EXPECT_EQ(loads_.load(), 2);

  auto unmarked = g->GetForPeer({}, "unmarked");
  ASSERT_TRUE(unmarked.ok());
  EXPECT_EQ(*unmarked, "remote:unmarked");
  EXPECT_EQ(peer->gets.load(), 1);
  GroupStats st = g->Stats();
  EXPECT_EQ(st.server_requests, 3);
  EXPECT_EQ(st.local_loads, 2);
  EXPECT_EQ(st.peer_loads, 1);
  // The two forwarded requests were for keys this ring gives the peer.
  EXPECT_EQ(st.ring_disagreements, 2);
  // A forwarded request for a key owned here is no disagreement.
  ASSERT_TRUE(g->GetForPeer({}, "mine", Group::Forwarded::kYes).ok());
  EXPECT_EQ(g->Stats().ring_disagreements, 2);
}

// The cycle of mailgun/groupcache#72 in one process: this node is fetching
// a key from the owner its ring names, and that owner, whose ring names this
// node, asks for the key back. The forwarded request must not join the
// fetch (it would wait for its own answer): it loads the key here at once.
TEST_F(GroupTest, AForwardedRequestNeverWaitsOnAFetchUnderWay) {
  auto peer = HeldOwnerOf("k");
  auto g = MakeGroup(Counting());
  Group::LocalRunner run_inline = RunInline();
  std::optional<Result<ByteView>> client;
  g->GetAsync({}, "k", run_inline, [&](const Result<ByteView>& r, Group::Source) { client = r; });
  ASSERT_EQ(peer->held.size(), 1u);  // the fetch is under way
  EXPECT_FALSE(client.has_value());

  std::optional<Result<ByteView>> forwarded;
  g->GetForPeerAsync(
      {}, "k", run_inline, [&](const Result<ByteView>& r) { forwarded = r; },
      Group::Forwarded::kYes);
  ASSERT_TRUE(forwarded.has_value()) << "the forwarded request waited on the fetch";
  ASSERT_TRUE(forwarded->ok());
  EXPECT_EQ(**forwarded, "v:k");
  EXPECT_EQ(loads_.load(), 1);

  // Taken out of the peer first: the callback holds the peer (a cycle).
  auto answer = std::move(peer->held[0].second);
  peer->held.clear();
  answer(ByteView::Copy("remote:k"));
  ASSERT_TRUE(client.has_value() && client->ok());
  EXPECT_EQ(**client, "remote:k");
  EXPECT_EQ(peer->gets.load(), 1);
}

// Writes win over loads under way: a load that read the old value before
// a Remove or a Set of its key finished answers those who asked before the
// write, but does not cache it, and a Get after the write does not join it.
TEST_F(GroupTest, AWriteDuringALoadIsNotUndoneByTheLoad) {
  for (const bool remove : {true, false}) {
    SCOPED_TRACE(remove ? "Remove" : "Set");
    std::promise<void> entered;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> calls{0};
    auto g = *registry_.NewGroup(remove ? "removed" : "set", 1 << 20,
                                 [&](const Context&, std::string_view, Sink& d) {
                                   if (calls++ > 0) return d.SetString("new");
                                   entered.set_value();
                                   released.wait();  // the source said "old" before the write
                                   return d.SetString("old");
                                 });
    std::optional<Result<ByteView>> first;
    std::thread reader([&] { first = g->Get({}, "k"); });
    entered.get_future().wait();
    ASSERT_TRUE((remove ? g->Remove({}, "k") : g->Set({}, "k", "set")).ok());
    // Bounded: before the fix it joined the held load.
    Result<ByteView> after = g->Get(Context::Background().WithTimeout(2s), "k");
    release.set_value();
    reader.join();
    ASSERT_TRUE(first && first->ok());
    EXPECT_EQ(**first, "old");  // it asked before the write
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_EQ(*after, remove ? "new" : "set");
    EXPECT_EQ(*g->Get({}, "k"), remove ? "new" : "set");  // and "old" was not cached
    EXPECT_EQ(calls.load(), remove ? 2 : 1);
  }
}

// The same for a fetch from the owner: a DELETE from a peer while the
// fetch is out keeps its answer out of the hot cache, and a Get after it
// fetches again.
TEST_F(GroupTest, APeersDeleteDuringAFetchKeepsTheOldAnswerOutOfTheHotCache) {
  auto peer = HeldOwnerOf("k");
  auto g = MakeGroup(Counting());
  auto get = [&](std::optional<Result<ByteView>>* out) {
    g->GetAsync({}, "k", RunInline(),
                [out](const Result<ByteView>& r, Group::Source) { *out = r; });
  };
  std::optional<Result<ByteView>> first;
  get(&first);
  ASSERT_EQ(peer->held.size(), 1u);
  g->RemoveFromPeer("k");
  std::optional<Result<ByteView>> second;
  get(&second);
  ASSERT_EQ(peer->held.size(), 2u) << "the Get after the DELETE joined the fetch before it";
  // Taken out of the peer first: the callbacks hold the peer (a cycle).
  auto held = std::move(peer->held);
  peer->held.clear();
  held[1].second(ByteView::Copy("new"));
  held[0].second(ByteView::Copy("old"));
  ASSERT_TRUE(first && first->ok() && second && second->ok());
  EXPECT_EQ(**first, "old");
  EXPECT_EQ(**second, "new");
  std::optional<Result<ByteView>> third;
  get(&third);
  ASSERT_TRUE(third && third->ok());
  EXPECT_EQ(**third, "new");  // from the hot cache
  EXPECT_EQ(peer->gets.load(), 2);
}

// A Set made here for a key another peer owns (no hot mirror asked for)
// is a write here too: a fetch of the key already out does not mirror the
// owner's older answer.
TEST_F(GroupTest, ASetHereDuringAFetchKeepsTheOldAnswerOutOfTheHotCache) {
  auto peer = HeldOwnerOf("k");
  auto g = MakeGroup(Counting());
  std::optional<Result<ByteView>> first;
  g->GetAsync({}, "k", RunInline(),
              [&first](const Result<ByteView>& r, Group::Source) { first = r; });
  ASSERT_EQ(peer->held.size(), 1u);
  ASSERT_TRUE(g->Set({}, "k", "set").ok());  // the owner (the fake) stores it
  auto held = std::move(peer->held);
  peer->held.clear();
  held[0].second(ByteView::Copy("old"));  // the owner's answer from before the PUT
  ASSERT_TRUE(first && first->ok());
  EXPECT_EQ(**first, "old");
  EXPECT_EQ(g->GetCacheStats(CacheType::kHot).items, 0) << "the old answer was mirrored";
}

// Loads here and fetches have a flight each, but the getter still runs
// once: a fetch whose owner failed falls back into the load of the key
// already running here (a forwarded request's), not beside it.
TEST_F(GroupTest, AFailedFetchFallsBackIntoTheLoadAlreadyRunningHere) {
  auto peer = RefusingOwnerOf("k");
  auto g = MakeGroup(Counting());
  std::vector<std::function<void()>> jobs;
  Group::LocalRunner queue = [&](std::function<void()> job) {
    jobs.push_back(std::move(job));
    return true;
  };
  std::optional<Result<ByteView>> forwarded;
  g->GetForPeerAsync(
      {}, "k", queue, [&](const Result<ByteView>& r) { forwarded = r; }, Group::Forwarded::kYes);
  std::optional<Result<ByteView>> client;
  g->GetAsync({}, "k", queue, [&](const Result<ByteView>& r, Group::Source) { client = r; });
  EXPECT_EQ(peer->gets.load(), 1);
  ASSERT_EQ(jobs.size(), 1u) << "the fallback started a second load";
  EXPECT_FALSE(forwarded.has_value());
  EXPECT_FALSE(client.has_value());
  jobs[0]();
  ASSERT_TRUE(forwarded.has_value() && forwarded->ok());
  ASSERT_TRUE(client.has_value() && client->ok());
  EXPECT_EQ(**forwarded, "v:k");
  EXPECT_EQ(**client, "v:k");
  EXPECT_EQ(loads_.load(), 1);
  EXPECT_EQ(g->Stats().peer_errors, 1);
}

// The same while the fetch is failing slowly: a load of the key here (a
// forwarded request's) starts and finishes before the owner's failure
// comes, and the fall-back finds its value instead of loading again.
TEST_F(GroupTest, AFailedFetchFindsTheLoadThatFinishedWhileItFailed) {
  std::shared_ptr<FakePicker> picker;
  auto peer = HeldOwnerOf("k", &picker);
  auto g = MakeGroup(Counting());
  std::optional<Result<ByteView>> client;
  g->GetAsync({}, "k", RunInline(), [&](const Result<ByteView>& r, Group::Source) { client = r; });
  ASSERT_EQ(peer->held.size(), 1u);
  std::optional<Result<ByteView>> forwarded;
  g->GetForPeerAsync(
      {}, "k", RunInline(), [&](const Result<ByteView>& r) { forwarded = r; },
      Group::Forwarded::kYes);
  ASSERT_TRUE(forwarded.has_value() && forwarded->ok());
  EXPECT_EQ(loads_.load(), 1);

  auto fail = std::move(peer->held[0].second);  // see above: a cycle otherwise
  peer->held.clear();
  fail(UnavailableError("connection reset"));
  ASSERT_TRUE(client.has_value() && client->ok()) << client->status().ToString();
  EXPECT_EQ(**client, "v:k");
  EXPECT_EQ(loads_.load(), 1) << "the fall-back loaded the key again";
  EXPECT_EQ(g->Stats().peer_errors, 1);

  // Blocking: the forwarded load runs and finishes inside the fetch.
  auto slow = std::make_shared<FakePeer>("http://peer:2");
  picker->Route("b", slow);
  slow->OnGet([&](const Context&, std::string_view key) -> Result<ByteView> {
    EXPECT_TRUE(g->GetForPeer({}, key, Group::Forwarded::kYes).ok());
    return UnavailableError("connection reset");
  });
  auto b = g->Get({}, "b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*b, "v:b");
  EXPECT_EQ(loads_.load(), 2) << "the blocking fall-back loaded the key again";
  EXPECT_EQ(g->Stats().peer_errors, 2);
}

// A getter declared never to block runs where the asynchronous load
// starts (a transport's I/O thread), not through the runner; a failed
// owner's fallback load too. Other getters still go through the runner.
TEST_F(GroupTest, AGetterThatNeverBlocksRunsWithoutTheRunner) {
  RefusingOwnerOf("down");
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id ran_on;
  auto g = *registry_.NewGroup({.name = "inline",
                                .getter =
                                    [&](const Context&, std::string_view key, Sink& dest) {
                                      ran_on = std::this_thread::get_id();
                                      ++loads_;
                                      return dest.SetString("v:" + std::string(key));
                                    },
                                .getter_never_blocks = true});
  int jobs = 0;
  Group::LocalRunner run_local = [&](const std::function<void()>&) {
    ++jobs;
    return false;  // refuses: a load that came here would fail
  };
  for (const std::string key : {"local", "down"}) {
    std::optional<Result<ByteView>> got;
    g->GetForPeerAsync({}, key, run_local, [&](const Result<ByteView>& r) { got = r; });
    ASSERT_TRUE(got.has_value()) << key;
    ASSERT_TRUE(got->ok()) << key << ": " << got->status().ToString();
    EXPECT_EQ(**got, "v:" + key);
    EXPECT_EQ(ran_on, caller);
  }
  std::optional<Result<ByteView>> via_get;
  g->GetAsync({}, "client", run_local,
              [&](const Result<ByteView>& r, Group::Source) { via_get = r; });
  ASSERT_TRUE(via_get.has_value() && via_get->ok());
  EXPECT_EQ(jobs, 0);
  EXPECT_EQ(loads_.load(), 3);

  // The default: the runner is asked, and its refusal is the answer.
  auto blocking = MakeGroup(Counting());
  std::optional<Result<ByteView>> refused;
  blocking->GetForPeerAsync({}, "local", run_local,
                            [&](const Result<ByteView>& r) { refused = r; });
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(jobs, 1);
}

TEST(RegistryTest, RejectsBadGroupsAndFindsByName) {
  Registry registry(RegistryOptions{NewNullLogger()});
  Getter getter = [](const Context&, std::string_view, Sink& d) { return d.SetString("x"); };
  EXPECT_EQ(registry.NewGroup("", 10, getter).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.NewGroup("a/b", 10, getter).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.NewGroup("a", -1, getter).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.NewGroup("a", 10, nullptr).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry.NewGroup("a", 10, getter).ok());
  EXPECT_EQ(registry.NewGroup("a", 10, getter).status().code(), StatusCode::kAlreadyExists);
  ASSERT_NE(registry.GetGroup("a"), nullptr);
  EXPECT_EQ(registry.GetGroup("a")->name(), "a");
  EXPECT_EQ(registry.GetGroup("b"), nullptr);
  EXPECT_EQ(registry.GroupNames(), std::vector<std::string>{"a"});
  EXPECT_TRUE(registry.RemoveGroup("a"));
  EXPECT_FALSE(registry.RemoveGroup("a"));
}

TEST(RegistryTest, TwoRegistriesAreIndependent) {
  Registry r1(RegistryOptions{NewNullLogger()});
  Registry r2(RegistryOptions{NewNullLogger()});
  Getter getter = [](const Context&, std::string_view, Sink& d) { return d.SetString("x"); };
  ASSERT_TRUE(r1.NewGroup("same", 10, getter).ok());
  ASSERT_TRUE(r2.NewGroup("same", 10, getter).ok());
}

TEST(RegistryTest, GroupOutlivesRegistry) {
  std::shared_ptr<Group> g;
  {
    Registry r(RegistryOptions{NewNullLogger()});
    g = *r.NewGroup("g", 100,
                    [](const Context&, std::string_view, Sink& d) { return d.SetString("x"); });
  }
  EXPECT_EQ(*g->Get({}, "k"), "x");
}

}  // namespace
}  // namespace groupcache
