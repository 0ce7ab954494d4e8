// EventDispatcher: the thread on which a provider calls its Watch callback.
//
// Providers post events while holding their own lock; the dispatcher queues
// them and calls the callback on its own thread with no lock held, one at a
// time, in order. So a slow callback delays only later events, never the
// provider's own work (NATS heartbeats), and a callback may call back into
// the provider without deadlock. Thread-safe. Internal: not installed.

#ifndef GROUPCACHE_SRC_DISCOVERY_EVENT_DISPATCHER_H_
#define GROUPCACHE_SRC_DISCOVERY_EVENT_DISPATCHER_H_

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "groupcache/discovery/provider.h"

namespace groupcache::discovery::internal {

class EventDispatcher {
 public:
  EventDispatcher() = default;
  ~EventDispatcher();  // Stop()
  EventDispatcher(const EventDispatcher&) = delete;
  EventDispatcher& operator=(const EventDispatcher&) = delete;

  // Starts the thread. False if already started or stopped.
  bool Start(WatchCallback callback);
  bool started() const;

  // Queues `event`; dropped if not started or already stopped.
  void Post(Event event);

  // Drops what is still queued, waits for a running callback to return and
  // joins the thread. Idempotent, and safe to call from several threads at
  // once: every call returns only once the thread has ended.
  // REQUIRES: !OnDispatcherThread().
  void Stop();

  // True when called from inside the callback.
  bool OnDispatcherThread() const;

 private:
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Event> queue_;    // GUARDED_BY(mu_)
  bool started_ = false;       // GUARDED_BY(mu_)
  bool stopping_ = false;      // GUARDED_BY(mu_)
  bool joining_ = false;       // GUARDED_BY(mu_): a Stop is joining the thread
  WatchCallback callback_;     // set before the thread starts, then read-only
  std::thread thread_;         // GUARDED_BY(mu_); the Stop that takes it joins it
  std::thread::id thread_id_;  // GUARDED_BY(mu_); kept until the join ends
};

}  // namespace groupcache::discovery::internal

#endif  // GROUPCACHE_SRC_DISCOVERY_EVENT_DISPATCHER_H_
