// OriginStats: the http: loader's responses from its origin, counted by
// HTTP status, plus the requests that got no status at all (transport
// errors: refused, reset, timed out, TLS failures). A request the caller
// gave up on (its context ended) is not counted: that is not the origin's
// doing. A stale keep-alive connection retried on a new one counts once.
// Thread-safe.
//
// Example:
//   OriginStats stats;
//   auto getter = MakeLoader("http:http://origin/{key}", options, &loads, &stats);
//   ... stats.Prometheus() in /metrics ...

#ifndef GROUPCACHE_CMD_GROUPCACHED_ORIGIN_STATS_H_
#define GROUPCACHE_CMD_GROUPCACHED_ORIGIN_STATS_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace groupcache::daemon {

class OriginStats {
 public:
  // Counts one response with status `code`.
  void RecordStatus(int code);
  // Counts one request that failed without a status.
  void RecordError();

  // Responses by status code.
  std::map<int, int64_t> statuses() const;
  int64_t errors() const;

  // Prometheus text: groupcached_origin_requests_total{code="200"} N, one
  // line per status seen, and {code="error"} for transport errors.
  std::string Prometheus() const;

 private:
  mutable std::mutex mu_;
  std::map<int, int64_t> statuses_;  // GUARDED_BY(mu_)
  int64_t errors_ = 0;               // GUARDED_BY(mu_)
};

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_ORIGIN_STATS_H_
