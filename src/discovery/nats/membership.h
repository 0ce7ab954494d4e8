// Membership: what one NATS provider believes the other nodes are, and the
// rules that turn what it hears into events. Pure logic with the clock
// passed in, so the liveness rules are tested without a server or sleeps.
//
// Members are keyed by address (host:port); a known address with a new name
// is a kModified event. Two kinds of member:
//  - heartbeating: we have had a REGISTER from it. C++ nodes re-send
//    REGISTER every heartbeat, so one not heard from for `ttl` is gone
//    (killed without a DEREGISTER) and is removed.
//  - quiet: known only from a REQUEST or RESPONSE (Go nodes never send
//    REGISTER; a C++ node may be heard answering before its first one).
//    Silence proves nothing about them, so one not heard from for `ttl` is
//    asked: Expire tells the provider to send a REQUEST, and a quiet member
//    that has not answered `confirm` later is gone. They also leave by
//    DEREGISTER.
// A DEREGISTER is remembered for 10 x `confirm`, so that answers sent
// before it (DiscoverNodes', collected over `confirm` and handed over at its
// end, and RESPONSEs handled after it) do not bring back a node that left.
// Not synchronised: the provider calls it under its own lock.

#ifndef GROUPCACHE_SRC_DISCOVERY_NATS_MEMBERSHIP_H_
#define GROUPCACHE_SRC_DISCOVERY_NATS_MEMBERSHIP_H_

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "groupcache/discovery/provider.h"

namespace groupcache::discovery::nats_internal {

using Clock = std::chrono::steady_clock;

class Membership {
 public:
  // `self_address` is never a member. `confirm` is how long a quiet member
  // has to answer a REQUEST (the discovery timeout). REQUIRES: ttl > 0,
  // confirm > 0.
  Membership(std::string self_address, Duration ttl, Duration confirm);

  // `node` spoke at `now`: a REGISTER (heartbeat = true), or a REQUEST or a
  // RESPONSE (heartbeat = false). Appends kAdded for a new member, kModified
  // for a known address with another name.
  void Heard(const Node& node, bool heartbeat, Clock::time_point now, std::vector<Event>* events);

  // `node` sent a RESPONSE (to a REQUEST of ours on the provider's inbox):
  // as Heard(node, false, now), unless the node has sent a DEREGISTER that
  // is still remembered. cnats delivers the inbox and the subject on
  // different threads, so an answer sent before a DEREGISTER may be handled
  // after it; a node that comes back speaks first with REGISTER or REQUEST,
  // which forget the DEREGISTER.
  void Responded(const Node& node, Clock::time_point now, std::vector<Event>* events);

  // `node` answered a REQUEST that DiscoverNodes sent at `asked`: as
  // Heard(node, false, now), unless the node has sent a DEREGISTER since
  // `asked` (its answer is older than its leaving).
  void Answered(const Node& node, Clock::time_point asked, Clock::time_point now,
                std::vector<Event>* events);

  // Whether `address` has sent a DEREGISTER since `t` (and not spoken since).
  bool LeftSince(const std::string& address, Clock::time_point t) const;

  // `node` sent a DEREGISTER at `now`. Appends kRemoved if it was a member.
  void Left(const Node& node, Clock::time_point now, std::vector<Event>* events);

  // Removes heartbeating members not heard from since now - ttl and quiet
  // members that did not answer in time; appends kRemoved for each. Returns
  // true when a quiet member has been silent for ttl: the caller must send
  // a REQUEST now, which every quiet member must answer by now + confirm.
  bool Expire(Clock::time_point now, std::vector<Event>* events);

  // The earliest time at which Expire could remove or ask someone, if any.
  std::optional<Clock::time_point> NextExpiry() const;

  // After a time in which we could not hear (NATS reconnect, Deregister
  // then Register): every heartbeating member gets a fresh ttl from `now`,
  // and every quiet member must be heard again (it answers the REQUEST the
  // provider sends now) by now + confirm.
  void Resync(Clock::time_point now);

  // The members, sorted by address.
  std::vector<Node> Nodes() const;
  size_t size() const { return members_.size(); }

 private:
  struct Member {
    Node node;
    bool heartbeat = false;
    Clock::time_point last_heard;
    std::optional<Clock::time_point> confirm_by;  // quiet members asked to answer
  };

  // Asks every quiet member not already asked to answer by now + confirm.
  void AskQuiet(Clock::time_point now);

  std::string self_address_;
  Duration ttl_;
  Duration confirm_;
  std::map<std::string, Member> members_;          // by address
  std::map<std::string, Clock::time_point> left_;  // by address: when its DEREGISTER came
};

}  // namespace groupcache::discovery::nats_internal

#endif  // GROUPCACHE_SRC_DISCOVERY_NATS_MEMBERSHIP_H_
