#include "membership.h"

#include <utility>

namespace groupcache::discovery::nats_internal {

Membership::Membership(std::string self_address, Duration ttl)
    : self_address_(std::move(self_address)), ttl_(ttl) {}

void Membership::Heard(const Node& node, bool heartbeat, Clock::time_point now,
                       std::vector<Event>* events) {
  std::string address = node.Address();
  if (address == self_address_) return;
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

void Membership::Left(const Node& node, std::vector<Event>* events) {
  auto it = members_.find(node.Address());
  if (it == members_.end()) return;
  events->push_back(Event{Event::Kind::kRemoved, it->second.node, {}});
  members_.erase(it);
}

void Membership::Expire(Clock::time_point now, std::vector<Event>* events) {
  for (auto it = members_.begin(); it != members_.end();) {
    const Member& m = it->second;
    bool gone =
        (m.heartbeat && now - m.last_heard >= ttl_) || (m.confirm_by && now >= *m.confirm_by);
    if (gone) {
      events->push_back(Event{Event::Kind::kRemoved, m.node, {}});
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<Clock::time_point> Membership::NextExpiry() const {
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point t) {
    if (!next || t < *next) next = t;
  };
  for (const auto& [address, m] : members_) {
    if (m.heartbeat) consider(m.last_heard + ttl_);
    if (m.confirm_by) consider(*m.confirm_by);
  }
  return next;
}

void Membership::Resync(Clock::time_point now, Duration confirm) {
  for (auto& [address, m] : members_) {
    if (m.heartbeat) {
      m.last_heard = now;
    } else {
      m.confirm_by = now + confirm;
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
