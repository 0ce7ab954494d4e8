#include "groupcache/hash_ring.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <string>

namespace groupcache {

bool ParseRingAlgorithm(std::string_view text, RingAlgorithm* algorithm) {
  if (text == "mailgun") {
    *algorithm = RingAlgorithm::kMailgun;
  } else if (text == "golang") {
    *algorithm = RingAlgorithm::kGolang;
  } else if (text == "balanced") {
    *algorithm = RingAlgorithm::kBalanced;
  } else {
    return false;
  }
  return true;
}

std::string_view RingAlgorithmName(RingAlgorithm algorithm) {
  switch (algorithm) {
    case RingAlgorithm::kGolang: return "golang";
    case RingAlgorithm::kBalanced: return "balanced";
    case RingAlgorithm::kMailgun: break;
  }
  return "mailgun";
}

uint64_t HashRing::Fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t HashRing::Fnv1_64(std::string_view data) {
  // FNV-1 (multiply, then xor), not FNV-1a: what segmentio/fasthash's
  // fnv1.HashBytes64 computes, which the mailgun ring uses.
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : data) {
    h *= 1099511628211ULL;
    h ^= c;
  }
  return h;
}

uint32_t HashRing::Crc32(std::string_view data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; ring inputs are short, but stay correct anyway.
  const auto* p = reinterpret_cast<const Bytef*>(data.data());
  size_t left = data.size();
  while (left > 0) {
    uInt n = static_cast<uInt>(std::min<size_t>(left, 1U << 30));
    crc = crc32(crc, p, n);
    p += n;
    left -= n;
  }
  return static_cast<uint32_t>(crc);
}

std::string HashRing::Md5Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_md5(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * static_cast<size_t>(len));
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

HashRing::HashRing(RingOptions options) : options_(std::move(options)) {
  if (options_.replicas < 1) options_.replicas = DefaultReplicas(options_.algorithm);
}

HashRing::HashRing(RingOptions options, const std::vector<std::string>& peers)
    : HashRing(std::move(options)) {
  Add(peers);
}

int64_t HashRing::KeyPoint(std::string_view key) const {
  if (options_.algorithm == RingAlgorithm::kGolang) {
    uint32_t h = options_.hash ? static_cast<uint32_t>(options_.hash(key)) : Crc32(key);
    return static_cast<int64_t>(h);  // unsigned order preserved in int64
  }
  // Go converts the uint64 to int: the ring order is the signed one.
  uint64_t h = options_.hash ? options_.hash(key) : Fnv1_64(key);
  if (options_.algorithm == RingAlgorithm::kBalanced) h = Fmix64(h);
  return static_cast<int64_t>(h);
}

int64_t HashRing::ReplicaPoint(int replica, std::string_view peer) const {
  std::string input = std::to_string(replica);
  input.append(peer);
  if (options_.algorithm == RingAlgorithm::kGolang) return KeyPoint(input);
  return KeyPoint(Md5Hex(input));
}

void HashRing::Add(const std::vector<std::string>& peers) {
  for (const std::string& peer : peers) {
    if (std::find(peers_.begin(), peers_.end(), peer) != peers_.end()) continue;
    auto index = static_cast<uint32_t>(peers_.size());
    peers_.push_back(peer);
    for (int i = 0; i < options_.replicas; ++i) {
      raw_.emplace_back(ReplicaPoint(i, peer), index);
    }
  }
  Rebuild();
}

void HashRing::Rebuild() {
  // raw_ is in insertion order, so a stable sort leaves colliding points in
  // insertion order and the last of each run is the peer added later, the
  // one Go's map assignment keeps.
  std::vector<std::pair<int64_t, uint32_t>> sorted = raw_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  points_.clear();
  owners_.clear();
  for (const auto& [point, owner] : sorted) {
    if (!points_.empty() && points_.back() == point) {
      owners_.back() = owner;
      continue;
    }
    points_.push_back(point);
    owners_.push_back(owner);
  }
}

std::string_view HashRing::Get(std::string_view key) const {
  if (points_.empty()) return {};
  int64_t h = KeyPoint(key);
  auto it = std::lower_bound(points_.begin(), points_.end(), h);
  size_t i = it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
  return peers_[owners_[i]];
}

}  // namespace groupcache
