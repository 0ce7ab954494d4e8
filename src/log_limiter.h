// LogLimiter: at most one line per period for a repeating condition,
// saying how many were suppressed. Used by the server (EMFILE, a full
// connection table, failed handshakes) and by groups (ring disagreements):
// conditions that can repeat thousands of times a second must not fill the
// disk. Thread-safe.

#ifndef GROUPCACHE_SRC_LOG_LIMITER_H_
#define GROUPCACHE_SRC_LOG_LIMITER_H_

#include <cstdint>
#include <mutex>

#include "groupcache/context.h"

namespace groupcache::internal {

class LogLimiter {
 public:
  explicit LogLimiter(Clock::duration period) : period_(period) {}

  // True if a line may be written now; *suppressed is then the number of
  // lines held back since the last one.
  bool Allow(Clock::time_point now, int64_t* suppressed);

 private:
  const Clock::duration period_;
  std::mutex mu_;
  Clock::time_point next_{};  // GUARDED_BY(mu_)
  int64_t held_ = 0;          // GUARDED_BY(mu_)
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_LOG_LIMITER_H_
