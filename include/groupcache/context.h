// Context: a deadline and a cancellation signal that bound a call.
//
// Every blocking groupcache call takes a `const Context&` and gives up with
// DeadlineExceeded or Cancelled when it is done, like Go's context.Context.
// Contexts are cheap value handles: copying one shares the same underlying
// signal. A context derived from a parent is done when the parent is.
// All methods are thread-safe.
//
// Example:
//   groupcache::CancelSource cancel;                 // cancellable root
//   auto ctx = cancel.context().WithTimeout(std::chrono::milliseconds(200));
//   std::string value;
//   groupcache::StringSink sink(&value);
//   Status s = group->Get(ctx, "key", sink);         // <= 200 ms
//   ...
//   cancel.Cancel();   // from any thread: every call under `ctx` returns.

#ifndef GROUPCACHE_CONTEXT_H_
#define GROUPCACHE_CONTEXT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "groupcache/status.h"

namespace groupcache {

using Clock = std::chrono::steady_clock;

namespace internal {
class CancelState;
}

class Context {
 public:
  // A context that is never done. Same as Background().
  Context() = default;

  static Context Background() { return {}; }

  // A child that is also done at `deadline` (or at the parent's deadline,
  // whichever comes first).
  Context WithDeadline(Clock::time_point deadline) const;
  Context WithTimeout(Clock::duration timeout) const;

  // The effective deadline, if any.
  std::optional<Clock::time_point> deadline() const { return deadline_; }

  // True once cancelled or past the deadline.
  bool Done() const;

  // OK while not done; Cancelled or DeadlineExceeded once done.
  Status Err() const;

  // True if this context can be cancelled (has a CancelSource ancestor).
  bool cancellable() const { return state_ != nullptr; }

  // Registration of a callback run once when the context is cancelled (not
  // when its deadline passes: deadlines are waited on with timed waits).
  // Destroying the registration unregisters it; after the destructor returns
  // the callback is not running and will not run. The callback runs on the
  // cancelling thread, or immediately in OnCancel if already cancelled; it
  // must not block and must not destroy its own registration.
  class Registration {
   public:
    Registration() = default;
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

   private:
    friend class Context;
    Registration(std::shared_ptr<internal::CancelState> state, uint64_t id)
        : state_(std::move(state)), id_(id) {}
    void Reset();
    std::shared_ptr<internal::CancelState> state_;
    uint64_t id_ = 0;
  };
  [[nodiscard]] Registration OnCancel(std::function<void()> callback) const;

 private:
  friend class CancelSource;
  std::shared_ptr<internal::CancelState> state_;  // null: not cancellable
  std::optional<Clock::time_point> deadline_;
};

// Owns a cancellation signal. context() returns contexts that are done once
// Cancel() is called or the parent is done. Destroying the source does not
// cancel its contexts. Thread-safe.
class CancelSource {
 public:
  explicit CancelSource(const Context& parent = Context::Background());
  CancelSource(const CancelSource&) = delete;
  CancelSource& operator=(const CancelSource&) = delete;
  ~CancelSource();

  Context context() const;
  // Idempotent. Runs every registered callback before returning.
  void Cancel();

 private:
  std::shared_ptr<internal::CancelState> state_;
  std::optional<Clock::time_point> deadline_;
};

}  // namespace groupcache

#endif  // GROUPCACHE_CONTEXT_H_
