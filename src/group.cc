#include "groupcache/group.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cache.h"
#include "log_limiter.h"
#include "picker_slot.h"
#include "reported_counter.h"
#include "single_flight.h"

namespace groupcache {
namespace internal {

// The hit path bumps no counter of its own: the shard it locks anyway
// counts every lookup and hit (cache.h), and gets / cache_hits are derived
// from those (see Group::Stats). Two atomic increments per hit on lines
// shared by every thread were a third of the cost of a warm Get. What is
// counted here happens only on misses, where an atomic is cheap next to a
// load.
class GroupCounters {
 public:
  // Lookups that are not a Get of their own: the second look of a load's
  // leader, and a peer request's cache-only look that missed (the request
  // then becomes a Get).
  std::atomic<int64_t> extra_lookups{0};
  std::atomic<int64_t> peer_loads{0};
  std::atomic<int64_t> peer_errors{0};
  std::atomic<int64_t> loads{0};
  std::atomic<int64_t> loads_deduped{0};
  std::atomic<int64_t> local_loads{0};
  std::atomic<int64_t> local_load_errs{0};
  std::atomic<int64_t> server_requests{0};
  std::atomic<int64_t> ring_disagreements{0};
  // A disagreement that lasts (nodes configured differently) would
  // otherwise log once per key.
  LogLimiter disagreement_log{std::chrono::seconds(10)};
  std::atomic<int64_t> max_peer_latency_ms{0};
  ReportedCounter reported_gets;  // see Group::Stats
  Histogram peer_fetch;
  Histogram local_load;
  std::array<Histogram, Group::kSources> client_get;
};

// What a Set call is: two Sets of one key share a flight only when they
// would write the same thing.
struct SetTag {
  std::string_view value;
  Time expire;
  bool hot_cache;
  friend bool operator==(const SetTag&, const SetTag&) = default;
};

// Loads that run here and fetches from an owner have a flight each: a
// load here must never wait on a fetch, which may be waiting on this very
// process (see the peer protocol's note in group.h). A fetch whose owner
// failed falls back to the load flight, joining a load of the key running
// here or finding the one that finished meanwhile, so the getter still
// runs once.
struct GroupFlights {
  SingleFlight<ByteView> load;
  SingleFlight<ByteView> fetch;
  SingleFlight<bool, SetTag> set;
  SingleFlight<bool> remove;
};

}  // namespace internal

namespace {

int64_t Bump(std::atomic<int64_t>& c) { return c.fetch_add(1, std::memory_order_relaxed); }

// The sink handed to getters: it keeps the view so the group can cache it
// and give it to every waiter.
class CaptureSink final : public Sink {
 public:
  const ByteView& view() const { return view_; }

 private:
  Status Store(const ByteView& value) override {
    view_ = value;
    return {};
  }
  ByteView view_;
};

// Runs fn(i) for i in [0, n) on up to kMaxFanout threads and waits for all.
template <typename Fn>
void ParallelFor(size_t n, Fn fn) {
  constexpr size_t kMaxFanout = 8;
  if (n == 0) return;
  if (n == 1) {
    fn(0);
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
  };
  std::vector<std::jthread> threads;
  size_t extra = std::min(n, kMaxFanout) - 1;
  threads.reserve(extra);
  for (size_t t = 0; t < extra; ++t) threads.emplace_back(worker);
  worker();
}

// The peers a cluster-wide write could not reach: the first one's code and
// "url: status" per peer.
struct PeerFailures {
  StatusCode first_code = StatusCode::kOk;
  std::vector<std::string> lines;

  void Record(const PeerClient& peer, const Status& s) {
    if (first_code == StatusCode::kOk) first_code = s.code();
    lines.push_back(peer.url() + ": " + s.ToString());
  }
  std::string Joined() const {
    std::string out;
    for (const std::string& line : lines) out += (out.empty() ? "" : "; ") + line;
    return out;
  }
};

// Tells every peer of `picker` but `skip` to drop `key` of `group`, in
// parallel, and records those that fail (Remove's and SetEverywhere's
// fan-out).
void RemoveFromPeersBut(const Context& ctx, const std::string& group, PeerPicker* picker,
                        const std::shared_ptr<PeerClient>& skip, std::string_view key,
                        PeerFailures* failures) {
  if (picker == nullptr) return;
  std::vector<std::shared_ptr<PeerClient>> others;
  for (auto& p : picker->GetAll()) {
    if (p != skip) others.push_back(std::move(p));
  }
  std::vector<Status> results(others.size());
  // On threads of their own: a PeerClient (an interface applications may
  // implement) that throws must fail its peer, not std::terminate.
  ParallelFor(others.size(), [&](size_t i) {
    try {
      results[i] = others[i]->Remove(ctx, group, key);
    } catch (const std::exception& e) {
      results[i] = InternalError(std::string("Remove threw: ") + e.what());
    } catch (...) {
      results[i] = InternalError("Remove threw a non-standard exception");
    }
  });
  for (size_t i = 0; i < others.size(); ++i) {
    if (!results[i].ok()) failures->Record(*others[i], results[i]);
  }
}

// Where a cache hit was, as GetAsync reports it.
Group::Source HitSource(CacheType which) {
  return which == CacheType::kMain ? Group::Source::kHit : Group::Source::kHot;
}

}  // namespace

Group::Group(GroupOptions options, std::shared_ptr<internal::PickerSlot> peers,
             std::shared_ptr<Logger> logger)
    : name_(std::move(options.name)),
      getter_(std::move(options.getter)),
      getter_never_blocks_(options.getter_never_blocks),
      peers_(std::move(peers)),
      logger_(std::move(logger)),
      cache_(std::make_unique<internal::Cache>(options.cache_bytes, options.cache_shards,
                                               options.eviction)),
      counters_(std::make_unique<internal::GroupCounters>()),
      flights_(std::make_unique<internal::GroupFlights>()) {}

Group::~Group() = default;

Status Group::Get(const Context& ctx, std::string_view key, Sink& dest) {
  if (dest.StoresInPlace()) {
    Status stored;
    if (cache_->Visit(key, [&](const ByteView& v, CacheType) { stored = dest.SetView(v); })) {
      return stored;
    }
  } else if (ByteView value; cache_->Lookup(key, &value)) {
    return dest.SetView(value);
  }
  Result<ByteView> loaded = Load(ctx, key, OwnerOf(key));
  if (!loaded.ok()) return loaded.status();
  return dest.SetView(*loaded);
}

Result<ByteView> Group::Get(const Context& ctx, std::string_view key) {
  ByteView value;
  ByteViewSink sink(&value);
  Status s = Get(ctx, key, sink);
  if (!s.ok()) return s;
  return value;
}

std::shared_ptr<PeerClient> Group::OwnerOf(std::string_view key) const {
  std::shared_ptr<PeerPicker> picker = peers_->Get();
  return picker ? picker->PickPeer(key) : nullptr;
}

Result<ByteView> Group::Load(const Context& ctx, std::string_view key,
                             std::shared_ptr<PeerClient> owner) {
  Bump(counters_->loads);
  if (owner == nullptr) {
    return flights_->load.Do(ctx, key, [&](const Context& c) -> Result<ByteView> {
      internal::CacheFill fill = cache_->BeginFill(key);
      if (ByteView cached; SecondLook(key, &cached)) return cached;
      return LoadLocally(c, key, fill);
    });
  }
  return flights_->fetch.Do(ctx, key, [&](const Context& c) -> Result<ByteView> {
    internal::CacheFill fill = cache_->BeginFill(key);
    if (ByteView cached; SecondLook(key, &cached)) return cached;
    Clock::time_point start = Clock::now();
    Result<ByteView> fetched = owner->Fetch(c, name_, key);
    RecordPeerLatency(Clock::now() - start);
    if (auto answer = AfterPeerFetch(c, *owner, std::move(fetched), key, fill)) return *answer;
    // The owner failed: load here, as one with any load of the key here.
    return flights_->load.Do(c, key, [&](const Context& c2) -> Result<ByteView> {
      internal::CacheFill fill2 = cache_->BeginFill(key);
      if (ByteView cached; LookAgain(key, &cached)) return cached;
      return LoadLocally(c2, key, fill2);
    });
  });
}

bool Group::SecondLook(std::string_view key, ByteView* cached) {
  // Two callers can miss the cache, then enter the flight one after the
  // other rather than together: the first one's load has finished and
  // been cached by the time the second becomes leader. Without this
  // second look the second would load the same key again.
  if (LookAgain(key, cached)) return true;
  Bump(counters_->loads_deduped);
  return false;
}

bool Group::LookAgain(std::string_view key, ByteView* cached) {
  Bump(counters_->extra_lookups);
  return cache_->Lookup(key, cached);
}

std::optional<Result<ByteView>> Group::AfterPeerFetch(const Context& ctx, const PeerClient& peer,
                                                      Result<ByteView> fetched,
                                                      std::string_view key,
                                                      const internal::CacheFill& fill) {
  if (fetched.ok() && fetched->Expired()) {
    // The owner's copy expired in flight (or clocks disagree); a stale
    // value must not be served or mirrored, so treat it as a failure.
    fetched = UnavailableError("peer returned an already expired value");
  }
  if (fetched.ok()) {
    Bump(counters_->peer_loads);
    cache_->AddLoaded(fill, CacheType::kHot, key, *fetched);
    return fetched;
  }
  Status err = fetched.status();
  if (err.code() == StatusCode::kNotFound || err.code() == StatusCode::kLoadFailed ||
      err.code() == StatusCode::kInvalidArgument) {
    return Result<ByteView>(err);  // the owner's answer, not a transport failure
  }
  if (ctx.Done()) return Result<ByteView>(ctx.Err());
  Bump(counters_->peer_errors);
  if (logger_->Enabled(LogLevel::kWarn)) {
    logger_->Warn("peer fetch failed; loading locally",
                  {{"group", name_}, {"peer", peer.url()}, {"error", err.ToString()}});
  }
  return std::nullopt;
}

void Group::GetForPeerAsync(const Context& ctx, std::string_view key, const LocalRunner& run_local,
                            std::function<void(const Result<ByteView>&)> done,
                            Forwarded forwarded) {
  Bump(counters_->server_requests);
  ByteView value;
  if (cache_->Lookup(key, &value)) {
    done(value);
    return;
  }
  LoadAsync(ctx, key, OwnerToAsk(key, forwarded), run_local, std::move(done));
}

std::string_view Group::SourceName(Source source) {
  switch (source) {
    case Source::kHit: return "hit";
    case Source::kHot: return "hot";
    case Source::kPeer: return "peer";
    case Source::kLoad: return "load";
  }
  return "load";
}

void Group::GetAsync(const Context& ctx, std::string_view key, const LocalRunner& run_local,
                     std::function<void(const Result<ByteView>&, Source)> done) {
  ByteView value;
  CacheType which = CacheType::kMain;
  if (cache_->Lookup(key, &value, &which)) {
    done(value, HitSource(which));
    return;
  }
  std::shared_ptr<PeerClient> owner = OwnerOf(key);
  Source source = owner != nullptr ? Source::kPeer : Source::kLoad;
  LoadAsync(ctx, key, std::move(owner), run_local,
            [done = std::move(done), source](const Result<ByteView>& v) { done(v, source); });
}

void Group::LoadAsync(const Context& ctx, std::string_view key, std::shared_ptr<PeerClient> owner,
                      const LocalRunner& run_local,
                      std::function<void(const Result<ByteView>&)> done) {
  Bump(counters_->loads);
  using Finisher = internal::SingleFlight<ByteView>::Finisher;
  // The same steps as Load, with the waits turned into callbacks; each step
  // holds the group, which a transport may drop while the load runs.
  // The steps below are copied from callback to callback, and a copy of a
  // LocalRunner allocates: they share one copy, or none when the getter
  // never blocks (and runs here, not on the runner).
  std::shared_ptr<const LocalRunner> runner =
      getter_never_blocks_ ? nullptr : std::make_shared<const LocalRunner>(run_local);
  // Each step's claim on the key (cache.h) goes along with it, shared.
  using Fill = std::shared_ptr<const internal::CacheFill>;
  auto begin_fill = [](Group& g, std::string_view k) {
    return std::make_shared<const internal::CacheFill>(g.cache_->BeginFill(k));
  };
  auto load_here = [runner](const std::shared_ptr<Group>& self, const Context& c,
                            std::string_view k, const Finisher& finish, const Fill& fill) {
    if (runner == nullptr) {
      finish(self->LoadLocally(c, k, *fill));
      return;
    }
    bool taken = (*runner)(
        [self, c, k = std::string(k), finish, fill] { finish(self->LoadLocally(c, k, *fill)); });
    if (!taken) finish(UnavailableError("no worker free to load on: overloaded"));
  };
  if (owner == nullptr) {
    auto start = [self = shared_from_this(), load_here, begin_fill](
                     const Context& c, std::string_view k, const Finisher& finish) {
      Fill fill = begin_fill(*self, k);
      if (ByteView cached; self->SecondLook(k, &cached)) {
        finish(cached);
        return;
      }
      load_here(self, c, k, finish, fill);
    };
    flights_->load.DoAsync(ctx, key, start, std::move(done), shared_from_this());
    return;
  }
  // The owner failed: load here, as one with any load of the key here.
  auto fall_back = [load_here, begin_fill](const std::shared_ptr<Group>& self, const Context& c,
                                           std::string_view k, const Finisher& finish) {
    self->flights_->load.DoAsync(
        c, k,
        [self, load_here, begin_fill](const Context& c2, std::string_view k2, const Finisher& f2) {
          Fill fill = begin_fill(*self, k2);
          if (ByteView cached; self->LookAgain(k2, &cached)) {
            f2(cached);
            return;
          }
          load_here(self, c2, k2, f2, fill);
        },
        [finish](const Result<ByteView>& v) { finish(v); }, self);
  };
  auto start = [self = shared_from_this(), owner = std::move(owner), fall_back, begin_fill](
                   const Context& c, std::string_view k, const Finisher& finish) {
    Fill fill = begin_fill(*self, k);
    if (ByteView cached; self->SecondLook(k, &cached)) {
      finish(cached);
      return;
    }
    Clock::time_point began = Clock::now();
    owner->FetchAsync(
        c, self->name_, k,
        [self, c, k = std::string(k), owner, began, fall_back, finish,
         fill = std::move(fill)](Result<ByteView> fetched) {
          self->RecordPeerLatency(Clock::now() - began);
          if (auto answer = self->AfterPeerFetch(c, *owner, std::move(fetched), k, *fill)) {
            finish(std::move(*answer));
          } else {
            fall_back(self, c, k, finish);
          }
        });
  };
  flights_->fetch.DoAsync(ctx, key, start, std::move(done), shared_from_this());
}

Result<ByteView> Group::LoadLocally(const Context& ctx, std::string_view key,
                                    const internal::CacheFill& fill) {
  CaptureSink sink;
  Status st;
  const Clock::time_point start = Clock::now();
  try {
    st = getter_(ctx, key, sink);
  } catch (const std::exception& e) {
    st = InternalError(std::string("getter threw: ") + e.what());
  } catch (...) {
    st = InternalError("getter threw a non-standard exception");
  }
  counters_->local_load.Observe(Clock::now() - start);
  if (st.ok() && sink.fill_attempts() > 1) {
    st = InternalError("getter filled its sink " + std::to_string(sink.fill_attempts()) +
                       " times; a getter must fill it exactly once");
  } else if (st.ok() && !sink.filled()) {
    st = InternalError("getter returned OK without filling its sink");
  }
  if (!st.ok()) {
    Bump(counters_->local_load_errs);
    return st;
  }
  Bump(counters_->local_loads);
  const ByteView& value = sink.view();
  // An already expired value still answers the callers of this load (it is
  // what the getter said), but is not cached.
  if (!value.Expired()) cache_->AddLoaded(fill, CacheType::kMain, key, value);
  return value;
}

void Group::StoreHere(CacheType which, std::string_view key, const ByteView& value) {
  cache_->Add(which, key, value);
  flights_->load.Forget(key);
  flights_->fetch.Forget(key);
}

void Group::DropHere(std::string_view key) {
  cache_->Remove(key);
  flights_->load.Forget(key);
  flights_->fetch.Forget(key);
}

void Group::RecordPeerLatency(Clock::duration elapsed) {
  counters_->peer_fetch.Observe(elapsed);
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  int64_t seen = counters_->max_peer_latency_ms.load(std::memory_order_relaxed);
  while (ms > seen && !counters_->max_peer_latency_ms.compare_exchange_weak(
                          seen, ms, std::memory_order_relaxed)) {
  }
}

Status Group::Set(const Context& ctx, std::string_view key, std::string_view value, Time expire,
                  bool hot_cache) {
  if (key.empty()) return InvalidArgumentError("Set: empty key");
  internal::SetTag tag{value, expire, hot_cache};
  Result<bool> r = flights_->set.Do(
      ctx, key,
      [&](const Context& c) -> Result<bool> {
        ByteView v = ByteView::Copy(value, expire);
        std::shared_ptr<PeerPicker> picker = peers_->Get();
        std::shared_ptr<PeerClient> peer = picker ? picker->PickPeer(key) : nullptr;
        if (peer == nullptr) {
          StoreHere(CacheType::kMain, key, v);
          return true;
        }
        Status s = peer->Set(c, name_, key, v);
        if (!s.ok()) return s;
        // A write here either way: a fetch of the key under way must not
        // mirror the owner's older answer, nor may an older mirror stay.
        if (hot_cache) {
          StoreHere(CacheType::kHot, key, v);
        } else {
          DropHere(key);
        }
        return true;
      },
      tag);
  return r.status();
}

Status Group::SetEverywhere(const Context& ctx, std::string_view key, std::string_view value,
                            Time expire) {
  if (Status s = Set(ctx, key, value, expire); !s.ok()) return s;
  std::shared_ptr<PeerPicker> picker = peers_->Get();
  if (!picker) return {};
  std::shared_ptr<PeerClient> owner = picker->PickPeer(key);
  // Other peers mirror the owner's keys in their hot caches, whoever the
  // owner is (this process's own copy Set has dropped already).
  PeerFailures failures;
  RemoveFromPeersBut(ctx, name_, picker.get(), owner, key, &failures);
  if (failures.lines.empty()) return {};
  return Status(failures.first_code,
                "set on the owner, but stale copies may remain on: " + failures.Joined());
}

Status Group::Remove(const Context& ctx, std::string_view key) {
  Result<bool> r = flights_->remove.Do(ctx, key, [&](const Context& c) -> Result<bool> {
    std::shared_ptr<PeerPicker> picker = peers_->Get();
    std::shared_ptr<PeerClient> owner = picker ? picker->PickPeer(key) : nullptr;
    PeerFailures failures;

    // The owner first: once it has forgotten the key, a peer that misses
    // after we clear its hot copy cannot fetch the old value back from it.
    if (owner != nullptr) {
      Status s = owner->Remove(c, name_, key);
      if (!s.ok()) failures.Record(*owner, s);
    }
    DropHere(key);
    RemoveFromPeersBut(c, name_, picker.get(), owner, key, &failures);
    if (failures.lines.empty()) return true;
    return Status(failures.first_code, "Remove failed on " + std::to_string(failures.lines.size()) +
                                           " peer(s): " + failures.Joined());
  });
  return r.status();
}

GroupStats Group::Stats() const {
  const auto& c = *counters_;
  auto load = [](const std::atomic<int64_t>& a) { return a.load(std::memory_order_relaxed); };
  GroupStats s;
  CacheStats main = cache_->Stats(CacheType::kMain);
  CacheStats hot = cache_->Stats(CacheType::kHot);
  // Every lookup consults main first, so main.gets counts them all. A
  // look-again is counted before its lookup, and read here after main: the
  // difference is never above the true count, and is reported never below
  // the last one (reported_counter.h).
  s.gets = c.reported_gets.Report(main.gets - load(c.extra_lookups));
  s.cache_hits = main.hits + hot.hits;
  s.peer_loads = load(c.peer_loads);
  s.peer_errors = load(c.peer_errors);
  s.loads = load(c.loads);
  s.loads_deduped = load(c.loads_deduped);
  s.local_loads = load(c.local_loads);
  s.local_load_errs = load(c.local_load_errs);
  s.server_requests = load(c.server_requests);
  s.ring_disagreements = load(c.ring_disagreements);
  s.max_peer_latency_ms = load(c.max_peer_latency_ms);
  return s;
}

CacheStats Group::GetCacheStats(CacheType which) const { return cache_->Stats(which); }

Group::Latencies Group::GetLatencies() const {
  Latencies out;
  out.peer_fetch = counters_->peer_fetch.Snapshot();
  out.local_load = counters_->local_load.Snapshot();
  for (size_t i = 0; i < kSources; ++i) out.client_get[i] = counters_->client_get[i].Snapshot();
  return out;
}

void Group::ObserveClientGet(Source source, Clock::duration elapsed) {
  counters_->client_get[static_cast<size_t>(source)].Observe(elapsed);
}

bool Group::LookupForClient(std::string_view key, ByteView* out, Source* source) {
  CacheType which = CacheType::kMain;
  if (!cache_->Lookup(key, out, &which)) {
    Bump(counters_->extra_lookups);  // GetAsync will look (and count) again
    return false;
  }
  *source = HitSource(which);
  return true;
}

bool Group::LookupForPeer(std::string_view key, ByteView* out) {
  if (!cache_->Lookup(key, out)) {
    Bump(counters_->extra_lookups);  // GetForPeer will look (and count) again
    return false;
  }
  Bump(counters_->server_requests);
  return true;
}

Result<ByteView> Group::GetForPeer(const Context& ctx, std::string_view key, Forwarded forwarded) {
  Bump(counters_->server_requests);
  if (ByteView value; cache_->Lookup(key, &value)) return value;
  return Load(ctx, key, OwnerToAsk(key, forwarded));
}

std::shared_ptr<PeerClient> Group::OwnerToAsk(std::string_view key, Forwarded forwarded) {
  std::shared_ptr<PeerClient> owner = OwnerOf(key);
  if (forwarded == Forwarded::kNo || owner == nullptr) return owner;
  Bump(counters_->ring_disagreements);
  int64_t suppressed = 0;
  if (logger_->Enabled(LogLevel::kWarn) &&
      counters_->disagreement_log.Allow(Clock::now(), &suppressed)) {
    logger_->Warn(
        "a peer fetched a key that this node's ring gives to another node: the rings disagree "
        "(a membership change under way, or nodes started with different peers, --self, "
        "--hash or --replicas); loading it here",
        {{"group", name_},
         {"key", key},
         {"owner_here", owner->url()},
         {"disagreements",
          std::to_string(counters_->ring_disagreements.load(std::memory_order_relaxed))},
         {"suppressed", std::to_string(suppressed)}});
  }
  return nullptr;  // served here all the same
}

void Group::SetFromPeer(std::string_view key, const ByteView& value) {
  StoreHere(CacheType::kMain, key, value);
}

void Group::RemoveFromPeer(std::string_view key) { DropHere(key); }

}  // namespace groupcache
