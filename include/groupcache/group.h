// Group: a named cache namespace with a getter that fills it, spread across
// the peers of a cluster (go: groupcache.Group).
//
// Get serves a key from this process's main or hot cache; on a miss, exactly
// one load runs per key at a time in this process (single-flight), and the
// key's owner on the ring does the work: a remote owner is asked over the
// peer transport (its answer is mirrored in the hot cache), a local owner
// runs the getter (its answer goes to the main cache). Every caller waiting
// on a load gets the same value or the same error. If a remote owner cannot
// be reached the getter runs here instead (unless the caller's context is
// done); if the owner reports NotFound, that its getter failed, or that
// the key is invalid, that answer is returned as is.
//
// Contexts and waiting: a caller waiting on another caller's load leaves as
// soon as its own context is done, with DeadlineExceeded or Cancelled; the
// load goes on for the rest. The caller that starts a load runs the getter
// on its own thread with its own context and returns when the getter does,
// so getters should honour their context. If a load fails only because its
// starter's context ended, the other waiters do not inherit that error: one
// of them starts the load again.
//
// A getter that throws, returns OK without filling its sink, or fills it
// twice, fails the load (Internal) and releases every waiter.
//
// Groups are created by a Registry (registry.h). All methods are
// thread-safe. The getter is never called with a group lock held, and may
// itself call Get on this or another group (loads nest on the caller's
// thread).
//
// Example:
//   auto group = registry.NewGroup("thumbnails", 64 << 20,
//       [](const Context& ctx, std::string_view key, Sink& dest) {
//         return dest.SetString(MakeThumbnail(key));
//       });
//   std::string png;
//   StringSink sink(&png);
//   Status s = (*group)->Get(Context::Background().WithTimeout(1s), "cat.jpg", sink);

#ifndef GROUPCACHE_GROUP_H_
#define GROUPCACHE_GROUP_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "groupcache/byte_view.h"
#include "groupcache/context.h"
#include "groupcache/histogram.h"
#include "groupcache/logger.h"
#include "groupcache/peers.h"
#include "groupcache/sink.h"
#include "groupcache/stats.h"
#include "groupcache/status.h"

namespace groupcache {

namespace internal {
class Cache;
class CacheFill;
class GroupCounters;
class GroupFlights;
class PickerSlot;
}  // namespace internal

// Loads the value of `key` into `dest` (go: Getter). Any callable with this
// signature. Return NotFoundError for a key that does not exist (peers
// answer 404 for it); any other error is a failed load. The context is the
// one of the caller that started the load.
using Getter = std::function<Status(const Context& ctx, std::string_view key, Sink& dest)>;

// How a group's caches choose what to drop when the budget is full.
enum class Eviction {
  // S3-FIFO (Yang et al., SOSP 2023): a small probation FIFO, a main FIFO
  // and a ghost list of recently dropped keys. A hit only bumps a 2-bit
  // counter, so hits run concurrently without an exclusive lock; a scan of
  // one-time keys passes through the small queue without flushing the main
  // one. The default.
  kS3Fifo,
  // Go's exact least-recently-used order (go: groupcache/lru). A hit
  // reorders the list, so hits on one shard serialise on its mutex.
  kLru,
};

struct GroupOptions {
  // Non-empty, without '/', unique within its Registry.
  std::string name;
  // Budget for the main and hot caches together (len(key)+len(value) per
  // entry). 0 disables caching. Any value that fits the budget is cached,
  // even one larger than a lock shard's share (room is made in the other
  // shards); one larger than the whole budget is not cached at all.
  int64_t cache_bytes = 64 << 20;
  // Required.
  Getter getter;
  // Lock shards of the cache; 0 picks one per >= 4 MiB of budget, up to 16.
  // Another count is rounded up to a power of two, at most 65536 and at
  // most cache_bytes.
  // Each shard evicts by the policy (below) to its share of the budget;
  // 1 shard with Eviction::kLru gives exactly Go's global LRU order.
  int cache_shards = 0;
  // The eviction policy of the main and hot caches (see Eviction).
  Eviction eviction = Eviction::kS3Fifo;
  // The getter answers promptly and never waits: it computes the value
  // from the key or reads memory, with no I/O, sleep or long-held lock. A
  // transport's asynchronous load (GetForPeerAsync, GetAsync) then runs it
  // right where the load starts, on the I/O thread, instead of handing it
  // to a worker and back (two thread wake-ups per load). Leave it false
  // for a getter that reads files, calls a database or another service: on
  // an I/O thread it would stall every connection of that thread.
  bool getter_never_blocks = false;
};

// Owned by shared_ptr (a Registry makes them): asynchronous loads hold
// their group.
class Group : public std::enable_shared_from_this<Group> {
 public:
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // Fills `dest` with the value of `key`. Errors: those of the getter
  // (NotFound, ...), LoadFailed when the remote owner's getter failed,
  // DeadlineExceeded / Cancelled from `ctx`, Internal for a misbehaving
  // getter, or the sink's own error (e.g. a ProtoSink that cannot parse).
  Status Get(const Context& ctx, std::string_view key, Sink& dest);

  // Same, returning the shared bytes.
  Result<ByteView> Get(const Context& ctx, std::string_view key);

  // Stores `value` for `key`: on the owner's main cache (sent as a PUT when
  // the owner is another peer) and, when the owner is remote, in this
  // process's hot cache too if `hot_cache` is true, else this process drops
  // its own copy of the key (an older value). `expire` of kNoExpiry means
  // never. Errors: InvalidArgument for an empty key, the peer's error.
  Status Set(const Context& ctx, std::string_view key, std::string_view value,
             Time expire = kNoExpiry, bool hot_cache = false);

  // Set for the whole cluster: the owner's main cache gets the value (as
  // Set), then every other peer, and this process unless it is the owner,
  // drops its copy of the key (a hot-cache mirror of the old value would
  // otherwise be served until it is evicted or expires). All peers are
  // tried; if any failed, the error names each failed peer (the value is
  // set on the owner all the same).
  Status SetEverywhere(const Context& ctx, std::string_view key, std::string_view value,
                       Time expire = kNoExpiry);

  // Removes `key` everywhere: the owner first (if remote), then here, then
  // every other peer concurrently (they may hold it in their hot caches).
  // All peers are tried; if any failed, the error names each failed peer.
  //
  // Writes win over loads under way: a load (or a fetch from the owner)
  // that began before a Set or Remove of its key finished still answers
  // the callers that were waiting for it, but its value is not cached, and
  // a Get that starts after the write loads afresh. (Go's groupcache
  // caches the older value, undoing the write until it is evicted.)
  Status Remove(const Context& ctx, std::string_view key);

  const std::string& name() const { return name_; }
  GroupStats Stats() const;
  CacheStats GetCacheStats(CacheType which) const;

  // Where a GetAsync found its value.
  enum class Source {
    kHit,   // this process's main cache
    kHot,   // this process's hot cache (a mirror of another peer's key)
    kPeer,  // fetched from the key's owner (by this call or one it joined)
    kLoad,  // this process's getter (it owns the key, or the owner failed)
  };
  static constexpr size_t kSources = 4;

  // Latency histograms (histogram.h). A hit costs none of them, except in
  // client_get, which a transport fills.
  struct Latencies {
    HistogramSnapshot peer_fetch;  // each fetch from the key's owner, failed ones too
    HistogramSnapshot local_load;  // each getter call, failed ones too
    // Client API GETs from request to reply, by Source (a transport
    // records them through ObserveClientGet).
    std::array<HistogramSnapshot, kSources> client_get;
  };
  Latencies GetLatencies() const;
  // For a transport serving application clients: one GET answered after
  // `elapsed` (from its request's arrival to its reply), found at `source`.
  void ObserveClientGet(Source source, Clock::duration elapsed);

  // The server half of the peer protocol, for transports. Not for
  // application code.
  //
  // A GET this library's peer client sends for a load (PeerClient::Fetch)
  // carries a mark, which the transport passes on as Forwarded::kYes. Such
  // a request is served where it lands: on a miss this process loads the
  // key itself, even if its own ring names another owner, and never
  // forwards it to a third peer, nor joins a fetch of the key that this
  // process has under way. A peer asks the process its ring names; when
  // two rings disagree (a membership change that one node has seen and
  // another not yet, as service discovery makes every day), forwarding
  // could send the request back to the process that is waiting for it,
  // which would then wait on itself until its fetch timed out
  // (mailgun/groupcache#72; Go's server forwards). Here such a request
  // takes one hop, and a disagreement costs at most a duplicate load. A GET
  // without the mark (an application or a tool reading through the peer
  // protocol, or a Go node) is served as Get serves it: a key owned
  // elsewhere is fetched from its owner.
  enum class Forwarded : bool { kNo, kYes };
  // A peer asked for `key`: answers from the caches only, never loads, so
  // a transport may call it on an I/O thread. On a hit counts
  // server_requests, gets and cache_hits and returns true; on a miss counts
  // nothing (the transport then calls GetForPeer on a worker thread).
  bool LookupForPeer(std::string_view key, ByteView* out);
  // A peer asked for `key` (counts server_requests, then as Get; see
  // Forwarded above). May run the getter: never call it on an I/O thread.
  Result<ByteView> GetForPeer(const Context& ctx, std::string_view key,
                              Forwarded forwarded = Forwarded::kNo);
  // The non-blocking GetForPeer, for a transport's I/O thread: `done` gets
  // the result once, on the thread that completes the load (or on this one,
  // before the call returns, on a hit). A fetch from the owner (see
  // Forwarded above) runs on its PeerClient's FetchAsync and blocks nobody;
  // a load that must run here (this process owns the key, the request was
  // forwarded, or the owner failed) is handed to `run_local`, which must
  // run it on a thread that may block, or return false to refuse it (the
  // load then fails with Unavailable); a getter that never blocks
  // (GroupOptions::getter_never_blocks) runs here instead. Shares its
  // single-flights with Get: a key has one fetch and one getter call in
  // flight whichever kind of caller started them. The caller bounds its
  // own wait.
  using LocalRunner = std::function<bool(std::function<void()> job)>;
  void GetForPeerAsync(const Context& ctx, std::string_view key, const LocalRunner& run_local,
                       std::function<void(const Result<ByteView>&)> done,
                       Forwarded forwarded = Forwarded::kNo);

  // "hit", "hot", "peer", "load".
  static std::string_view SourceName(Source source);
  // The cache half of GetAsync, for a transport serving application
  // clients on an I/O thread: answers from the caches only, never loads.
  // On a hit counts a Get that hit and returns true with the value and
  // where it was (kHit or kHot); on a miss counts nothing (the transport
  // then calls GetAsync, which counts the Get).
  bool LookupForClient(std::string_view key, ByteView* out, Source* source);
  // The non-blocking Get, for a transport serving application clients (an
  // HTTP API): like GetForPeerAsync of an unmarked request, but counted as
  // a Get of this process (not a server request), and `done` is also told
  // where the value came from. A load counts as kPeer when the key's owner
  // is another peer (even if the fetch failed and this process loaded it
  // instead), else kLoad.
  void GetAsync(const Context& ctx, std::string_view key, const LocalRunner& run_local,
                std::function<void(const Result<ByteView>&, Source)> done);
  // A peer sent a value: store it in the main cache.
  void SetFromPeer(std::string_view key, const ByteView& value);
  // A peer asked to forget `key`: drop it from both caches.
  void RemoveFromPeer(std::string_view key);

 private:
  friend class Registry;
  Group(GroupOptions options, std::shared_ptr<internal::PickerSlot> peers,
        std::shared_ptr<Logger> logger);

  // The key's owner by this process's ring; nullptr when it is this
  // process (or there are no peers).
  std::shared_ptr<PeerClient> OwnerOf(std::string_view key) const;
  // The owner a peer request that missed is fetched from: OwnerOf for an
  // unmarked one; nullptr (load here) for a forwarded one, which counts
  // (and now and then logs) a ring disagreement if this process's ring
  // gives `key` to another node.
  std::shared_ptr<PeerClient> OwnerToAsk(std::string_view key, Forwarded forwarded);
  // The load after a miss: a fetch from `owner`, or a load here when it is
  // nullptr (the owner's choice is the caller's: a forwarded request never
  // forwards again). Loads here and fetches have a single-flight each, so a
  // load here never waits on a fetch (see Forwarded above).
  Result<ByteView> Load(const Context& ctx, std::string_view key,
                        std::shared_ptr<PeerClient> owner);
  // A look in the cache that is not a Get of its own (true, with *cached).
  // The first step of a failed fetch's load here uses it alone: a load of
  // the key here (a forwarded request's) may have finished while the fetch
  // was failing.
  bool LookAgain(std::string_view key, ByteView* cached);
  // The first step of a load's leader, blocking or not: LookAgain, and a
  // miss counted as a load that single-flight let through.
  bool SecondLook(std::string_view key, ByteView* cached);
  // Load without blocking, for GetForPeerAsync / GetAsync after their miss.
  void LoadAsync(const Context& ctx, std::string_view key, std::shared_ptr<PeerClient> owner,
                 const LocalRunner& run_local, std::function<void(const Result<ByteView>&)> done);
  // What a load does with a peer's answer: the value (mirrored in the hot
  // cache), the owner's own error, or nullopt when the group must load
  // locally instead.
  // `fill` is the load's claim on the key (cache.h): its value is cached
  // only if no Set or Remove of the key came since the load began.
  std::optional<Result<ByteView>> AfterPeerFetch(const Context& ctx, const PeerClient& peer,
                                                 Result<ByteView> fetched, std::string_view key,
                                                 const internal::CacheFill& fill);
  Result<ByteView> LoadLocally(const Context& ctx, std::string_view key,
                               const internal::CacheFill& fill);
  // Every write of `key` in this process (Set, Remove, a peer's PUT or
  // DELETE) goes through these: the cache, then the loads of the key under
  // way, which then answer only those who asked before the write.
  void StoreHere(CacheType which, std::string_view key, const ByteView& value);
  void DropHere(std::string_view key);
  void RecordPeerLatency(Clock::duration elapsed);

  const std::string name_;
  const Getter getter_;
  const bool getter_never_blocks_;
  const std::shared_ptr<internal::PickerSlot> peers_;
  const std::shared_ptr<Logger> logger_;
  std::unique_ptr<internal::Cache> cache_;
  std::unique_ptr<internal::GroupCounters> counters_;
  std::unique_ptr<internal::GroupFlights> flights_;
};

}  // namespace groupcache

#endif  // GROUPCACHE_GROUP_H_
