// SingleFlight: per-key duplicate call suppression (go: singleflight), with
// contexts.
//
// Do(ctx, key, fn) runs fn once for all callers that ask for the same key
// while a call is in flight; each gets the same Result.
//
// Waiting policy:
//  - The first caller (the leader) runs fn on its own thread with its own
//    context; the others (followers) block until the result is ready or
//    their own context is done. A follower whose deadline passes or whose
//    context is cancelled returns DeadlineExceeded/Cancelled at once; the
//    call goes on for everyone else.
//  - The leader returns when fn returns, so fn should honour the context it
//    is given. If fn fails *because the leader's context is done*
//    (Cancelled/DeadlineExceeded while the leader's context is done), that
//    error belongs to the leader alone: followers whose own context is still
//    live start a new call (one of them leads it) instead of inheriting it.
//  - fn throwing is caught: everyone waiting gets Internal, nobody hangs.
//  - Calls with the same key but a different tag never share a result: a
//    caller whose tag differs waits for the call in flight to finish, then
//    runs its own (used by Set, so that two different values written to one
//    key are both applied, in order).
//
// DoAsync is the same for callers that must not block (a transport's I/O
// thread): it joins the call in flight or starts one, and a callback gets
// the result. Blocking and asynchronous callers of one key share one call,
// whichever kind leads. An asynchronous leader's work ends by calling its
// Finisher once, from any thread; a Finisher dropped without being called
// (a callback lost to a shutdown) completes the call with Unavailable, so
// no waiter is stranded. Asynchronous waiters are not timed out here: the
// caller bounds its own wait, and its callback may come after it stopped
// waiting.
//
// Thread-safe. fn, start and the callbacks run without any SingleFlight
// lock held. The SingleFlight must outlive its calls in flight.

#ifndef GROUPCACHE_SRC_SINGLE_FLIGHT_H_
#define GROUPCACHE_SRC_SINGLE_FLIGHT_H_

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "groupcache/context.h"
#include "groupcache/status.h"

namespace groupcache::internal {

struct NoTag {
  friend bool operator==(NoTag, NoTag) { return true; }
};

template <typename T, typename Tag = NoTag>
class SingleFlight {
  struct Call;

 public:
  using Fn = std::function<Result<T>(const Context&)>;

  // Runs `fn` or joins the call in flight for `key`. `shared`, if given, is
  // set to true when the result came from another caller's run.
  Result<T> Do(const Context& ctx, std::string_view key, const Fn& fn, const Tag& tag = Tag{},
               bool* shared = nullptr) {
    if (shared != nullptr) *shared = false;
    while (true) {
      std::unique_lock lock(mu_);
      auto it = calls_.find(key);
      if (it == calls_.end()) {
        auto call = std::make_shared<Call>();
        call->tag = &tag;
        calls_.emplace(std::string(key), call);
        lock.unlock();
        return Lead(ctx, key, call, fn);
      }
      std::shared_ptr<Call> call = it->second;
      bool same = *call->tag == tag;
      lock.unlock();

      Status waited = Wait(ctx, *call);
      if (!waited.ok()) return waited;
      if (!same) continue;  // its result is not ours: run our own
      if (call->leader_ctx_failed && !ctx.Done()) continue;
      if (shared != nullptr) *shared = true;
      return *call->result;
    }
  }

  // Completes an asynchronous call (see DoAsync). Copyable; the first call
  // wins, later ones do nothing; when the last copy goes without one, the
  // call completes with Unavailable.
  class Finisher {
   public:
    void operator()(Result<T> result) const { state_->Finish(std::move(result)); }

   private:
    friend class SingleFlight;
    struct State {
      SingleFlight* flight = nullptr;
      std::shared_ptr<const void> owner;  // keeps `flight` alive until Finish
      std::string key;
      std::shared_ptr<Call> call;
      Context ctx;
      std::atomic<bool> finished{false};

      void Finish(Result<T> result) {
        if (finished.exchange(true)) return;
        flight->Complete(key, call, ctx, std::move(result));
      }
      ~State() {
        // The last owner is going: no other thread can be finishing now,
        // and a finished load (nearly every one) builds no error.
        if (!finished.load(std::memory_order_relaxed)) {
          Finish(UnavailableError("load abandoned (shutting down?)"));
        }
      }
    };
    explicit Finisher(std::shared_ptr<State> state) : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
  };
  using Start = std::function<void(const Context&, std::string_view key, Finisher)>;
  using Done = std::function<void(const Result<T>&)>;

  // Joins the call in flight for `key`, or starts one with start(ctx, key,
  // finisher). `done` is called once with the result: on the thread that
  // completes the call, or on this one before DoAsync returns if the result
  // is at hand. A waiter whose call failed only because its leader's
  // context ended starts a new call if its own context is live, as in Do.
  // A waiter whose context is cancelled leaves the call at once: `done`
  // gets Cancelled on the cancelling thread and nothing of the waiter stays
  // in the flight (the call itself goes on; deadlines are not watched, so
  // a caller that gives up at its deadline cancels its context to leave).
  // `owner` (what owns this SingleFlight) is kept alive until the call is
  // finished. `start` is any callable taking (const Context&,
  // std::string_view, Finisher), such as a Start; a follower keeps a copy
  // to start a call of its own with (see above).
  template <typename StartFn>
  void DoAsync(const Context& ctx, std::string_view key, StartFn&& start, Done done,
               std::shared_ptr<const void> owner) {
    static_assert(std::is_same_v<Tag, NoTag>, "DoAsync is for untagged flights");
    static const Tag kTag{};
    if (ctx.cancellable()) {
      if (Status s = ctx.Err(); !s.ok() && s.code() == StatusCode::kCancelled) {
        done(Result<T>(s));
        return;
      }
    }
    std::unique_lock lock(mu_);
    auto it = calls_.find(key);
    if (it == calls_.end()) {
      auto call = std::make_shared<Call>();
      call->tag = &kTag;
      // The leader's own callback first (start may finish at once), while
      // no one else can see the call.
      const uint64_t id = call->next_waiter_id++;
      call->async_waiters.push_back({id, std::move(done), nullptr, Context::Registration()});
      calls_.emplace(std::string(key), call);
      lock.unlock();
      auto state = std::make_shared<typename Finisher::State>();
      state->flight = this;
      state->owner = std::move(owner);
      state->key = std::string(key);
      state->call = call;
      state->ctx = ctx;
      Finisher finish(std::move(state));
      try {
        start(ctx, key, finish);
      } catch (const std::exception& e) {
        finish(InternalError(std::string("load threw: ") + e.what()));
      } catch (...) {
        finish(InternalError("load threw a non-standard exception"));
      }
      LeaveOnCancel(ctx, call, id);
      return;
    }
    std::shared_ptr<Call> call = it->second;
    lock.unlock();
    typename Call::Rerun rerun = [this, ctx, key = std::string(key), start,
                                  owner = std::move(owner)](const Call& c, Done& d) {
      if (!c.leader_ctx_failed || ctx.Done()) return false;
      DoAsync(ctx, key, start, std::move(d), owner);
      return true;
    };
    std::unique_lock call_lock(call->mu);
    if (call->done) {
      call_lock.unlock();
      // It completed between the two looks.
      if (!rerun(*call, done)) done(*call->result);
      return;
    }
    const uint64_t id = call->next_waiter_id++;
    call->async_waiters.push_back({id, std::move(done), std::move(rerun), Context::Registration()});
    call_lock.unlock();
    LeaveOnCancel(ctx, call, id);
  }

  // Detaches the call in flight for `key`, if any: callers that joined it
  // still get its result, later ones start a call of their own (go:
  // singleflight's Forget). For a write of the key: a load that read the
  // old value must not answer those who ask after the write.
  void Forget(std::string_view key) {
    std::lock_guard lock(mu_);
    if (auto it = calls_.find(key); it != calls_.end()) calls_.erase(it);
  }

  // Number of keys with a call in flight (for tests and metrics).
  size_t InFlight() const {
    std::lock_guard lock(mu_);
    return calls_.size();
  }

 private:
  struct Call {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;                // GUARDED_BY(mu)
    std::optional<Result<T>> result;  // written before done, read after
    bool leader_ctx_failed = false;   // written before done
    const Tag* tag = nullptr;         // valid while the call is in calls_
    // A follower's second chance: given the completed call, starts a call
    // of its own with the waiter's callback and returns true if the result
    // was its leader's context failure (see Do).
    using Rerun = std::function<bool(const Call&, Done&)>;
    // DoAsync callers waiting; each called once, after done, unless it
    // left (its context was cancelled). The callback itself is held here
    // (not wrapped) and handed on, so a load copies no callback.
    struct AsyncWaiter {
      uint64_t id = 0;
      Done done;
      Rerun rerun;                  // empty for the leader
      Context::Registration leave;  // the cancellation hook that removes it
    };
    std::vector<AsyncWaiter> async_waiters;  // GUARDED_BY(mu)
    uint64_t next_waiter_id = 1;             // GUARDED_BY(mu)
  };

  // Makes the waiter `id` of `call` leave when `ctx` is cancelled: removed
  // from the call, its callback gets Cancelled. Registered after the waiter
  // was added (the hook may run inline, at once), and stored in the waiter
  // unless the call completed or the waiter left in the meantime. A call
  // that completed already (a load that finished inside start, as a local
  // load with a getter that never blocks does) registers nothing.
  static void LeaveOnCancel(const Context& ctx, const std::shared_ptr<Call>& call, uint64_t id) {
    if (!ctx.cancellable()) return;
    {
      std::lock_guard lock(call->mu);
      if (call->done) return;
    }
    std::weak_ptr<Call> weak = call;
    Context::Registration leave = ctx.OnCancel([weak, id] {
      std::shared_ptr<Call> c = weak.lock();
      if (c == nullptr) return;
      std::optional<typename Call::AsyncWaiter> gone;
      {
        std::lock_guard lock(c->mu);
        auto& waiters = c->async_waiters;
        for (auto w = waiters.begin(); w != waiters.end(); ++w) {
          if (w->id == id) {
            gone.emplace(std::move(*w));
            waiters.erase(w);
            break;
          }
        }
      }
      if (gone) gone->done(Result<T>(CancelledError("context cancelled")));
      // `gone` (with this hook's own registration) goes here, unlocked.
    });
    std::lock_guard lock(call->mu);
    for (auto& w : call->async_waiters) {
      if (w.id == id) {
        w.leave = std::move(leave);
        return;
      }
    }
    // Completed or left already: `leave` unregisters on the way out, after
    // the lock (declared after it) is released, since unregistering waits
    // for a hook running on another thread, which takes call->mu.
  }

  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  Result<T> Lead(const Context& ctx, std::string_view key, const std::shared_ptr<Call>& call,
                 const Fn& fn) {
    std::optional<Result<T>> result;
    try {
      result.emplace(fn(ctx));
    } catch (const std::exception& e) {
      result.emplace(InternalError(std::string("load threw: ") + e.what()));
    } catch (...) {
      result.emplace(InternalError("load threw a non-standard exception"));
    }
    Complete(key, call, ctx, *result);
    return std::move(*result);
  }

  // Publishes the result of `call`, led under `ctx`, and wakes every
  // waiter of either kind.
  void Complete(std::string_view key, const std::shared_ptr<Call>& call, const Context& ctx,
                Result<T> result) {
    const Status st = result.status();
    call->leader_ctx_failed =
        !st.ok() && ctx.Done() &&
        (st.code() == StatusCode::kCancelled || st.code() == StatusCode::kDeadlineExceeded);
    call->result = std::move(result);
    {
      // Forget the call before waking anyone: a follower that loops to start
      // its own call must not find this finished one again.
      // Unless it was forgotten (and maybe replaced by a newer call).
      std::lock_guard lock(mu_);
      if (auto it = calls_.find(key); it != calls_.end() && it->second == call) calls_.erase(it);
    }
    std::vector<typename Call::AsyncWaiter> waiters;
    {
      std::lock_guard lock(call->mu);
      call->done = true;
      waiters.swap(call->async_waiters);
    }
    call->cv.notify_all();
    // Every waiter is answered even if a callback throws; the first
    // exception then goes on to the completing thread, as it would have.
    std::exception_ptr thrown;
    for (auto& waiter : waiters) {
      try {
        if (waiter.rerun && waiter.rerun(*call, waiter.done)) continue;
        waiter.done(*call->result);
      } catch (...) {
        if (!thrown) thrown = std::current_exception();
      }
    }
    if (thrown) std::rethrow_exception(thrown);
    // The waiters' cancellation hooks unregister here, with no lock held
    // (a hook running on another thread is waited for).
  }

  // Blocks until the call is done (OK) or ctx is done (its error).
  static Status Wait(const Context& ctx, Call& call) {
    Context::Registration reg = ctx.OnCancel([&call] {
      // Taking the lock orders this notify after the waiter's predicate
      // check, so the wake-up cannot be lost.
      std::lock_guard lock(call.mu);
      call.cv.notify_all();
    });
    std::unique_lock lock(call.mu);
    auto ready = [&] { return call.done || ctx.Done(); };
    if (auto deadline = ctx.deadline()) {
      while (!ready()) {
        if (call.cv.wait_until(lock, *deadline) == std::cv_status::timeout) break;
      }
    } else {
      call.cv.wait(lock, ready);
    }
    if (call.done) return {};
    lock.unlock();
    Status err = ctx.Err();
    return err.ok() ? DeadlineExceededError("context deadline exceeded") : err;
  }

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Call>, Hash, std::equal_to<>> calls_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_SINGLE_FLIGHT_H_
