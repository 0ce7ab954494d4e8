// fill_once: a group filling itself once under concurrent callers.
//
// 32 threads read a key space of 200 keys with a skewed (Zipf-like)
// distribution; the getter is slow (20 ms) and counts its calls. The output
// shows that each key was loaded once however many callers wanted it at the
// same time, and what the cache's hit rate and stats were.

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "groupcache/registry.h"

using namespace std::chrono_literals;

int main() {
  constexpr int kThreads = 32;
  constexpr int kReadsPerThread = 2000;
  constexpr int kKeys = 200;

  groupcache::Registry registry(groupcache::RegistryOptions{groupcache::NewNullLogger()});
  std::mutex mu;
  std::map<std::string, int> loads_per_key;
  auto group = registry.NewGroup("squares", 8 << 20,
                                 [&](const groupcache::Context& ctx, std::string_view key,
                                     groupcache::Sink& dest) -> groupcache::Status {
                                   {
                                     std::lock_guard lock(mu);
                                     ++loads_per_key[std::string(key)];
                                   }
                                   std::this_thread::sleep_for(20ms);  // a slow backend
                                   if (ctx.Done()) return ctx.Err();
                                   long n = std::stol(std::string(key.substr(4)));
                                   return dest.SetString(std::to_string(n * n));
                                 });
  if (!group.ok()) {
    std::fprintf(stderr, "%s\n", group.status().ToString().c_str());
    return 1;
  }

  // Zipf-ish weights: key i has weight 1/(i+1).
  std::vector<double> weights(kKeys);
  for (int i = 0; i < kKeys; ++i) weights[i] = 1.0 / (i + 1);

  std::atomic<int> errors{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::discrete_distribution<int> pick(weights.begin(), weights.end());
      for (int i = 0; i < kReadsPerThread; ++i) {
        int k = pick(rng);
        std::string value;
        groupcache::StringSink sink(&value);
        auto ctx = groupcache::Context::Background().WithTimeout(5s);
        groupcache::Status s = (*group)->Get(ctx, "num-" + std::to_string(k), sink);
        if (!s.ok() || value != std::to_string(static_cast<long>(k) * k)) ++errors;
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int max_loads = 0;
  for (auto& [key, n] : loads_per_key) max_loads = std::max(max_loads, n);
  groupcache::GroupStats s = (*group)->Stats();
  groupcache::CacheStats main = (*group)->GetCacheStats(groupcache::CacheType::kMain);

  std::printf("== fill_once: %d threads x %d reads over %d keys (getter takes 20 ms) ==\n",
              kThreads, kReadsPerThread, kKeys);
  std::printf("reads                 %lld in %.2f s, errors %d\n", static_cast<long long>(s.gets),
              secs, errors.load());
  std::printf("distinct keys loaded  %zu, getter calls %lld, max loads of one key %d\n",
              loads_per_key.size(), static_cast<long long>(s.local_loads), max_loads);
  std::printf("hit rate              %.2f%% (%lld cache hits)\n",
              100.0 * static_cast<double>(s.cache_hits) / static_cast<double>(s.gets),
              static_cast<long long>(s.cache_hits));
  std::printf(
      "loads entered         %lld, run after single-flight %lld (%lld shared another's load or "
      "found it cached)\n",
      static_cast<long long>(s.loads), static_cast<long long>(s.loads_deduped),
      static_cast<long long>(s.loads - s.loads_deduped));
  std::printf(
      "main cache            %lld items, %lld bytes, %lld gets, %lld hits, %lld evictions\n",
      static_cast<long long>(main.items), static_cast<long long>(main.bytes),
      static_cast<long long>(main.gets), static_cast<long long>(main.hits),
      static_cast<long long>(main.evictions));
  bool ok = errors.load() == 0 && max_loads == 1;
  std::printf("%s\n", ok ? "every key was loaded exactly once" : "UNEXPECTED: see above");
  return ok ? 0 : 1;
}
