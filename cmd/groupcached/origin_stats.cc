#include "origin_stats.h"

namespace groupcache::daemon {

void OriginStats::RecordStatus(int code) {
  std::lock_guard lock(mu_);
  ++statuses_[code];
}

void OriginStats::RecordError() {
  std::lock_guard lock(mu_);
  ++errors_;
}

std::map<int, int64_t> OriginStats::statuses() const {
  std::lock_guard lock(mu_);
  return statuses_;
}

int64_t OriginStats::errors() const {
  std::lock_guard lock(mu_);
  return errors_;
}

std::string OriginStats::Prometheus() const {
  std::string out =
      "# HELP groupcached_origin_requests_total Requests of the http: loader to its origin, by "
      "HTTP status (error: no status, a transport error).\n"
      "# TYPE groupcached_origin_requests_total counter\n";
  std::lock_guard lock(mu_);
  for (const auto& [code, n] : statuses_) {
    out += "groupcached_origin_requests_total{code=\"" + std::to_string(code) + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "groupcached_origin_requests_total{code=\"error\"} " + std::to_string(errors_) + "\n";
  return out;
}

}  // namespace groupcache::daemon
