// Micro-benchmarks of the core: warm-key Get (1 and 2 threads), miss +
// load, LRU add/get, ring lookup. Compared with Go by scripts/bench-core.

#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cache.h"
#include "groupcache/hash_ring.h"
#include "groupcache/registry.h"
#include "lru.h"

namespace groupcache {
namespace {

Getter ValueGetter(size_t size) {
  return [size](const Context&, std::string_view key, Sink& dest) {
    std::string v(size, 'x');
    v.replace(0, std::min(size, key.size()), key.substr(0, size));
    return dest.SetString(std::move(v));
  };
}

// One group shared by the threads of a run, created by thread 0.
struct Shared {
  std::unique_ptr<Registry> registry;
  std::shared_ptr<Group> group;
};
Shared& Fixture() {
  static Shared s;
  return s;
}

// Warm-key Get, as the Go benchmark does: into a fresh std::string per read
// (StringSink: a copy of the value, the caller owns it), or into a fresh
// ByteView (ByteViewSink: shares the cached value, as Go's StringSink shares
// the cached Go string). Each thread reads its own warm key (the "distinct"
// variant), or all read one key.
Shared& WarmFixture(benchmark::State& state) {
  Shared& f = Fixture();
  if (state.thread_index() == 0) {
    f.registry = std::make_unique<Registry>(RegistryOptions{NewNullLogger()});
    f.group = *f.registry->NewGroup("bench", 64 << 20, ValueGetter(64));
    for (int t = 0; t < 8; ++t) (void)f.group->Get({}, "warm-key-" + std::to_string(t));
  }
  return f;
}
void CheckWarm(benchmark::State& state, Shared& f) {
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    if (f.group->Stats().local_loads != 8) state.SkipWithError("the getter ran in the loop");
  }
}
std::string WarmKey(benchmark::State& state, bool same_key) {
  return "warm-key-" + std::to_string(same_key ? 0 : state.thread_index());
}

// Every thread waits at the start of the timed loop for thread 0's setup.
void GetWarm(benchmark::State& state, bool same_key) {
  Shared& f = WarmFixture(state);
  std::string key = WarmKey(state, same_key);
  Context ctx;
  for (auto _ : state) {
    std::string out;  // a fresh string per read, as Go's benchmark does
    StringSink sink(&out);
    Status s = f.group->Get(ctx, key, sink);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data());
  }
  CheckWarm(state, f);
}
void GetWarmView(benchmark::State& state, bool same_key) {
  Shared& f = WarmFixture(state);
  std::string key = WarmKey(state, same_key);
  Context ctx;
  for (auto _ : state) {
    ByteView out;
    ByteViewSink sink(&out);
    Status s = f.group->Get(ctx, key, sink);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out.data());
  }
  CheckWarm(state, f);
}
void BM_GroupGetWarm(benchmark::State& state) { GetWarm(state, false); }
void BM_GroupGetWarmSameKey(benchmark::State& state) { GetWarm(state, true); }
void BM_GroupGetWarmView(benchmark::State& state) { GetWarmView(state, false); }
void BM_GroupGetWarmViewSameKey(benchmark::State& state) { GetWarmView(state, true); }
BENCHMARK(BM_GroupGetWarm)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_GroupGetWarmSameKey)->Threads(2)->UseRealTime();
BENCHMARK(BM_GroupGetWarmView)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_GroupGetWarmViewSameKey)->Threads(2)->UseRealTime();

// The floor under BM_GroupGetWarm: what the caller's fresh string costs
// alone (malloc, a 64-byte copy, free), with no cache at all. No Get that
// hands its caller an owned std::string can run faster than this.
void BM_FreshStringFloor(benchmark::State& state) {
  const std::string value(64, 'x');
  for (auto _ : state) {
    std::string out;
    benchmark::DoNotOptimize(value.data());
    out.assign(value.data(), value.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FreshStringFloor)->UseRealTime();

// A miss that runs the getter: every iteration reads a new key.
void BM_GroupMissAndLoad(benchmark::State& state) {
  Registry registry(RegistryOptions{NewNullLogger()});
  auto group = *registry.NewGroup("bench", 256 << 20, ValueGetter(64));
  uint64_t i = 0;
  std::vector<std::string> keys(1 << 16);
  for (auto& k : keys) k = "miss-" + std::to_string(i++);
  size_t n = 0;
  for (auto _ : state) {
    if (n == keys.size()) {
      state.PauseTiming();
      for (auto& k : keys) k = "miss-" + std::to_string(i++);
      n = 0;
      state.ResumeTiming();
    }
    auto r = group->Get({}, keys[n++]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GroupMissAndLoad);

void BM_LruAdd(benchmark::State& state) {
  internal::Lru lru;
  std::vector<std::string> keys(4096);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = "key-" + std::to_string(i);
  ByteView v = ByteView::Copy(std::string(64, 'v'));
  size_t i = 0;
  for (auto _ : state) {
    lru.Add(keys[i++ & 4095], v);
    if (lru.items() > 2048) lru.RemoveOldest();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LruAdd);

// The writer's side of the reader gates: an Add (which closes its shard's
// gate and waits out the readers inside) in a cache that `range(0)` other
// threads have read from and then left idle, as a server's workers do.
// Each idle reader leaves a record a writer looks at.
void BM_CacheAddWithIdleReaders(benchmark::State& state) {
  internal::Cache cache(64 << 20, 0, Eviction::kS3Fifo);
  cache.Add(CacheType::kMain, "warm", ByteView::Copy("v"));
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> idle;
  for (int64_t t = 0; t < state.range(0); ++t) {
    idle.emplace_back([&] {
      ByteView v;
      (void)cache.Lookup("warm", &v);
      ready.fetch_add(1);
      while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
  while (ready.load() != state.range(0)) std::this_thread::yield();
  const ByteView value = ByteView::Copy(std::string(64, 'x'));
  std::vector<std::string> keys(1 << 16);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = "add-" + std::to_string(i);
  size_t i = 0;
  for (auto _ : state) {
    cache.Add(CacheType::kMain, keys[i++ & (keys.size() - 1)], value);
  }
  state.SetItemsProcessed(state.iterations());
  stop = true;
  for (auto& th : idle) th.join();
}
BENCHMARK(BM_CacheAddWithIdleReaders)->Arg(0)->Arg(8)->Arg(64)->UseRealTime();

void BM_LruGet(benchmark::State& state) {
  internal::Lru lru;
  std::vector<std::string> keys(4096);
  for (size_t i = 0; i < keys.size(); ++i) {
    keys[i] = "key-" + std::to_string(i);
    lru.Add(keys[i], ByteView::Copy("v"));
  }
  size_t i = 0;
  for (auto _ : state) {
    const ByteView* v = lru.Get(keys[i++ & 4095]);
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LruGet);

void RingLookup(benchmark::State& state, RingAlgorithm algorithm) {
  std::vector<std::string> peers;
  for (int i = 0; i < state.range(0); ++i) {
    peers.push_back("http://10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
                    ":8080");
  }
  HashRing ring({.algorithm = algorithm, .replicas = 50, .hash = nullptr}, peers);
  std::vector<std::string> keys(1024);
  for (size_t i = 0; i < keys.size(); ++i) keys[i] = "user:" + std::to_string(i * 7919);
  size_t i = 0;
  for (auto _ : state) {
    std::string_view owner = ring.Get(keys[i++ & 1023]);
    benchmark::DoNotOptimize(owner);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_RingLookupMailgun(benchmark::State& s) { RingLookup(s, RingAlgorithm::kMailgun); }
void BM_RingLookupGolang(benchmark::State& s) { RingLookup(s, RingAlgorithm::kGolang); }
BENCHMARK(BM_RingLookupMailgun)->Arg(3)->Arg(100);
BENCHMARK(BM_RingLookupGolang)->Arg(3)->Arg(100);

}  // namespace
}  // namespace groupcache

// The machine's own scaling: thread-local work with nothing shared, as a
// ceiling for the 2-thread figures above.
namespace groupcache {
namespace {
void BM_ScalingBaseline(benchmark::State& state) {
  std::string s = "warm-key-" + std::to_string(state.thread_index());
  for (auto _ : state) {
    benchmark::DoNotOptimize(s);
    uint64_t h = HashRing::Fnv1_64(s);
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScalingBaseline)->Threads(1)->Threads(2)->UseRealTime();
}  // namespace
}  // namespace groupcache
BENCHMARK_MAIN();
