// The loaders groupcached can serve: synthetic values (benchmarks, tests)
// and files from a directory. Each counts its calls per key, so a test can
// prove every key was loaded once cluster-wide.

#ifndef GROUPCACHE_CMD_GROUPCACHED_LOADERS_H_
#define GROUPCACHE_CMD_GROUPCACHED_LOADERS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "groupcache/group.h"

namespace groupcache::daemon {

class LoadCounter {
 public:
  void Record(std::string_view key);
  // {"key": calls, ...}
  std::string Json() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> counts_;  // GUARDED_BY(mu_)
};

// The value the synthetic loader makes, identical to bench/go/gonode's:
// seed = key + ":", value[i] = seed[i % len(seed)].
std::string SyntheticValue(std::string_view key, size_t size);

// "synthetic:SIZE[:DELAY_MS]" or "dir:PATH". Errors: InvalidArgument naming
// what is wrong. `counter` must outlive the getter.
Result<Getter> MakeLoader(std::string_view spec, LoadCounter* counter);

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_LOADERS_H_
