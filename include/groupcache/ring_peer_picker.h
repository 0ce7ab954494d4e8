// RingPeerPicker: a PeerPicker over a HashRing of peer URLs, whose peer set
// can be replaced at run time.
//
// SetPeers builds a new ring and a client per peer (reusing the client of a
// peer that stays, so its connections survive) and swaps them in atomically:
// calls in flight keep the snapshot they started with. The process's own URL
// (`self`) is on the ring but never gets a client; keys it owns pick
// nullptr. Thread-safe.
//
// Example:
//   RingPeerPicker picker("http://10.0.0.1:8080", {},
//                         [&](const std::string& url) { return MakeClient(url); });
//   picker.SetPeers({"http://10.0.0.1:8080", "http://10.0.0.2:8080"});

#ifndef GROUPCACHE_RING_PEER_PICKER_H_
#define GROUPCACHE_RING_PEER_PICKER_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "groupcache/hash_ring.h"
#include "groupcache/peers.h"

namespace groupcache {

class RingPeerPicker final : public PeerPicker {
 public:
  using ClientFactory = std::function<std::shared_ptr<PeerClient>(const std::string& url)>;

  // REQUIRES: factory is non-null and returns non-null clients.
  RingPeerPicker(std::string self, RingOptions options, ClientFactory factory);

  // Replaces the peer set. `self` need not be listed; it is added if
  // missing, as a node always owns part of the keyspace.
  void SetPeers(std::vector<std::string> peers);

  std::shared_ptr<PeerClient> PickPeer(std::string_view key) override;
  std::vector<std::shared_ptr<PeerClient>> GetAll() override;

  // The owner's URL (possibly self), or "" if there are no peers.
  std::string Owner(std::string_view key) const;

  // The URLs on the ring, self included, sorted.
  std::vector<std::string> Peers() const;

  const std::string& self() const { return self_; }

 private:
  struct Snapshot {
    HashRing ring;
    std::map<std::string, std::shared_ptr<PeerClient>, std::less<>> clients;
  };
  std::shared_ptr<const Snapshot> Current() const;

  const std::string self_;
  const RingOptions options_;
  const ClientFactory factory_;
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // GUARDED_BY(mu_)
};

}  // namespace groupcache

#endif  // GROUPCACHE_RING_PEER_PICKER_H_
