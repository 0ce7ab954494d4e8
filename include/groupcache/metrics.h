// Prometheus text exposition of a registry's groups.
//
// Per group (label group): groupcache_gets_total, _cache_hits_total,
// _loads_total, _loads_deduped_total, _local_loads_total,
// _local_load_errors_total, _peer_loads_total, _peer_errors_total,
// _server_requests_total; per group and cache (labels group,
// cache="main|hot"): groupcache_cache_bytes, _cache_items,
// _cache_evictions_total. `extra` is appended as is (for gauges the caller
// owns, e.g. groupcache_peers). Thread-safe (reads snapshots).

#ifndef GROUPCACHE_METRICS_H_
#define GROUPCACHE_METRICS_H_

#include <string>

#include "groupcache/registry.h"

namespace groupcache {

std::string RenderPrometheus(const Registry& registry, const std::string& extra = "");

}  // namespace groupcache

#endif  // GROUPCACHE_METRICS_H_
