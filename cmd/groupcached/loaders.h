// The loaders groupcached can serve: synthetic values (benchmarks, tests),
// files from a directory, and a read-through HTTP origin. Each counts its
// calls per key in a LoadCounter, so a test can prove every key was loaded
// once cluster-wide.
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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "groupcache/group.h"
#include "origin_stats.h"

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
  // Looked up by string_view without building a key string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // A hash table: every load records here, and an ordered map's walk of
  // string compares over 100k keys was a tenth of a load's instructions.
  // Json() still lists the keys sorted (nlohmann's objects are ordered).
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> counts_;  // GUARDED_BY(mu_)
  int64_t total_ = 0;                                                       // GUARDED_BY(mu_)
  int64_t untracked_ = 0;                                                   // GUARDED_BY(mu_)
};

// The load counters of a daemon's groups, by group name.
using LoadCounters = std::map<std::string, LoadCounter, std::less<>>;

// GET /loads: with one group, its counter's Json() (the flat object tests
// and scripts parse); with several, {"group": {"key": calls, ...}, ...}.
std::string LoadsJson(const LoadCounters& counters);
// /metrics: with one group, its counter's Prometheus(); with several, the
// same two counters with a sample per group labelled group="NAME".
std::string LoadsPrometheus(const LoadCounters& counters);

struct LoaderOptions {
  // dir: files larger than this are refused (ResourceExhausted): their
  // value could not be sent to a peer anyway. Default: the transport's
  // default max_body_bytes.
  size_t dir_max_file_bytes = size_t{64} << 20;

  // http: one origin request (connect, TLS, request, response) must be
  // done within this, and never past the caller's deadline.
  std::chrono::milliseconds origin_timeout{10000};
  // http: PEM CAs an https origin's certificate must chain to; empty: the
  // system's. Only for https:// templates.
  std::string origin_ca{};
  // http: the expiry of a value whose response has neither Cache-Control
  // max-age/s-maxage/no-store nor Expires; zero: it never expires.
  std::chrono::milliseconds origin_default_ttl{0};
  // http: larger response bodies are refused (ResourceExhausted). Default:
  // the transport's default max_body_bytes.
  size_t origin_max_bytes = size_t{64} << 20;
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
//   http:TEMPLATE              GET TEMPLATE with its one {key} replaced by
//     the key, percent-encoded except for RFC 3986's unreserved characters
//     and '/' (a key's '/' names a sub-path: "a b/c" -> "a%20b/c").
//     TEMPLATE is http[s]://HOST[:PORT]/PATH[?QUERY]. Keep-alive
//     connections are pooled and reused (origin_client.h); https verifies
//     the certificate against origin_ca or the system CAs and the host
//     name (SNI sent for DNS names). Answers of the getter:
//     200: the body, expiring as Cache-Control s-maxage, max-age or
//       Expires say, else after origin_default_ttl; no-store, no-cache or
//       private: expired at once, so the value answers this load but is
//       never cached (origin_rules.h, OriginExpiry). Note that a peer
//       receiving such a value over the peer protocol finds it expired and
//       loads it itself, so each non-owner miss reaches the origin twice;
//     404, 410: NotFound (not cached; the peer protocol answers 404);
//     any other status: Unavailable naming the URL and the status;
//     InvalidArgument: an empty key or one with a "." or ".." segment;
//     ResourceExhausted: a body over origin_max_bytes;
//     Unavailable: a transport error (named) or origin_timeout passed;
//     DeadlineExceeded, Cancelled: the caller's context ended.
//     Each response is counted by status in `origin_stats` if not null.
// Only keys that pass these checks are recorded in `counter`, which must
// outlive the getter, as must `origin_stats`. Errors: InvalidArgument
// naming what is wrong with `spec` or with an option it uses.
Result<Getter> MakeLoader(std::string_view spec, const LoaderOptions& options, LoadCounter* counter,
                          OriginStats* origin_stats = nullptr);

// True if MakeLoader(spec) gives a getter that never waits (synthetic
// values without a delay), so that GroupOptions::getter_never_blocks may
// run it on the I/O thread. A dir: or http: loader does I/O: false.
bool LoaderNeverBlocks(std::string_view spec);

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_LOADERS_H_
