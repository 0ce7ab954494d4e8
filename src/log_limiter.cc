#include "log_limiter.h"

#include <utility>

namespace groupcache::internal {

bool LogLimiter::Allow(Clock::time_point now, int64_t* suppressed) {
  std::lock_guard lock(mu_);
  if (now < next_) {
    ++held_;
    return false;
  }
  next_ = now + period_;
  *suppressed = std::exchange(held_, 0);
  return true;
}

}  // namespace groupcache::internal
