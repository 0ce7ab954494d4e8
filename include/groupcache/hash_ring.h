// HashRing: the consistent-hash ring that decides which peer owns a key
// (go: consistenthash.Map).
//
// Two placement algorithms, bit-for-bit with the Go code, so C++ and Go
// nodes given the same peer list agree on every key's owner:
//  - kMailgun (default; mailgun and Tochemey forks): replica i of peer p sits
//    at hash(lowercase_hex(md5(decimal(i) + p))), hash = FNV-1 64-bit; a key
//    sits at hash(key). Points are compared as *signed* 64-bit integers.
//  - kGolang (original golang/groupcache): replica i of peer p sits at
//    hash(decimal(i) + p), hash = CRC-32 (IEEE); a key at hash(key);
//    compared as unsigned 32-bit values.
// And one for clusters without Go nodes:
//  - kBalanced: kMailgun with every point (a key's and a replica's) passed
//    through a 64-bit finalizer (MurmurHash3's fmix64). FNV-1 xors a key's
//    last byte in last, so under kMailgun keys that differ only at their end
//    ("user-1", "user-2", ...) sit next to each other on the ring and go to
//    one or two peers: 2,000 keys "key-0".."key-1999" over three loopback
//    peers gave one of them none. The finalizer spreads them, and 400
//    points per peer (kBalancedReplicas) even out the peers' shares of the
//    ring; the peer protocol is kMailgun's (escaped paths), only placement
//    differs, so every node of a cluster must use the same algorithm.
// The owner is the first point >= the key's point, wrapping to the first
// point. When two points collide the peer added later wins.
//
// A user-supplied hash replaces FNV-1 (kMailgun, kBalanced: then finalized
// too) or CRC-32 (kGolang; only the low 32 bits are used, as Go's Hash type
// is uint32).
//
// Building (constructor, Add) is not thread-safe; a built ring is immutable
// and its const methods may be called from any number of threads. To change
// the peer set at run time build a new ring and swap it in (see
// RingPeerPicker).
//
// Example:
//   HashRing ring({.algorithm = RingAlgorithm::kMailgun, .replicas = 50},
//                 {"http://10.0.0.1:8080", "http://10.0.0.2:8080"});
//   std::string_view owner = ring.Get("some-key");

#ifndef GROUPCACHE_HASH_RING_H_
#define GROUPCACHE_HASH_RING_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace groupcache {

enum class RingAlgorithm { kMailgun, kGolang, kBalanced };

// "mailgun", "golang" or "balanced"; false if none of them.
bool ParseRingAlgorithm(std::string_view text, RingAlgorithm* algorithm);
std::string_view RingAlgorithmName(RingAlgorithm algorithm);

using RingHashFn = std::function<uint64_t(std::string_view)>;

struct RingOptions {
  RingAlgorithm algorithm = RingAlgorithm::kMailgun;
  // Points per peer; 0 (or less) means the algorithm's default:
  // kDefaultReplicas (50, Go's) for kMailgun and kGolang, kBalancedReplicas
  // for kBalanced.
  int replicas = 0;
  // Replaces the algorithm's hash function when set.
  RingHashFn hash;
};

class HashRing {
 public:
  static constexpr int kDefaultReplicas = 50;
  // kBalanced's default: a peer's share of the ring varies by about
  // 1/sqrt(points) of itself. With 50 points three loopback peers had 28%,
  // 34% and 38% of 20,000 sequential keys, with 400 points 33-34% (and
  // 31-37% for three other addresses), for a ring build of 400 MD5s per
  // peer and a lookup over 400 points per peer.
  static constexpr int kBalancedReplicas = 400;
  // The points per peer that replicas = 0 stands for.
  static int DefaultReplicas(RingAlgorithm algorithm) {
    return algorithm == RingAlgorithm::kBalanced ? kBalancedReplicas : kDefaultReplicas;
  }

  explicit HashRing(RingOptions options = {});
  HashRing(RingOptions options, const std::vector<std::string>& peers);

  // Adds peers in order (the order matters only for point collisions).
  void Add(const std::vector<std::string>& peers);

  bool empty() const { return points_.empty(); }

  // The owner of `key`, or "" if the ring is empty. The view is valid for
  // the ring's lifetime.
  std::string_view Get(std::string_view key) const;

  // The peers in the order they were added (duplicates dropped).
  const std::vector<std::string>& peers() const { return peers_; }

  const RingOptions& options() const { return options_; }

  // The building blocks, exposed for tests and tools.
  static uint64_t Fnv1_64(std::string_view data);
  static uint32_t Crc32(std::string_view data);
  static std::string Md5Hex(std::string_view data);
  // MurmurHash3's 64-bit finalizer (a bijection that mixes every input bit
  // into every output bit): kBalanced's last step.
  static uint64_t Fmix64(uint64_t h);

 private:
  int64_t KeyPoint(std::string_view key) const;
  int64_t ReplicaPoint(int replica, std::string_view peer) const;
  void Rebuild();

  RingOptions options_;
  std::vector<std::string> peers_;
  // Raw points in insertion order, as (point, peer index).
  std::vector<std::pair<int64_t, uint32_t>> raw_;
  // Sorted unique points and, in parallel, the index of their owner.
  std::vector<int64_t> points_;
  std::vector<uint32_t> owners_;
};

}  // namespace groupcache

#endif  // GROUPCACHE_HASH_RING_H_
