#include "groupcache/metrics.h"

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

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

struct Family {
  const char* name;
  const char* type;
  const char* help;
};

}  // namespace

std::string RenderPrometheus(const Registry& registry, const std::string& extra) {
  struct Row {
    std::string group;
    GroupStats stats;
    CacheStats main;
    CacheStats hot;
  };
  std::vector<Row> rows;
  for (const std::string& name : registry.GroupNames()) {
    auto g = registry.GetGroup(name);
    if (!g) continue;
    rows.push_back(
        {name, g->Stats(), g->GetCacheStats(CacheType::kMain), g->GetCacheStats(CacheType::kHot)});
  }
  std::string out;
  auto family = [&](const Family& f) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    out += f.help;
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += f.type;
    out += '\n';
  };
  auto sample = [&](const char* name, const std::string& labels, int64_t v) {
    out += name;
    out += '{';
    out += labels;
    out += "} ";
    out += std::to_string(v);
    out += '\n';
  };
  const std::pair<Family, int64_t GroupStats::*> group_counters[] = {
      {{"groupcache_gets_total", "counter", "Get calls, including peer requests."},
       &GroupStats::gets},
      {{"groupcache_cache_hits_total", "counter", "Gets served from the main or hot cache."},
       &GroupStats::cache_hits},
      {{"groupcache_loads_total", "counter", "Gets that missed the cache."}, &GroupStats::loads},
      {{"groupcache_loads_deduped_total", "counter", "Loads run after single-flight."},
       &GroupStats::loads_deduped},
      {{"groupcache_local_loads_total", "counter", "Successful getter calls."},
       &GroupStats::local_loads},
      {{"groupcache_local_load_errors_total", "counter", "Failed getter calls."},
       &GroupStats::local_load_errs},
      {{"groupcache_peer_loads_total", "counter", "Values fetched from the owning peer."},
       &GroupStats::peer_loads},
      {{"groupcache_peer_errors_total", "counter", "Peer fetches that failed and fell back."},
       &GroupStats::peer_errors},
      {{"groupcache_server_requests_total", "counter", "Requests served to other peers."},
       &GroupStats::server_requests},
  };
  for (const auto& [f, field] : group_counters) {
    family(f);
    for (const Row& r : rows) sample(f.name, "group=\"" + Escape(r.group) + "\"", r.stats.*field);
  }
  const std::pair<Family, int64_t CacheStats::*> cache_values[] = {
      {{"groupcache_cache_bytes", "gauge", "Bytes in the cache (keys + values)."},
       &CacheStats::bytes},
      {{"groupcache_cache_items", "gauge", "Entries in the cache."}, &CacheStats::items},
      {{"groupcache_cache_evictions_total", "counter", "Entries evicted for space."},
       &CacheStats::evictions},
  };
  for (const auto& [f, field] : cache_values) {
    family(f);
    for (const Row& r : rows) {
      std::string g = "group=\"" + Escape(r.group) + "\",cache=";
      sample(f.name, g + "\"main\"", r.main.*field);
      sample(f.name, g + "\"hot\"", r.hot.*field);
    }
  }
  out += extra;
  return out;
}

}  // namespace groupcache
