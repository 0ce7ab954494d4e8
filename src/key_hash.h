// The cache's key hash and a key carrying it (shared by the eviction stores
// and the cache's sharding).

#ifndef GROUPCACHE_SRC_KEY_HASH_H_
#define GROUPCACHE_SRC_KEY_HASH_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace groupcache::internal {

// The cache's key hash (not the ring's, which must match Go's): wyhash's
// construction, 64-bit reads folded by 128-bit multiplies. std::hash
// (MurmurHash2, a byte loop for the tail) was a fifth of a warm Get.
inline uint64_t KeyHash(std::string_view s) {
  constexpr uint64_t kP0 = 0xa0761d6478bd642full;
  constexpr uint64_t kP1 = 0xe7037ed1a0b428dbull;
  auto mix = [](uint64_t a, uint64_t b) {
    __extension__ using U128 = unsigned __int128;
    U128 r = static_cast<U128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
  };
  auto r64 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  auto r32 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return static_cast<uint64_t>(v);
  };
  const char* p = s.data();
  const size_t n = s.size();
  uint64_t seed = kP0;
  uint64_t a = 0;
  uint64_t b = 0;
  if (n <= 16) {
    if (n >= 4) {
      const size_t mid = (n >> 3) << 2;
      a = (r32(p) << 32) | r32(p + mid);
      b = (r32(p + n - 4) << 32) | r32(p + n - 4 - mid);
    } else if (n > 0) {
      auto byte = [p](size_t i) { return static_cast<uint64_t>(static_cast<unsigned char>(p[i])); };
      a = (byte(0) << 16) | (byte(n >> 1) << 8) | byte(n - 1);
    }
  } else {
    size_t left = n;
    while (left > 16) {
      seed = mix(r64(p) ^ kP1, r64(p + 8) ^ seed);
      p += 16;
      left -= 16;
    }
    a = r64(p + left - 16);
    b = r64(p + left - 8);
  }
  return mix(kP1 ^ n, mix(a ^ kP1, b ^ seed));
}

// A key with its hash computed once by the caller (the cache shards by the
// same hash), so a lookup hashes the key once, not twice.
struct HashedKey {
  std::string_view key;
  size_t hash;

  static HashedKey Of(std::string_view key) { return {key, KeyHash(key)}; }
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_KEY_HASH_H_
