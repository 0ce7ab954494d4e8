// Membership: what one NATS provider believes the other nodes are, and the
// rules that turn what it hears into events. Pure logic with the clock
// passed in, so the liveness rules are tested without a server or sleeps.
//
// Members are keyed by address (host:port); a known address with a new name
// is a kModified event. Two kinds of member:
//  - heartbeating: we have had a REGISTER from it. C++ nodes re-send
//    REGISTER every heartbeat, so one not heard from for `ttl` is gone
//    (killed without a DEREGISTER) and is removed.
//  - quiet: known only from a REQUEST or RESPONSE. Go nodes never send
//    REGISTER, so they cannot be timed out; they leave by DEREGISTER, or by
//    failing to answer the REQUEST sent after a resync.
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
  // `self_address` is never a member. REQUIRES: ttl > 0.
  Membership(std::string self_address, Duration ttl);

  // `node` spoke at `now`: a REGISTER (heartbeat = true), or a REQUEST or a
  // RESPONSE (heartbeat = false). Appends kAdded for a new member, kModified
  // for a known address with another name.
  void Heard(const Node& node, bool heartbeat, Clock::time_point now, std::vector<Event>* events);

  // `node` sent a DEREGISTER. Appends kRemoved if it was a member.
  void Left(const Node& node, std::vector<Event>* events);

  // Removes heartbeating members not heard from since now - ttl and quiet
  // members whose resync confirmation is overdue; appends kRemoved for each.
  void Expire(Clock::time_point now, std::vector<Event>* events);

  // The earliest time at which Expire could remove someone, if any.
  std::optional<Clock::time_point> NextExpiry() const;

  // After a time in which we could not hear (NATS reconnect, Deregister
  // then Register): every heartbeating member gets a fresh ttl from `now`,
  // and every quiet member must be heard again (it answers the REQUEST the
  // provider sends now) by now + `confirm`.
  void Resync(Clock::time_point now, Duration confirm);

  // The members, sorted by address.
  std::vector<Node> Nodes() const;
  size_t size() const { return members_.size(); }

 private:
  struct Member {
    Node node;
    bool heartbeat = false;
    Clock::time_point last_heard;
    std::optional<Clock::time_point> confirm_by;  // quiet members after Resync
  };

  std::string self_address_;
  Duration ttl_;
  std::map<std::string, Member> members_;  // by address
};

}  // namespace groupcache::discovery::nats_internal

#endif  // GROUPCACHE_SRC_DISCOVERY_NATS_MEMBERSHIP_H_
