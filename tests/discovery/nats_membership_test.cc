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
  Membership m_{kSelf.Address(), milliseconds(1500)};
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
  m_.Left(kA, &events_);
  m_.Left(kB, &events_);  // unknown: nothing
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

TEST_F(MembershipTest, QuietMembersDoNotExpireUntilAResyncGoesUnanswered) {
  m_.Heard(kA, false, t0_, &events_);  // a Go node: REQUEST/RESPONSE only
  m_.Heard(kB, false, t0_, &events_);
  Take();
  EXPECT_FALSE(m_.NextExpiry().has_value());
  m_.Expire(t0_ + std::chrono::hours(1), &events_);
  EXPECT_TRUE(Take().empty());

  Clock::time_point t1 = t0_ + std::chrono::hours(1);
  m_.Resync(t1, milliseconds(1000));
  EXPECT_EQ(*m_.NextExpiry(), t1 + milliseconds(1000));
  m_.Heard(kB, false, t1 + milliseconds(300), &events_);  // B answers
  m_.Expire(t1 + milliseconds(1000), &events_);
  EXPECT_EQ(Take(), (std::vector<Event>{{Event::Kind::kRemoved, kA, {}}}));
  EXPECT_EQ(m_.Nodes(), (std::vector<Node>{kB}));
  EXPECT_FALSE(m_.NextExpiry().has_value());
}

TEST_F(MembershipTest, ResyncGivesHeartbeatersAFreshTtl) {
  m_.Heard(kA, true, t0_, &events_);
  Take();
  // Disconnected for 10 s: nobody heard, but nobody is timed out either.
  Clock::time_point back = t0_ + std::chrono::seconds(10);
  m_.Resync(back, milliseconds(1000));
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
  m_.Expire(t0_ + milliseconds(1520), &events_);
  EXPECT_EQ(Take().size(), 1u);
}

}  // namespace
}  // namespace groupcache::discovery::nats_internal
