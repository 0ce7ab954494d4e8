// Fakes of the two network interfaces, for read-path tests: a peer whose
// answers the test scripts, and a picker that sends chosen keys to it.

#ifndef GROUPCACHE_TESTS_UNIT_FAKE_PEERS_H_
#define GROUPCACHE_TESTS_UNIT_FAKE_PEERS_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "groupcache/peers.h"

namespace groupcache::testing {

class FakePeer : public PeerClient {
 public:
  using GetFn = std::function<Result<ByteView>(const Context&, std::string_view key)>;

  explicit FakePeer(std::string url) : url_(std::move(url)) {}

  void OnGet(GetFn fn) {
    std::lock_guard lock(mu_);
    get_ = std::move(fn);
  }
  void FailWith(Status s) {
    std::lock_guard lock(mu_);
    fail_ = std::move(s);
  }

  Result<ByteView> Get(const Context& ctx, std::string_view group, std::string_view key) override {
    ++gets;
    GetFn fn;
    {
      std::lock_guard lock(mu_);
      last_group_ = std::string(group);
      fn = get_;
    }
    if (!fn) return UnavailableError("fake peer: no handler");
    return fn(ctx, key);
  }

  Status Set(const Context&, std::string_view group, std::string_view key,
             const ByteView& value) override {
    ++sets;
    std::lock_guard lock(mu_);
    last_group_ = std::string(group);
    if (!fail_.ok()) return fail_;
    stored_[std::string(key)] = value;
    return {};
  }

  Status Remove(const Context&, std::string_view group, std::string_view key) override {
    ++removes;
    std::lock_guard lock(mu_);
    last_group_ = std::string(group);
    if (!fail_.ok()) return fail_;
    stored_.erase(std::string(key));
    removed_.emplace_back(key);
    return {};
  }

  const std::string& url() const override { return url_; }

  std::map<std::string, ByteView> stored() {
    std::lock_guard lock(mu_);
    return stored_;
  }
  std::vector<std::string> removed() {
    std::lock_guard lock(mu_);
    return removed_;
  }
  std::string last_group() {
    std::lock_guard lock(mu_);
    return last_group_;
  }

  std::atomic<int> gets{0};
  std::atomic<int> sets{0};
  std::atomic<int> removes{0};

 private:
  const std::string url_;
  std::mutex mu_;
  GetFn get_;
  Status fail_;
  std::map<std::string, ByteView> stored_;
  std::vector<std::string> removed_;
  std::string last_group_;
};

// Keys listed in `owners` go to that peer; every other key is ours.
class FakePicker : public PeerPicker {
 public:
  void Route(const std::string& key, std::shared_ptr<FakePeer> peer) {
    std::lock_guard lock(mu_);
    owners_[key] = peer;
    AddPeer(std::move(peer));
  }
  void AddPeer(std::shared_ptr<FakePeer> peer) {
    for (auto& p : all_) {
      if (p == peer) return;
    }
    all_.push_back(std::move(peer));
  }
  std::shared_ptr<PeerClient> PickPeer(std::string_view key) override {
    std::lock_guard lock(mu_);
    auto it = owners_.find(std::string(key));
    return it == owners_.end() ? nullptr : it->second;
  }
  std::vector<std::shared_ptr<PeerClient>> GetAll() override {
    std::lock_guard lock(mu_);
    return {all_.begin(), all_.end()};
  }
  void AddBystander(std::shared_ptr<FakePeer> peer) {
    std::lock_guard lock(mu_);
    AddPeer(std::move(peer));
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FakePeer>> owners_;
  std::vector<std::shared_ptr<FakePeer>> all_;
};

}  // namespace groupcache::testing

#endif  // GROUPCACHE_TESTS_UNIT_FAKE_PEERS_H_
