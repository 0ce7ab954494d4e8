// PickerSlot: the peer picker shared by a registry and its groups, which the
// registry may replace while groups are loading. Thread-safe.

#ifndef GROUPCACHE_SRC_PICKER_SLOT_H_
#define GROUPCACHE_SRC_PICKER_SLOT_H_

#include <memory>
#include <mutex>
#include <utility>

#include "groupcache/peers.h"

namespace groupcache::internal {

class PickerSlot {
 public:
  std::shared_ptr<PeerPicker> Get() const {
    std::lock_guard lock(mu_);
    return picker_;
  }
  void Set(std::shared_ptr<PeerPicker> picker) {
    std::lock_guard lock(mu_);
    picker_ = std::move(picker);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<PeerPicker> picker_;  // GUARDED_BY(mu_)
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_PICKER_SLOT_H_
