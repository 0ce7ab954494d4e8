#include "groupcache/context.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace groupcache {
namespace internal {

// Shared by every Context handle of one CancelSource. The callbacks run
// outside mu_ so that a callback may take its own locks (single-flight
// waiters lock their call's mutex) without an ordering against ours; running_
// and running_done_ let Unregister wait for a callback that is running on
// another thread, which is what makes ~Registration a safe point to free
// whatever the callback touches.
class CancelState {
 public:
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // Returns 0 if already cancelled (the callback then ran inline).
  uint64_t Register(std::function<void()> callback) {
    {
      std::lock_guard lock(mu_);
      if (!cancelled()) {
        uint64_t id = ++next_id_;
        callbacks_.emplace(id, std::move(callback));
        return id;
      }
    }
    callback();
    return 0;
  }

  void Unregister(uint64_t id) {
    std::unique_lock lock(mu_);
    if (callbacks_.erase(id) > 0) return;
    // Not registered any more: either it already ran or it is running now.
    // A callback that drops the last handle to a child state unregisters from
    // inside itself; waiting for ourselves would never end.
    if (running_thread_ == std::this_thread::get_id()) return;
    running_done_.wait(lock, [&] { return running_id_ != id; });
  }

  void Cancel() {
    std::unique_lock lock(mu_);
    if (cancelled()) return;
    cancelled_.store(true, std::memory_order_release);
    while (!callbacks_.empty()) {
      auto node = callbacks_.extract(callbacks_.begin());
      running_id_ = node.key();
      running_thread_ = std::this_thread::get_id();
      lock.unlock();
      node.mapped()();
      lock.lock();
      running_id_ = 0;
      running_thread_ = {};
      running_done_.notify_all();
    }
  }

  // The registration of this state with its parent's, so that cancelling the
  // parent cancels us for as long as any handle to us exists.
  Context::Registration parent_registration;

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable running_done_;
  std::map<uint64_t, std::function<void()>> callbacks_;
  uint64_t next_id_ = 0;
  uint64_t running_id_ = 0;
  std::thread::id running_thread_;
};

}  // namespace internal

Context Context::WithDeadline(Clock::time_point deadline) const {
  Context child = *this;
  if (!child.deadline_ || deadline < *child.deadline_) child.deadline_ = deadline;
  return child;
}

Context Context::WithTimeout(Clock::duration timeout) const {
  // A century at most: now + a larger timeout could wrap the clock's 64-bit
  // nanoseconds into the past (an "expired" deadline), and code adds its
  // margins to a deadline too.
  constexpr Clock::duration kLongest = std::chrono::hours(24 * 365 * 100);
  return WithDeadline(Clock::now() + std::clamp(timeout, -kLongest, kLongest));
}

bool Context::Done() const {
  if (state_ && state_->cancelled()) return true;
  return deadline_ && Clock::now() >= *deadline_;
}

Status Context::Err() const {
  if (state_ && state_->cancelled()) return CancelledError("context cancelled");
  if (deadline_ && Clock::now() >= *deadline_) {
    return DeadlineExceededError("context deadline exceeded");
  }
  return {};
}

Context::Registration Context::OnCancel(std::function<void()> callback) const {
  if (!state_) return {};
  uint64_t id = state_->Register(std::move(callback));
  if (id == 0) return {};
  return Registration(state_, id);
}

Context::Registration::Registration(Registration&& other) noexcept
    : state_(std::move(other.state_)), id_(std::exchange(other.id_, 0)) {}

Context::Registration& Context::Registration::operator=(Registration&& other) noexcept {
  if (this != &other) {
    Reset();
    state_ = std::move(other.state_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

Context::Registration::~Registration() { Reset(); }

void Context::Registration::Reset() {
  if (state_ && id_ != 0) state_->Unregister(id_);
  state_.reset();
  id_ = 0;
}

CancelSource::CancelSource(const Context& parent)
    : state_(std::make_shared<internal::CancelState>()), deadline_(parent.deadline()) {
  // Nothing to hear from a parent that is never cancelled (the usual one:
  // a server's request context); building the hook would cost two
  // allocations for nothing.
  if (!parent.cancellable()) return;
  // A weak pointer: the parent must not keep this state alive.
  std::weak_ptr<internal::CancelState> weak = state_;
  state_->parent_registration = parent.OnCancel([weak] {
    if (auto s = weak.lock()) s->Cancel();
  });
}

CancelSource::~CancelSource() = default;

Context CancelSource::context() const {
  Context ctx;
  ctx.state_ = state_;
  ctx.deadline_ = deadline_;
  return ctx;
}

void CancelSource::Cancel() { state_->Cancel(); }

}  // namespace groupcache
