// RenderPrometheus: the mailgun exporter's names and labels, counters the
// core derives (evictions of values still good), and the histograms.

#include "groupcache/metrics.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>

#include "groupcache/registry.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

// name{labels} -> value, from Prometheus text; and each family's type.
struct Parsed {
  std::map<std::string, std::string> samples;
  std::map<std::string, std::string> types;
};

Parsed Parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream f(line.substr(7));
      std::string name;
      std::string type;
      f >> name >> type;
      p.types[name] = type;
    } else if (!line.empty() && line[0] != '#') {
      size_t space = line.rfind(' ');
      p.samples[line.substr(0, space)] = line.substr(space + 1);
    }
  }
  return p;
}

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest() : registry_(RegistryOptions{NewNullLogger()}) {}
  Registry registry_;
};

TEST_F(MetricsTest, NamesAndLabelsAreThoseOfTheMailgunExporter) {
  auto g = registry_.NewGroup("g", 1 << 20, [](const Context&, std::string_view key, Sink& dest) {
    if (key == "bad") return NotFoundError("no");
    return dest.SetString("v");
  });
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Get(Context::Background(), "a").ok());
  ASSERT_TRUE((*g)->Get(Context::Background(), "a").ok());
  ASSERT_FALSE((*g)->Get(Context::Background(), "bad").ok());
  Parsed p = Parse(RenderPrometheus(registry_));

  const std::map<std::string, std::string> group_values = {
      {"groupcache_gets_total", "3"},
      {"groupcache_hits_total", "1"},
      {"groupcache_peer_loads_total", "0"},
      {"groupcache_peer_errors_total", "0"},
      {"groupcache_loads_total", "2"},
      {"groupcache_loads_deduped_total", "2"},
      {"groupcache_local_loads_total", "1"},
      {"groupcache_local_load_errs_total", "1"},
      {"groupcache_server_requests_total", "0"},
      {"groupcache_ring_disagreements_total", "0"},
      {"groupcache_get_from_peers_latency_lower", "0"},
  };
  for (const auto& [name, value] : group_values) {
    EXPECT_EQ(p.samples[name + "{group=\"g\"}"], value) << name;
    EXPECT_EQ(p.types[name], name.ends_with("_total") ? "counter" : "gauge") << name;
  }
  for (const char* name :
       {"groupcache_cache_bytes", "groupcache_cache_items", "groupcache_cache_gets_total",
        "groupcache_cache_hits_total", "groupcache_cache_evictions_total",
        "groupcache_cache_evictions_nonexpired_total"}) {
    for (const char* type : {"main", "hot"}) {
      std::string sample = std::string(name) + "{group=\"g\",type=\"" + type + "\"}";
      EXPECT_EQ(p.samples.count(sample), 1U) << sample;
    }
  }
  EXPECT_EQ(p.samples["groupcache_cache_items{group=\"g\",type=\"main\"}"], "1");
  EXPECT_EQ(p.samples["groupcache_cache_hits_total{group=\"g\",type=\"main\"}"], "1");
  EXPECT_EQ(p.samples["groupcache_cache_hits_total{group=\"g\",type=\"hot\"}"], "0");
  // The old names are gone.
  EXPECT_EQ(p.types.count("groupcache_local_load_errors_total"), 0U);
}

TEST_F(MetricsTest, EvictionsOfValuesStillGoodAreCountedApart) {
  // One shard of 100 bytes; every entry takes 41 (a 1-byte key), so each
  // insert past the second evicts the oldest.
  auto g = registry_.NewGroup("g", 100, [](const Context&, std::string_view, Sink& dest) {
    return dest.SetString(std::string(40, 'x'));
  });
  ASSERT_TRUE(g.ok());
  // Set (with no peers) caches even a value already expired, as a value
  // that expired while cached would be.
  ASSERT_TRUE((*g)->Set(Context::Background(), "e", std::string(40, 'x'),
                        WallClock::now() - std::chrono::hours(1))
                  .ok());
  ASSERT_TRUE((*g)->Get(Context::Background(), "a").ok());
  ASSERT_TRUE((*g)->Get(Context::Background(), "b").ok());  // evicts "e": expired
  ASSERT_TRUE((*g)->Get(Context::Background(), "c").ok());  // evicts "a": still good
  CacheStats main = (*g)->GetCacheStats(CacheType::kMain);
  EXPECT_EQ(main.evictions, 2);
  EXPECT_EQ(main.evictions_nonexpired, 1);
  Parsed p = Parse(RenderPrometheus(registry_));
  EXPECT_EQ(p.samples["groupcache_cache_evictions_total{group=\"g\",type=\"main\"}"], "2");
  EXPECT_EQ(p.samples["groupcache_cache_evictions_nonexpired_total{group=\"g\",type=\"main\"}"],
            "1");
}

TEST_F(MetricsTest, HistogramsHaveCumulativeBucketsSumAndCount) {
  auto g = registry_.NewGroup("g", 1 << 20, [](const Context&, std::string_view, Sink& dest) {
    return dest.SetString("v");
  });
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->Get(Context::Background(), "a").ok());  // one getter call
  (*g)->ObserveClientGet(Group::Source::kHit, 2ms);
  (*g)->ObserveClientGet(Group::Source::kHit, 20ms);
  Parsed p = Parse(RenderPrometheus(registry_));
  EXPECT_EQ(p.types["groupcache_client_get_duration_seconds"], "histogram");
  const std::string hit =
      "groupcache_client_get_duration_seconds_bucket{group=\"g\",source=\"hit\",";
  EXPECT_EQ(p.samples[hit + "le=\"0.001\"}"], "0");
  EXPECT_EQ(p.samples[hit + "le=\"0.0025\"}"], "1");
  EXPECT_EQ(p.samples[hit + "le=\"0.025\"}"], "2");
  EXPECT_EQ(p.samples[hit + "le=\"+Inf\"}"], "2");
  EXPECT_EQ(p.samples["groupcache_client_get_duration_seconds_count{group=\"g\",source=\"hit\"}"],
            "2");
  EXPECT_EQ(p.samples["groupcache_client_get_duration_seconds_sum{group=\"g\",source=\"hit\"}"],
            "0.022");
  EXPECT_EQ(p.samples["groupcache_client_get_duration_seconds_count{group=\"g\",source=\"peer\"}"],
            "0");
  EXPECT_EQ(p.samples["groupcache_local_load_duration_seconds_count{group=\"g\"}"], "1");
  EXPECT_EQ(p.samples["groupcache_peer_fetch_duration_seconds_count{group=\"g\"}"], "0");
}

}  // namespace
}  // namespace groupcache
