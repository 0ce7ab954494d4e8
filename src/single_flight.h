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
// Thread-safe. fn runs without any SingleFlight lock held.

#ifndef GROUPCACHE_SRC_SINGLE_FLIGHT_H_
#define GROUPCACHE_SRC_SINGLE_FLIGHT_H_

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "groupcache/context.h"
#include "groupcache/status.h"

namespace groupcache::internal {

struct NoTag {
  friend bool operator==(NoTag, NoTag) { return true; }
};

template <typename T, typename Tag = NoTag>
class SingleFlight {
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
  };

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
    const Status st = result->status();
    call->leader_ctx_failed =
        !st.ok() && ctx.Done() &&
        (st.code() == StatusCode::kCancelled || st.code() == StatusCode::kDeadlineExceeded);
    call->result = *result;
    {
      // Forget the call before waking anyone: a follower that loops to start
      // its own call must not find this finished one again.
      std::lock_guard lock(mu_);
      calls_.erase(calls_.find(key));
    }
    {
      std::lock_guard lock(call->mu);
      call->done = true;
    }
    call->cv.notify_all();
    return std::move(*result);
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
