#include "groupcache/ring_peer_picker.h"

#include <algorithm>
#include <utility>

namespace groupcache {

RingPeerPicker::RingPeerPicker(std::string self, RingOptions options, ClientFactory factory)
    : self_(std::move(self)),
      options_(std::move(options)),
      factory_(std::move(factory)),
      snapshot_(std::make_shared<Snapshot>(Snapshot{HashRing(options_), {}})) {}

std::shared_ptr<const RingPeerPicker::Snapshot> RingPeerPicker::Current() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

void RingPeerPicker::SetPeers(std::vector<std::string> peers) {
  if (!self_.empty() && std::find(peers.begin(), peers.end(), self_) == peers.end()) {
    peers.push_back(self_);
  }
  auto old = Current();
  auto next = std::make_shared<Snapshot>(Snapshot{HashRing(options_, peers), {}});
  for (const std::string& url : next->ring.peers()) {
    if (url == self_) continue;
    auto it = old->clients.find(url);
    next->clients.emplace(url, it != old->clients.end() ? it->second : factory_(url));
  }
  std::lock_guard lock(mu_);
  snapshot_ = std::move(next);
}

std::shared_ptr<PeerClient> RingPeerPicker::PickPeer(std::string_view key) {
  auto snap = Current();
  std::string_view owner = snap->ring.Get(key);
  if (owner.empty() || owner == self_) return nullptr;
  auto it = snap->clients.find(owner);
  return it == snap->clients.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<PeerClient>> RingPeerPicker::GetAll() {
  auto snap = Current();
  std::vector<std::shared_ptr<PeerClient>> out;
  out.reserve(snap->clients.size());
  for (const auto& [url, client] : snap->clients) out.push_back(client);
  return out;
}

std::string RingPeerPicker::Owner(std::string_view key) const {
  return std::string(Current()->ring.Get(key));
}

std::vector<std::string> RingPeerPicker::Peers() const {
  std::vector<std::string> out = Current()->ring.peers();
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace groupcache
