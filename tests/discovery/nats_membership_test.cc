// The NATS provider's liveness rules with a hand-driven clock.

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "membership.h"

namespace groupcache::discovery::nats_internal {
namespace {

using std::chrono::milliseconds;

const Node kSelf{"self", "10.0.0.1", 8080};
const Node kA{"a", "10.0.0.2", 8080};
const Node kB{"b", "10.0.0.3", 8080};

class MembershipTest : public ::testing::Test {
 protected:
  Membership m_{kSelf.Address(), milliseconds(1500), milliseconds(1000)};
  Clock::time_point t0_ = Clock::now();
  std::vector<Event> events_;

  std::vector<Event> Take() {
    std::vector<Event> out;
    out.swap(events_);
    return out;
  }
};

TEST_F(MembershipTest, RegisterAddsOnceAndIgnoresSelf) {
  m_.Heard(kSelf, true, t0_, &events_);
  EXPECT_TRUE(Take().empty());
  m_.Heard(kA, true, t0_, &events_);
  m_.Heard(kA, true, t0_ + milliseconds(500), &events_);  // heartbeat
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kAdded, kA, {}}}));
  EXPECT_EQ(m_.Nodes(), (std::vector<Node>{kA}));
}

TEST_F(MembershipTest, RenamedAddressIsModified) {
  m_.Heard(kA, true, t0_, &events_);
  Take();
  Node renamed = kA;
  renamed.name = "a2";
  m_.Heard(renamed, false, t0_, &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kModified, renamed, kA}}));
}

TEST_F(MembershipTest, DeregisterRemoves) {
  m_.Heard(kA, false, t0_, &events_);
  Take();
  m_.Left(kA, t0_, &events_);
  m_.Left(kB, t0_, &events_);  // unknown: nothing
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kRemoved, kA, {}}}));
  EXPECT_EQ(m_.size(), 0u);
}

TEST_F(MembershipTest, SilentHeartbeaterExpiresAfterTtl) {
  m_.Heard(kA, true, t0_, &events_);
  m_.Heard(kB, true, t0_, &events_);
  Take();
  m_.Heard(kB, true, t0_ + milliseconds(1000), &events_);
  EXPECT_EQ(*m_.NextExpiry(), t0_ + milliseconds(1500));
  m_.Expire(t0_ + milliseconds(1499), &events_);
  EXPECT_TRUE(Take().empty());
  m_.Expire(t0_ + milliseconds(1500), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kRemoved, kA, {}}}));
  EXPECT_EQ(*m_.NextExpiry(), t0_ + milliseconds(2500));
}

TEST_F(MembershipTest, QuietMembersSilentForTheTtlAreAskedAndRemovedIfTheyDoNotAnswer) {
  m_.Heard(kA, false, t0_, &events_);  // a Go node: REQUEST/RESPONSE only
  m_.Heard(kB, false, t0_ + milliseconds(400), &events_);
  Take();
  EXPECT_EQ(*m_.NextExpiry(), t0_ + milliseconds(1500));
  EXPECT_FALSE(m_.Expire(t0_ + milliseconds(1499), &events_));
  // A has been silent for the ttl: ask. B is asked by the same REQUEST.
  EXPECT_TRUE(m_.Expire(t0_ + milliseconds(1500), &events_));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(*m_.NextExpiry(), t0_ + milliseconds(2500));
  EXPECT_FALSE(m_.Expire(t0_ + milliseconds(2000), &events_));  // asked once only
  m_.Heard(kB, false, t0_ + milliseconds(1800), &events_);      // B answers
  EXPECT_FALSE(m_.Expire(t0_ + milliseconds(2500), &events_));
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kRemoved, kA, {}}}));
  EXPECT_EQ(m_.Nodes(), (std::vector<Node>{kB}));
  // B is asked again after another ttl of silence.
  EXPECT_EQ(*m_.NextExpiry(), t0_ + milliseconds(3300));
  EXPECT_TRUE(m_.Expire(t0_ + milliseconds(3300), &events_));
}

TEST_F(MembershipTest, AQuietMemberThatStartsToHeartbeatIsNoLongerAsked) {
  m_.Heard(kA, false, t0_, &events_);  // our node, heard answering first
  Take();
  EXPECT_TRUE(m_.Expire(t0_ + milliseconds(1500), &events_));
  m_.Heard(kA, true, t0_ + milliseconds(1600), &events_);  // its REGISTER
  EXPECT_FALSE(m_.Expire(t0_ + milliseconds(3000), &events_));
  EXPECT_TRUE(Take().empty());
  EXPECT_EQ(*m_.NextExpiry(), t0_ + milliseconds(3100));  // now by its ttl
}

TEST_F(MembershipTest, ResyncAsksQuietMembersToAnswer) {
  m_.Heard(kA, false, t0_, &events_);
  m_.Heard(kB, false, t0_, &events_);
  Take();
  EXPECT_TRUE(m_.Expire(t0_ + milliseconds(1500), &events_));  // asked before the outage
  Clock::time_point t1 = t0_ + std::chrono::hours(1);
  m_.Resync(t1);  // back after an hour: both must answer the new REQUEST
  EXPECT_EQ(*m_.NextExpiry(), t1 + milliseconds(1000));
  m_.Heard(kB, false, t1 + milliseconds(300), &events_);  // B answers
  EXPECT_FALSE(m_.Expire(t1 + milliseconds(1000), &events_));
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kRemoved, kA, {}}}));
  EXPECT_EQ(m_.Nodes(), (std::vector<Node>{kB}));
}

TEST_F(MembershipTest, AnAnswerOlderThanADeregisterDoesNotBringTheNodeBack) {
  m_.Heard(kA, true, t0_, &events_);
  Take();
  // DiscoverNodes asks at t0 + 100; A answers, then leaves at t0 + 300; the
  // answers are handed over at t0 + 1100.
  m_.Left(kA, t0_ + milliseconds(300), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kRemoved, kA, {}}}));
  m_.Answered(kA, t0_ + milliseconds(100), t0_ + milliseconds(1100), &events_);
  m_.Answered(kB, t0_ + milliseconds(100), t0_ + milliseconds(1100), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kAdded, kB, {}}}));
  // An answer to a REQUEST sent after the DEREGISTER is A back again.
  m_.Answered(kA, t0_ + milliseconds(400), t0_ + milliseconds(1400), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kAdded, kA, {}}}));
}

TEST_F(MembershipTest, ANodeThatLeftIsAddedByWhatItSaysNext) {
  m_.Left(kA, t0_ + milliseconds(300), &events_);         // not even a member
  m_.Heard(kA, true, t0_ + milliseconds(500), &events_);  // restarted: REGISTER
  m_.Left(kA, t0_ + milliseconds(600), &events_);
  m_.Heard(kA, false, t0_ + milliseconds(700), &events_);    // a Go node restarted: REQUEST
  m_.Answered(kA, t0_, t0_ + milliseconds(1000), &events_);  // old, but it is back
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kAdded, kA, {}},
                                        {Event::Kind::kRemoved, kA, {}},
                                        {Event::Kind::kAdded, kA, {}}}));
}

TEST_F(MembershipTest, ARESPONSEHandledAfterADeregisterDoesNotBringTheNodeBack) {
  m_.Heard(kA, true, t0_, &events_);
  m_.Left(kA, t0_ + milliseconds(100), &events_);
  m_.Responded(kA, t0_ + milliseconds(101), &events_);  // sent before it left
  m_.Responded(kB, t0_ + milliseconds(101), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kAdded, kA, {}},
                                        {Event::Kind::kRemoved, kA, {}},
                                        {Event::Kind::kAdded, kB, {}}}));
  m_.Heard(kA, false, t0_ + milliseconds(500), &events_);  // back: its REQUEST
  m_.Responded(kA, t0_ + milliseconds(600), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kAdded, kA, {}}}));
}

TEST_F(MembershipTest, ADeregisterIsForgottenOnceNoAnswerCanPredateIt) {
  m_.Left(kA, t0_, &events_);
  EXPECT_FALSE(m_.Expire(t0_ + milliseconds(10000), &events_));  // 10 x confirm: kept
  m_.Answered(kA, t0_ - milliseconds(1), t0_ + milliseconds(10000), &events_);
  m_.Responded(kA, t0_ + milliseconds(10000), &events_);
  EXPECT_TRUE(Take().empty());
  m_.Left(kB, t0_, &events_);
  EXPECT_FALSE(m_.Expire(t0_ + milliseconds(10001), &events_));  // forgotten
  m_.Answered(kB, t0_ - milliseconds(1), t0_ + milliseconds(10001), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kAdded, kB, {}}}));
}

TEST_F(MembershipTest, ResyncGivesHeartbeatersAFreshTtl) {
  m_.Heard(kA, true, t0_, &events_);
  Take();
  // Disconnected for 10 s: nobody heard, but nobody is timed out either.
  Clock::time_point back = t0_ + std::chrono::seconds(10);
  m_.Resync(back);
  m_.Expire(back + milliseconds(1499), &events_);
  EXPECT_TRUE(Take().empty());
  m_.Expire(back + milliseconds(1500), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kRemoved, kA, {}}}));
}

TEST_F(MembershipTest, RegisterAfterRequestMakesAMemberAHeartbeater) {
  m_.Heard(kA, false, t0_, &events_);
  m_.Heard(kA, true, t0_ + milliseconds(10), &events_);
  m_.Heard(kA, false, t0_ + milliseconds(20), &events_);  // stays a heartbeater
  EXPECT_EQ(Take().size(), 1u);
  EXPECT_FALSE(m_.Expire(t0_ + milliseconds(1520), &events_));
  EXPECT_EQ(Take().size(), 1u);
}

}  // namespace
}  // namespace groupcache::discovery::nats_internal
