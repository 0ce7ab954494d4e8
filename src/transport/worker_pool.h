// WorkerPool: the threads on which a server runs what must not run on an
// I/O thread (getters, blocking handlers), with a bounded queue.
//
// Close() is the end of its life as far as callers are concerned: it
// refuses new jobs, destroys the jobs still queued without running them
// (a job that owns a single-flight Finisher thereby completes its load with
// Unavailable, so no waiter is stranded), and waits for the running ones.
// Anything that may submit after the server is gone holds the pool by
// shared_ptr and is refused from then on. Thread-safe.

#ifndef GROUPCACHE_SRC_TRANSPORT_WORKER_POOL_H_
#define GROUPCACHE_SRC_TRANSPORT_WORKER_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace groupcache::internal {

class WorkerPool {
 public:
  // `threads` >= 1; at most `queue_limit` jobs wait while all threads run.
  WorkerPool(int threads, int queue_limit);
  ~WorkerPool();  // Close()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`. False (and `job` is destroyed here, unrun) when the pool
  // is closed or the queue is full.
  bool TrySubmit(std::function<void()> job);

  // Idempotent. Must not be called from one of the pool's threads.
  void Close();

 private:
  void Run();

  const size_t queue_limit_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;  // GUARDED_BY(mu_)
  size_t running_ = 0;                       // GUARDED_BY(mu_)
  bool closed_ = false;                      // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_WORKER_POOL_H_
