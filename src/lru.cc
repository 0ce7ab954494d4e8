#include "lru.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace groupcache::internal {

Lru::Entry* Lru::Find(const HashedKey& key) const {
  if (buckets_.empty()) return nullptr;
  for (Entry* e = buckets_[key.hash & (buckets_.size() - 1)]; e != nullptr; e = e->next) {
    if (e->hash == key.hash && e->key == key.key) return e;
  }
  return nullptr;
}

void Lru::Reserve() {
  if (items_ + 1 <= buckets_.size()) return;
  std::vector<Entry*> grown(buckets_.empty() ? 8 : buckets_.size() * 2, nullptr);
  buckets_.swap(grown);
  for (Entry& e : list_) Chain(&e);
}

void Lru::Chain(Entry* e) {
  Entry*& head = buckets_[e->hash & (buckets_.size() - 1)];
  e->next = head;
  head = e;
}

void Lru::Link(Entry* e) {
  Chain(e);
  ++items_;
}

void Lru::Unlink(const Entry* e) {
  Entry** p = &buckets_[e->hash & (buckets_.size() - 1)];
  while (*p != e) p = &(*p)->next;
  *p = e->next;
  --items_;
}

void Lru::Add(const HashedKey& key, ByteView value) {
  if (Entry* e = Find(key)) {
    bytes_ += static_cast<int64_t>(value.size()) - static_cast<int64_t>(e->value.size());
    e->value = std::move(value);
    list_.splice(list_.begin(), list_, e->self);
    return;
  }
  Reserve();
  list_.push_front(Entry{std::string(key.key), std::move(value), key.hash, nullptr, {}});
  Entry& e = list_.front();
  e.self = list_.begin();
  Link(&e);
  bytes_ += static_cast<int64_t>(e.key.size() + e.value.size());
}

const ByteView* Lru::Get(const HashedKey& key) {
  Entry* e = Find(key);
  if (e == nullptr) return nullptr;
  if (e->value.Expired()) {
    Erase(e->self);
    return nullptr;
  }
  if (e->self != list_.begin()) list_.splice(list_.begin(), list_, e->self);
  return &e->value;
}

bool Lru::Remove(const HashedKey& key) {
  Entry* e = Find(key);
  if (e == nullptr) return false;
  Erase(e->self);
  return true;
}

bool Lru::RemoveOldest(bool* expired) {
  if (list_.empty()) return false;
  auto oldest = std::prev(list_.end());
  if (expired != nullptr) *expired = oldest->value.Expired();
  Erase(oldest);
  return true;
}

void Lru::Clear() {
  std::fill(buckets_.begin(), buckets_.end(), nullptr);
  items_ = 0;
  list_.clear();
  bytes_ = 0;
}

void Lru::Erase(List::iterator e) {
  bytes_ -= static_cast<int64_t>(e->key.size() + e->value.size());
  Unlink(&*e);
  list_.erase(e);
}

}  // namespace groupcache::internal
