// The loaders groupcached can serve: synthetic values (benchmarks, tests)
// and files from a directory. Each counts its calls per key in a
// LoadCounter, so a test can prove every key was loaded once cluster-wide.
//
// A loader refuses a key it cannot serve with InvalidArgument (the peer
// protocol answers 400), a key it has no value for with NotFound (404).
//
// Example:
//   LoadCounter loads(LoadCounter::kDefaultMaxKeys);
//   auto getter = MakeLoader("dir:/srv/files", {}, &loads);
//   if (!getter.ok()) return getter.status();
//   registry.NewGroup("files", 64 << 20, *getter);

#ifndef GROUPCACHE_CMD_GROUPCACHED_LOADERS_H_
#define GROUPCACHE_CMD_GROUPCACHED_LOADERS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "groupcache/group.h"

namespace groupcache::daemon {

// Loader calls per key, for at most `max_keys` distinct keys: once the table
// is full, calls for further keys are only counted in untracked(), so a
// client sending endless distinct keys cannot grow it. Memory is bounded by
// max_keys times the longest key the transport accepts (max_key_bytes).
// Thread-safe.
class LoadCounter {
 public:
  static constexpr size_t kDefaultMaxKeys = 200000;

  // max_keys 0: no key is tracked, only the totals.
  explicit LoadCounter(size_t max_keys = kDefaultMaxKeys) : max_keys_(max_keys) {}

  // Counts one loader call for `key`.
  void Record(std::string_view key);

  // The tracked keys as a flat JSON object {"key": calls, ...}, sorted by
  // key (GET /loads; tests and scripts/bench parse it).
  std::string Json() const;
  // Prometheus text: groupcached_loads_total (every call) and
  // groupcached_loads_untracked_total (calls for keys not in Json()).
  std::string Prometheus() const;

  int64_t total() const;
  int64_t untracked() const;

 private:
  const size_t max_keys_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> counts_;  // GUARDED_BY(mu_)
  int64_t total_ = 0;                                   // GUARDED_BY(mu_)
  int64_t untracked_ = 0;                               // GUARDED_BY(mu_)
};

struct LoaderOptions {
  // dir: files larger than this are refused (ResourceExhausted): their
  // value could not be sent to a peer anyway. Default: the transport's
  // default max_body_bytes.
  size_t dir_max_file_bytes = size_t{64} << 20;
};

// The value the synthetic loader makes, identical to bench/go/gonode's:
// seed = key + ":", value[i] = seed[i % len(seed)].
std::string SyntheticValue(std::string_view key, size_t size);

// A getter for `spec`:
//   synthetic:SIZE[:DELAY_MS]  SyntheticValue(key, SIZE) after DELAY_MS
//                              (or the caller's deadline); any key.
//   dir:PATH                   the file PATH/key. Errors of the getter:
//     InvalidArgument: the key is empty, holds a NUL, is absolute, has a
//       ".." component or one starting with '.' (dotfiles are never
//       served), or resolves (through symlinks) outside PATH or to a
//       dotfile;
//     NotFound: no such regular file (or it cannot be opened);
//     ResourceExhausted: the file is over options.dir_max_file_bytes;
//     Internal: a read error.
// Only keys that pass these checks are recorded in `counter`, which must
// outlive the getter. Errors: InvalidArgument naming what is wrong with
// `spec`.
Result<Getter> MakeLoader(std::string_view spec, const LoaderOptions& options,
                          LoadCounter* counter);

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_LOADERS_H_
