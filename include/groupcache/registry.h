// Registry: owns an application's groups and the peer picker they share
// (what Go keeps in process globals: NewGroup, GetGroup,
// RegisterPeerPicker).
//
// An application creates one Registry (a Node in later layers owns one) and
// creates its groups against it; the peer transport looks groups up by name
// to serve peers. Several registries may live in one process, e.g. several
// nodes in a test. Thread-safe.
//
// Groups are handed out as shared_ptr and stay usable after the Registry
// that made them is destroyed (they then just keep the last peer picker).
//
// Example:
//   Registry registry;
//   auto group = registry.NewGroup("users", 32 << 20, LoadUser);
//   if (!group.ok()) return group.status();
//   registry.SetPeerPicker(pool);     // once the transport is up

#ifndef GROUPCACHE_REGISTRY_H_
#define GROUPCACHE_REGISTRY_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "groupcache/group.h"
#include "groupcache/logger.h"
#include "groupcache/peers.h"
#include "groupcache/status.h"

namespace groupcache {

struct RegistryOptions {
  // Where groups log; null means NewDefaultLogger().
  std::shared_ptr<Logger> logger;
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Creates a group. Errors: InvalidArgument (empty name, name with '/',
  // negative cache_bytes, null getter), AlreadyExists (name taken).
  Result<std::shared_ptr<Group>> NewGroup(GroupOptions options);
  Result<std::shared_ptr<Group>> NewGroup(std::string name, int64_t cache_bytes, Getter getter);

  // The group called `name`, or nullptr.
  std::shared_ptr<Group> GetGroup(std::string_view name) const;

  // Forgets the group (callers holding it may go on using it). False if
  // there was none.
  bool RemoveGroup(std::string_view name);

  std::vector<std::string> GroupNames() const;

  // Sets the picker every group of this registry uses from now on; null
  // means "no peers": every key is loaded locally.
  void SetPeerPicker(std::shared_ptr<PeerPicker> picker);
  std::shared_ptr<PeerPicker> peer_picker() const;

  const std::shared_ptr<Logger>& logger() const { return logger_; }

 private:
  const std::shared_ptr<Logger> logger_;
  const std::shared_ptr<internal::PickerSlot> peers_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Group>, std::less<>> groups_;  // GUARDED_BY(mu_)
};

}  // namespace groupcache

#endif  // GROUPCACHE_REGISTRY_H_
