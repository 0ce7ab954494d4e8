#include "lru.h"

#include <utility>

namespace groupcache::internal {

void Lru::Add(const HashedKey& key, ByteView value) {
  if (auto it = map_.find(key); it != map_.end()) {
    List::iterator e = it->second;
    bytes_ += static_cast<int64_t>(value.size()) - static_cast<int64_t>(e->value.size());
    e->value = std::move(value);
    list_.splice(list_.begin(), list_, e);
    return;
  }
  list_.push_front(Entry{std::string(key.key), std::move(value)});
  Entry& e = list_.front();
  map_.emplace(std::string_view(e.key), list_.begin());
  bytes_ += static_cast<int64_t>(e.key.size() + e.value.size());
}

const ByteView* Lru::Get(const HashedKey& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  List::iterator e = it->second;
  if (e->value.Expired()) {
    Erase(e);
    return nullptr;
  }
  if (e != list_.begin()) list_.splice(list_.begin(), list_, e);
  return &e->value;
}

bool Lru::Remove(const HashedKey& key) {
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  Erase(it->second);
  return true;
}

bool Lru::RemoveOldest() {
  if (list_.empty()) return false;
  Erase(std::prev(list_.end()));
  return true;
}

void Lru::Clear() {
  map_.clear();
  list_.clear();
  bytes_ = 0;
}

void Lru::Erase(List::iterator e) {
  bytes_ -= static_cast<int64_t>(e->key.size() + e->value.size());
  map_.erase(std::string_view(e->key));
  list_.erase(e);
}

}  // namespace groupcache::internal
