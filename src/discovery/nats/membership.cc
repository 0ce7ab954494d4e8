#include "membership.h"

#include <utility>

namespace groupcache::discovery::nats_internal {

Membership::Membership(std::string self_address, Duration ttl, Duration confirm)
    : self_address_(std::move(self_address)), ttl_(ttl), confirm_(confirm) {}

void Membership::Heard(const Node& node, bool heartbeat, Clock::time_point now,
                       std::vector<Event>* events) {
  std::string address = node.Address();
  if (address == self_address_) return;
  // It speaks again: whatever it said before it left is history.
  left_.erase(address);
  auto [it, inserted] = members_.try_emplace(address);
  Member& m = it->second;
  if (inserted) {
    m.node = node;
    events->push_back(Event{Event::Kind::kAdded, node, {}});
  } else if (m.node.name != node.name) {
    events->push_back(Event{Event::Kind::kModified, node, m.node});
    m.node = node;
  }
  // Once a node has sent REGISTER it is known to heartbeat; a later REQUEST
  // or RESPONSE from it does not make it quiet again.
  m.heartbeat = m.heartbeat || heartbeat;
  m.last_heard = now;
  m.confirm_by.reset();
}

void Membership::Responded(const Node& node, Clock::time_point now, std::vector<Event>* events) {
  if (left_.count(node.Address()) == 0) Heard(node, false, now, events);
}

void Membership::Answered(const Node& node, Clock::time_point asked, Clock::time_point now,
                          std::vector<Event>* events) {
  if (!LeftSince(node.Address(), asked)) Heard(node, false, now, events);
}

bool Membership::LeftSince(const std::string& address, Clock::time_point t) const {
  auto it = left_.find(address);
  return it != left_.end() && it->second >= t;
}

void Membership::Left(const Node& node, Clock::time_point now, std::vector<Event>* events) {
  std::string address = node.Address();
  if (address == self_address_) return;
  left_[address] = now;
  auto it = members_.find(address);
  if (it == members_.end()) return;
  events->push_back(Event{Event::Kind::kRemoved, it->second.node, {}});
  members_.erase(it);
}

bool Membership::Expire(Clock::time_point now, std::vector<Event>* events) {
  bool ask = false;
  for (auto it = members_.begin(); it != members_.end();) {
    const Member& m = it->second;
    bool gone =
        (m.heartbeat && now - m.last_heard >= ttl_) || (m.confirm_by && now >= *m.confirm_by);
    if (gone) {
      events->push_back(Event{Event::Kind::kRemoved, m.node, {}});
      it = members_.erase(it);
      continue;
    }
    ask = ask || (!m.heartbeat && !m.confirm_by && now - m.last_heard >= ttl_);
    ++it;
  }
  // One REQUEST reaches every quiet member: ask them all, so that their
  // answers fall due together and the next REQUEST asks them all again.
  if (ask) AskQuiet(now);
  // A DiscoverNodes answer is handed over `confirm` after its REQUEST (and
  // a little more on a busy machine), a RESPONSE within moments: records of
  // a DEREGISTER ten times older can no longer matter.
  for (auto it = left_.begin(); it != left_.end();) {
    it = now - it->second > 10 * confirm_ ? left_.erase(it) : std::next(it);
  }
  return ask;
}

std::optional<Clock::time_point> Membership::NextExpiry() const {
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [address, m] : members_) {
    if (m.confirm_by) {
      consider(*m.confirm_by);
    } else {
      consider(m.last_heard + ttl_);  // a heartbeater's end, or a quiet one's REQUEST
    }
  }
  return next;
}

void Membership::AskQuiet(Clock::time_point now) {
  for (auto& [address, m] : members_) {
    if (!m.heartbeat && !m.confirm_by) m.confirm_by = now + confirm_;
  }
}

void Membership::Resync(Clock::time_point now) {
  for (auto& [address, m] : members_) {
    if (m.heartbeat) {
      m.last_heard = now;
    } else {
      m.confirm_by = now + confirm_;
    }
  }
}

std::vector<Node> Membership::Nodes() const {
  std::vector<Node> out;
  out.reserve(members_.size());
  for (const auto& [address, m] : members_) out.push_back(m.node);
  return out;
}

}  // namespace groupcache::discovery::nats_internal
