#include "server_limits.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace groupcache::internal {

ConnectionTable::Entry::~Entry() {
  std::lock_guard lock(table_->mu_);
  table_->entries_.erase(position_);
}

std::unique_ptr<ConnectionTable::Entry> ConnectionTable::Add(std::function<void(bool)> close) {
  std::unique_ptr<Entry> entry(new Entry(this, std::move(close)));
  entry->SetIdle(Clock::now());
  std::lock_guard lock(mu_);
  entry->position_ = entries_.insert(entries_.end(), entry.get());
  return entry;
}

size_t ConnectionTable::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

bool ConnectionTable::CloseLongestIdle() {
  // A scan, at the limit only: cheaper than keeping an order on every
  // request of every connection.
  std::function<void(bool)> close;
  {
    std::lock_guard lock(mu_);
    Entry* oldest = nullptr;
    int64_t oldest_since = Entry::kBusy;
    for (Entry* e : entries_) {
      if (e->closing_.load(std::memory_order_relaxed)) continue;
      int64_t since = e->idle_since_.load(std::memory_order_relaxed);
      if (since < oldest_since) {
        oldest_since = since;
        oldest = e;
      }
    }
    if (oldest == nullptr) return false;
    oldest->closing_.store(true, std::memory_order_relaxed);
    close = oldest->close_;
  }
  close(false);
  return true;
}

void ConnectionTable::CloseAll() {
  std::vector<std::function<void(bool)>> closes;
  {
    std::lock_guard lock(mu_);
    for (Entry* e : entries_) {
      e->closing_.store(true, std::memory_order_relaxed);
      closes.push_back(e->close_);
    }
  }
  for (const auto& close : closes) close(true);
}

bool BodyBudget::TryReserve(size_t bytes) {
  size_t used = used_.load(std::memory_order_relaxed);
  for (;;) {
    if (used != 0 && (bytes > limit_ || used > limit_ - bytes)) return false;
    if (used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed)) return true;
  }
}

std::chrono::milliseconds AcceptBackoff::Fail() {
  next_ = next_.count() == 0 ? kFirst : std::min(next_ * 2, kMax);
  return next_;
}

}  // namespace groupcache::internal
