#include "event_dispatcher.h"

#include <utility>

namespace groupcache::discovery::internal {

EventDispatcher::~EventDispatcher() { Stop(); }

bool EventDispatcher::Start(WatchCallback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return false;
  started_ = true;
  callback_ = std::move(callback);
  thread_ = std::thread([this] { Run(); });
  thread_id_ = thread_.get_id();
  return true;
}

bool EventDispatcher::started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_;
}

void EventDispatcher::Post(Event event) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_ || stopping_) return;
    queue_.push_back(std::move(event));
  }
  cv_.notify_one();
}

void EventDispatcher::Stop() {
  std::thread thread;
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
    thread = std::move(thread_);
    if (!thread.joinable()) {
      // Never started, or another Stop is joining it: wait for that one.
      cv_.wait(lock, [this] { return !joining_; });
      return;
    }
    joining_ = true;
  }
  cv_.notify_all();
  thread.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    joining_ = false;
    // The id of a joined thread may be given to a new one.
    thread_id_ = {};
  }
  cv_.notify_all();
}

bool EventDispatcher::OnDispatcherThread() const {
  std::lock_guard<std::mutex> lock(mu_);
  return std::this_thread::get_id() == thread_id_;  // no thread's id before Start, after Stop
}

void EventDispatcher::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Event event = std::move(queue_.front());
    queue_.pop_front();
    // The callback is user code: never run it with our lock held, or a
    // callback that posts (or a provider posting meanwhile) would deadlock.
    lock.unlock();
    callback_(event);
    lock.lock();
  }
}

}  // namespace groupcache::discovery::internal
