// Prometheus text exposition of a registry's groups.
//
// The names, help texts and labels are those of the mailgun exporter
// (mailgun/groupcache promexporter), so its dashboards work unchanged.
// Per group (label group): counters groupcache_gets_total, _hits_total,
// _peer_loads_total, _peer_errors_total, _loads_total,
// _loads_deduped_total, _local_loads_total, _local_load_errs_total,
// _server_requests_total, and the gauge
// groupcache_get_from_peers_latency_lower (the slowest peer fetch, in ms).
// Per group and cache (labels group, type="main|hot"): gauges
// groupcache_cache_bytes, _cache_items; counters _cache_gets_total,
// _cache_hits_total, _cache_evictions_total,
// _cache_evictions_nonexpired_total.
//
// Beyond the exporter: the counter groupcache_ring_disagreements_total
// {group} (GroupStats::ring_disagreements), and latency histograms in
// seconds (buckets of histogram.h):
// groupcache_client_get_duration_seconds{group,source} (client API GETs,
// source = hit|hot|peer|load), groupcache_peer_fetch_duration_seconds
// {group} and groupcache_local_load_duration_seconds{group} (getter calls).
//
// `extra` is appended as is (for metrics the caller owns, e.g.
// groupcache_peers). Thread-safe (reads snapshots).

#ifndef GROUPCACHE_METRICS_H_
#define GROUPCACHE_METRICS_H_

#include <string>

#include "groupcache/registry.h"

namespace groupcache {

std::string RenderPrometheus(const Registry& registry, const std::string& extra = "");

}  // namespace groupcache

#endif  // GROUPCACHE_METRICS_H_
