#include "groupcache/registry.h"

#include <utility>

#include "picker_slot.h"

namespace groupcache {

Registry::Registry(RegistryOptions options)
    : logger_(options.logger ? std::move(options.logger) : NewDefaultLogger()),
      peers_(std::make_shared<internal::PickerSlot>()) {}

Registry::~Registry() = default;

Result<std::shared_ptr<Group>> Registry::NewGroup(GroupOptions options) {
  if (options.name.empty()) return InvalidArgumentError("group name is empty");
  if (options.name.find('/') != std::string::npos) {
    // The peer protocol splits group from key at the first '/'.
    return InvalidArgumentError("group name must not contain '/': " + options.name);
  }
  if (options.cache_bytes < 0) {
    return InvalidArgumentError("group " + options.name + ": cache_bytes is negative");
  }
  if (!options.getter) return InvalidArgumentError("group " + options.name + ": null getter");
  if (options.cache_shards < 0) {
    return InvalidArgumentError("group " + options.name + ": cache_shards is negative");
  }
  std::lock_guard lock(mu_);
  if (groups_.count(options.name) > 0) {
    return AlreadyExistsError("duplicate group name: " + options.name);
  }
  std::string name = options.name;
  std::shared_ptr<Group> group(new Group(std::move(options), peers_, logger_));
  groups_.emplace(std::move(name), group);
  return group;
}

Result<std::shared_ptr<Group>> Registry::NewGroup(std::string name, int64_t cache_bytes,
                                                  Getter getter) {
  GroupOptions options;
  options.name = std::move(name);
  options.cache_bytes = cache_bytes;
  options.getter = std::move(getter);
  return NewGroup(std::move(options));
}

std::shared_ptr<Group> Registry::GetGroup(std::string_view name) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second;
}

bool Registry::RemoveGroup(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = groups_.find(name);
  if (it == groups_.end()) return false;
  groups_.erase(it);
  return true;
}

std::vector<std::string> Registry::GroupNames() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> names;
  names.reserve(groups_.size());
  for (const auto& [name, group] : groups_) names.push_back(name);
  return names;
}

void Registry::SetPeerPicker(std::shared_ptr<PeerPicker> picker) { peers_->Set(std::move(picker)); }

std::shared_ptr<PeerPicker> Registry::peer_picker() const { return peers_->Get(); }

}  // namespace groupcache
