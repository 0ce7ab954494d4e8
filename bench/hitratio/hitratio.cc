// hitratio: the hit ratios of the two eviction policies (S3-FIFO and LRU)
// on reproducible synthetic traces, at three cache sizes.
//
//   hitratio [--format csv|markdown] [--csv FILE] [--keys 100000]
//            [--requests 2000000] [--seed 1] [--quick]
//
// Every trace is generated from std::mt19937_64 with a fixed seed and our
// own Zipf sampler (no std:: distribution, whose output the standard leaves
// to the library), so a run gives the same numbers on any machine. Each
// trace is replayed through a fresh internal::Cache per policy and size: a
// Lookup per request, and on a miss an Add of the key with a 100-byte value,
// as a group does after a load. Keys all have the same length, so the byte
// budget is a whole number of entries: capacity * (key + value). The cache
// has one shard, so each policy's order is applied over the whole cache
// (more shards would split it into independent per-shard policies).
//
// Traces over K keys (--keys) and R requests (--requests):
//   zipf-0.8, zipf-1.0, zipf-1.2: R draws from a Zipf law of that exponent
//     over the K keys (rank 0 the hottest).
//   zipf-1.0+scans: the zipf-1.0 draws with, every R/20 of them, a scan of
//     K/5 keys never requested before, each read once; the hit ratio is over
//     all requests, scans included (a scan request can never hit).
//   loop-1.5x: keys 0..N-1 requested in order, over and over, R requests in
//     all, where N is 1.5 times the cache's capacity (so it is another trace
//     at each size); LRU never hits on it.
// Cache sizes: 1%, 5% and 20% of K entries.
//
// Output: CSV (trace,cache_pct,cache_entries,policy,requests,hits,hit_ratio)
// or a markdown table with a row per trace and a column per size and policy;
// --csv FILE also writes the CSV there (one run for a table and a chart).

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cache.h"
#include "groupcache/byte_view.h"
#include "groupcache/group.h"
#include "groupcache/stats.h"

namespace {

using groupcache::ByteView;
using groupcache::CacheType;
using groupcache::Eviction;
using groupcache::internal::Cache;

constexpr size_t kKeyLen = 12;
constexpr size_t kValueLen = 100;
constexpr std::array<int, 3> kCachePercents = {1, 5, 20};

struct Policy {
  Eviction eviction;
  const char* name;
};
constexpr std::array<Policy, 2> kPolicies = {
    {{Eviction::kLru, "LRU"}, {Eviction::kS3Fifo, "S3-FIFO"}}};

// A uniform double in [0, 1) from the top 53 bits, the same on every
// platform (std::uniform_real_distribution is not specified exactly).
double Uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Draws ranks 0..n-1 with P(k) proportional to 1/(k+1)^s, by inverting the
// cumulative distribution (binary search over a precomputed table).
class Zipf {
 public:
  Zipf(uint32_t n, double s) : cdf_(n) {
    double sum = 0;
    for (uint32_t k = 0; k < n; ++k) {
      sum += std::pow(static_cast<double>(k) + 1, -s);
      cdf_[k] = sum;
    }
    for (double& c : cdf_) c /= sum;
  }

  uint32_t Next(std::mt19937_64& rng) const {
    const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), Uniform(rng));
    // u < 1 == cdf_.back() up to rounding; clamp in case the sum's rounding
    // left the last entry a hair below u.
    return static_cast<uint32_t>(std::min<size_t>(it - cdf_.begin(), cdf_.size() - 1));
  }

 private:
  std::vector<double> cdf_;
};

std::vector<uint32_t> ZipfTrace(uint32_t keys, uint64_t requests, double s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const Zipf zipf(keys, s);
  std::vector<uint32_t> trace(requests);
  for (uint32_t& id : trace) id = zipf.Next(rng);
  return trace;
}

// `base` with, every `every` requests, `scan` fresh keys (ids from `keys`
// up, never repeated) read once each.
std::vector<uint32_t> WithScans(const std::vector<uint32_t>& base, uint32_t keys, uint64_t every,
                                uint32_t scan) {
  std::vector<uint32_t> trace;
  trace.reserve(base.size() + (base.size() / every) * scan);
  uint32_t next_fresh = keys;
  for (size_t i = 0; i < base.size(); ++i) {
    if (i > 0 && i % every == 0) {
      for (uint32_t j = 0; j < scan; ++j) trace.push_back(next_fresh++);
    }
    trace.push_back(base[i]);
  }
  return trace;
}

std::vector<uint32_t> LoopTrace(uint32_t length, uint64_t requests) {
  std::vector<uint32_t> trace(requests);
  for (uint64_t i = 0; i < requests; ++i) trace[i] = static_cast<uint32_t>(i % length);
  return trace;
}

// Fixed-width decimal, so every key is kKeyLen bytes.
std::string_view KeyOf(uint32_t id, std::array<char, kKeyLen>& buf) {
  buf.fill('0');
  std::array<char, kKeyLen> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), id);
  (void)ec;  // a uint32_t has at most 10 digits
  const auto n = static_cast<size_t>(end - digits.data());
  std::copy(digits.data(), end, buf.data() + (kKeyLen - n));
  return {buf.data(), buf.size()};
}

// The hits of one trace through a fresh cache of `entries` entries.
int64_t Replay(const std::vector<uint32_t>& trace, int64_t entries, Eviction eviction) {
  Cache cache(entries * static_cast<int64_t>(kKeyLen + kValueLen), /*shards=*/1, eviction);
  const ByteView value = ByteView::Copy(std::string(kValueLen, 'v'));
  std::array<char, kKeyLen> buf{};
  ByteView out;
  int64_t hits = 0;
  for (uint32_t id : trace) {
    const std::string_view key = KeyOf(id, buf);
    if (cache.Lookup(key, &out)) {
      ++hits;
    } else {
      cache.Add(CacheType::kMain, key, value);
    }
  }
  return hits;
}

struct Result {
  std::string trace;
  int pct;
  int64_t entries;
  const char* policy;
  int64_t requests;
  int64_t hits;
  double ratio() const { return static_cast<double>(hits) / static_cast<double>(requests); }
};

void PrintCsv(const std::vector<Result>& results, std::FILE* out) {
  std::fprintf(out, "trace,cache_pct,cache_entries,policy,requests,hits,hit_ratio\n");
  for (const Result& r : results) {
    std::fprintf(out, "%s,%d,%lld,%s,%lld,%lld,%.4f\n", r.trace.c_str(), r.pct,
                 static_cast<long long>(r.entries), r.policy, static_cast<long long>(r.requests),
                 static_cast<long long>(r.hits), r.ratio());
  }
}

// Results come in trace-major, then size, then policy order.
void PrintMarkdown(const std::vector<Result>& results) {
  std::printf("| hit ratio |");
  for (int pct : kCachePercents) {
    for (const Policy& p : kPolicies) std::printf(" %d%% %s |", pct, p.name);
  }
  std::printf("\n|---|");
  for (size_t i = 0; i < kCachePercents.size() * kPolicies.size(); ++i) std::printf("---:|");
  std::printf("\n");
  const size_t per_trace = kCachePercents.size() * kPolicies.size();
  for (size_t i = 0; i < results.size(); i += per_trace) {
    std::printf("| %s |", results[i].trace.c_str());
    for (size_t j = i; j < i + per_trace; ++j) std::printf(" %.3f |", results[j].ratio());
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Hit ratios of the S3-FIFO and LRU eviction policies on synthetic traces"};
  std::string format = "csv";
  std::string csv_path;
  uint32_t keys = 100'000;
  uint64_t requests = 2'000'000;
  uint64_t seed = 1;
  bool quick = false;
  app.add_option("--format", format, "csv or markdown")
      ->check(CLI::IsMember({"csv", "markdown"}))
      ->capture_default_str();
  app.add_option("--csv", csv_path, "also write the CSV to this file");
  app.add_option("--keys", keys, "key space of the Zipf traces")
      ->check(CLI::Range(100U, 100'000'000U))
      ->capture_default_str();
  app.add_option("--requests", requests, "requests per trace (before scans)")
      ->check(CLI::Range(uint64_t{20}, uint64_t{1'000'000'000}))
      ->capture_default_str();
  app.add_option("--seed", seed, "base seed of the Zipf traces")->capture_default_str();
  app.add_flag("--quick", quick, "tiny traces (10k keys, 100k requests), for a smoke test");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    keys = 10'000;
    requests = 100'000;
  }

  struct Named {
    std::string name;
    std::vector<uint32_t> trace;  // empty: the loop, made per cache size
  };
  std::vector<Named> traces;
  traces.push_back({"zipf-0.8", ZipfTrace(keys, requests, 0.8, seed)});
  traces.push_back({"zipf-1.0", ZipfTrace(keys, requests, 1.0, seed + 1)});
  traces.push_back({"zipf-1.2", ZipfTrace(keys, requests, 1.2, seed + 2)});
  traces.push_back({"zipf-1.0+scans", WithScans(traces[1].trace, keys, requests / 20, keys / 5)});
  traces.push_back({"loop-1.5x", {}});

  std::vector<Result> results;
  for (const Named& t : traces) {
    for (int pct : kCachePercents) {
      const int64_t entries = static_cast<int64_t>(keys) * pct / 100;
      const std::vector<uint32_t> loop =
          t.trace.empty() ? LoopTrace(static_cast<uint32_t>(entries * 3 / 2), requests)
                          : std::vector<uint32_t>{};
      const std::vector<uint32_t>& trace = t.trace.empty() ? loop : t.trace;
      for (const Policy& p : kPolicies) {
        results.push_back({t.name, pct, entries, p.name, static_cast<int64_t>(trace.size()),
                           Replay(trace, entries, p.eviction)});
      }
    }
  }

  // Until S3-FIFO is implemented, the Eviction argument is ignored and both
  // columns are LRU; say so rather than print a comparison of nothing.
  bool identical = true;
  for (size_t i = 0; i + 1 < results.size(); i += kPolicies.size()) {
    identical = identical && results[i].hits == results[i + 1].hits;
  }
  if (identical) {
    std::fprintf(stderr,
                 "hitratio: warning: both policies gave the same hits on every trace; "
                 "does this build implement S3-FIFO?\n");
  }

  if (!csv_path.empty()) {
    std::FILE* f = std::fopen(csv_path.c_str(), "w");
    if (f == nullptr) {
      std::fprintf(stderr, "hitratio: cannot write %s\n", csv_path.c_str());
      return 1;
    }
    PrintCsv(results, f);
    if (std::fclose(f) != 0) {
      std::fprintf(stderr, "hitratio: cannot write %s\n", csv_path.c_str());
      return 1;
    }
  }
  if (format == "markdown") {
    PrintMarkdown(results);
  } else {
    PrintCsv(results, stdout);
  }
  return 0;
}
