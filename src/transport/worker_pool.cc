#include "worker_pool.h"

#include <algorithm>
#include <utility>

namespace groupcache::internal {

WorkerPool::WorkerPool(int threads, int queue_limit)
    : queue_limit_(static_cast<size_t>(std::max(0, queue_limit))) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Close(); }

bool WorkerPool::TrySubmit(std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (closed_ || queue_.size() + running_ >= queue_limit_ + threads_.size()) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::Close() {
  std::deque<std::function<void()>> dropped;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    dropped.swap(queue_);
  }
  wake_.notify_all();
  // Destroyed outside the lock: what they own may call back (a Finisher
  // completing a load wakes its waiters, which may submit and be refused).
  dropped.clear();
  for (auto& t : threads_) t.join();
}

void WorkerPool::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return closed_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closed
      job = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    job();
    job = nullptr;  // what it owns goes before the slot is given back
    std::lock_guard lock(mu_);
    --running_;
  }
}

}  // namespace groupcache::internal
