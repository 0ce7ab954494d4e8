#include "groupcache/metrics.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "groupcache/histogram.h"

namespace groupcache {
namespace {

// Label values escape backslash, quote and newline (the text format's
// rules); group names are free-form.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// A sample value as Prometheus reads it: the shortest text that reads
// back as the same double ("0.0005", "1", "2.5").
std::string Number(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

struct Family {
  const char* name;
  const char* type;
  const char* help;
};

class Writer {
 public:
  void Header(const Family& f) {
    out_ += "# HELP ";
    out_ += f.name;
    out_ += ' ';
    out_ += f.help;
    out_ += "\n# TYPE ";
    out_ += f.name;
    out_ += ' ';
    out_ += f.type;
    out_ += '\n';
  }
  void Sample(std::string_view name, std::string_view labels, const std::string& value) {
    out_ += name;
    out_ += '{';
    out_ += labels;
    out_ += "} ";
    out_ += value;
    out_ += '\n';
  }
  // `labels` is not empty: every histogram here has a group label.
  void Histogram(std::string_view name, const std::string& labels, const HistogramSnapshot& h) {
    const std::string bucket = std::string(name) + "_bucket";
    int64_t cumulative = 0;
    for (size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      std::string with_le = labels;
      with_le += ",le=\"";
      with_le += i < Histogram::kBounds.size() ? Number(Histogram::kBounds[i]) : "+Inf";
      with_le += '"';
      Sample(bucket, with_le, std::to_string(cumulative));
    }
    Sample(std::string(name) + "_sum", labels, Number(h.sum_seconds));
    Sample(std::string(name) + "_count", labels, std::to_string(cumulative));
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

}  // namespace

std::string RenderPrometheus(const Registry& registry, const std::string& extra) {
  struct Row {
    std::string labels;  // group="..."
    GroupStats stats;
    CacheStats main;
    CacheStats hot;
    Group::Latencies latencies;
  };
  std::vector<Row> rows;
  for (const std::string& name : registry.GroupNames()) {
    auto g = registry.GetGroup(name);
    if (!g) continue;
    rows.push_back({"group=\"" + Escape(name) + "\"", g->Stats(),
                    g->GetCacheStats(CacheType::kMain), g->GetCacheStats(CacheType::kHot),
                    g->GetLatencies()});
  }
  Writer w;
  // The names, help texts and labels of the mailgun exporter
  // (promexporter), so that its dashboards work unchanged.
  const std::pair<Family, int64_t GroupStats::*> group_counters[] = {
      {{"groupcache_gets_total", "counter",
        "Count of cache gets (including from peers, from either main or hot cache)"},
       &GroupStats::gets},
      {{"groupcache_hits_total", "counter", "Count of cache hits (from either main or hot cache)"},
       &GroupStats::cache_hits},
      {{"groupcache_peer_loads_total", "counter", "Count of loads or cache hits from peers"},
       &GroupStats::peer_loads},
      {{"groupcache_peer_errors_total", "counter", "Count of errors from peers"},
       &GroupStats::peer_errors},
      {{"groupcache_loads_total", "counter", "Count of (gets - hits)"}, &GroupStats::loads},
      {{"groupcache_loads_deduped_total", "counter", "Count of loads after singleflight"},
       &GroupStats::loads_deduped},
      {{"groupcache_local_loads_total", "counter", "Count of loads from local cache"},
       &GroupStats::local_loads},
      {{"groupcache_local_load_errs_total", "counter", "Count of load errors from local cache"},
       &GroupStats::local_load_errs},
      {{"groupcache_server_requests_total", "counter", "Count of gets received from peers"},
       &GroupStats::server_requests},
      // Ours (not the exporter's): see GroupStats::ring_disagreements.
      {{"groupcache_ring_disagreements_total", "counter",
        "Count of fetches from peers for keys this node's ring gives to another node"},
       &GroupStats::ring_disagreements},
  };
  for (const auto& [f, field] : group_counters) {
    w.Header(f);
    for (const Row& r : rows) w.Sample(f.name, r.labels, std::to_string(r.stats.*field));
  }
  // Milliseconds, as the Go code keeps it (GetFromPeersLatencyLower).
  const Family latency_lower{"groupcache_get_from_peers_latency_lower", "gauge",
                             "Represent slowest duration to request value from peers"};
  w.Header(latency_lower);
  for (const Row& r : rows) {
    w.Sample(latency_lower.name, r.labels, std::to_string(r.stats.max_peer_latency_ms));
  }
  const std::pair<Family, int64_t CacheStats::*> cache_values[] = {
      {{"groupcache_cache_bytes", "gauge", "Gauge of current bytes in use"}, &CacheStats::bytes},
      {{"groupcache_cache_items", "gauge", "Gauge of current items in use"}, &CacheStats::items},
      {{"groupcache_cache_gets_total", "counter", "Count of cache gets"}, &CacheStats::gets},
      {{"groupcache_cache_hits_total", "counter", "Count of cache hits"}, &CacheStats::hits},
      {{"groupcache_cache_evictions_total", "counter", "Count of cache evictions"},
       &CacheStats::evictions},
      {{"groupcache_cache_evictions_nonexpired_total", "counter",
        "Count of cache evictions for non-expired keys due to memory full"},
       &CacheStats::evictions_nonexpired},
  };
  for (const auto& [f, field] : cache_values) {
    w.Header(f);
    for (const Row& r : rows) {
      w.Sample(f.name, r.labels + ",type=\"main\"", std::to_string(r.main.*field));
      w.Sample(f.name, r.labels + ",type=\"hot\"", std::to_string(r.hot.*field));
    }
  }

  // Our own latency histograms (the exporter has none).
  const Family client_get{"groupcache_client_get_duration_seconds", "histogram",
                          "Client API GETs from request to reply, by where the value came from "
                          "(hit, hot, peer, load)"};
  w.Header(client_get);
  for (const Row& r : rows) {
    for (size_t i = 0; i < Group::kSources; ++i) {
      std::string_view source = Group::SourceName(static_cast<Group::Source>(i));
      w.Histogram(client_get.name, r.labels + ",source=\"" + std::string(source) + "\"",
                  r.latencies.client_get[i]);
    }
  }
  const Family peer_fetch{"groupcache_peer_fetch_duration_seconds", "histogram",
                          "Fetches from the key's owner, failed ones included"};
  w.Header(peer_fetch);
  for (const Row& r : rows) w.Histogram(peer_fetch.name, r.labels, r.latencies.peer_fetch);
  const Family local_load{"groupcache_local_load_duration_seconds", "histogram",
                          "Getter calls (local loads), failed ones included"};
  w.Header(local_load);
  for (const Row& r : rows) w.Histogram(local_load.name, r.labels, r.latencies.local_load);

  std::string out = std::move(w.out());
  out += extra;
  return out;
}

}  // namespace groupcache
