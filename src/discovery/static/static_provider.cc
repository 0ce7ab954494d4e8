#include "groupcache/discovery/static_provider.h"

#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "event_dispatcher.h"
#include "lifecycle.h"

namespace groupcache::discovery {

using internal::Call;
using internal::CheckCall;
using internal::State;

class StaticProvider::Impl {
 public:
  Status SetConfig(const Config& config) {
    // Parsing under the lock is cheap and keeps "wrong state" ahead of "bad
    // config" in what a caller is told.
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = CheckCall(kId, Call::kSetConfig, state_); !s.ok()) return s;
    Result<StringList> entries = config.GetStringList(kPeers);
    if (!entries.ok()) return entries.status();
    std::optional<Node> self;
    // The self keys are optional here, but half of them is a mistake.
    if (config.Has(kSelfHost) || config.Has(kSelfPort) || config.Has(kSelfName)) {
      Result<Node> parsed = GetSelf(config);
      if (!parsed.ok()) return parsed.status();
      self = *parsed;
    }
    std::vector<Node> peers;
    std::set<std::string> seen;
    for (const std::string& entry : *entries) {
      Result<Node> node = ParseNodeAddress(entry);
      if (!node.ok()) {
        return InvalidArgumentError("discovery config: key \"" + std::string(kPeers) +
                                    "\": " + node.status().message());
      }
      std::string address = node->Address();
      if (self && address == self->Address()) continue;
      if (seen.insert(address).second) peers.push_back(std::move(*node));
    }
    peers_ = std::move(peers);
    state_ = State::kConfigured;
    return Status::Ok();
  }

  Status Move(Call call, State to) {
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = CheckCall(kId, call, state_); !s.ok()) return s;
    // Deregister when not registered (initialized, closed): nothing to do.
    if (call == Call::kDeregister && state_ != State::kRegistered) return Status::Ok();
    state_ = to;
    return Status::Ok();
  }

  Result<std::vector<Node>> DiscoverNodes() {
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = CheckCall(kId, Call::kDiscoverNodes, state_); !s.ok()) return s;
    return peers_;
  }

  Status Watch(WatchCallback callback) {
    if (!callback) return InvalidArgumentError("static discovery: Watch with an empty callback");
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = CheckCall(kId, Call::kWatch, state_); !s.ok()) return s;
    if (!dispatcher_.Start(std::move(callback))) {
      return FailedPreconditionError("static discovery: Watch called twice");
    }
    for (const Node& node : peers_) dispatcher_.Post(Event{Event::Kind::kAdded, node, {}});
    return Status::Ok();
  }

  Status Close() {
    if (dispatcher_.OnDispatcherThread()) {
      return FailedPreconditionError("static discovery: Close called from the Watch callback");
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      state_ = State::kClosed;
    }
    // Outside mu_: the callback may be inside DiscoverNodes, waiting for it.
    dispatcher_.Stop();
    return Status::Ok();
  }

 private:
  std::mutex mu_;
  State state_ = State::kNew;  // GUARDED_BY(mu_)
  std::vector<Node> peers_;    // GUARDED_BY(mu_)
  internal::EventDispatcher dispatcher_;
};

StaticProvider::StaticProvider() : impl_(std::make_unique<Impl>()) {}

StaticProvider::~StaticProvider() { Close().IgnoreError(); }

Status StaticProvider::SetConfig(const Config& config) { return impl_->SetConfig(config); }
Status StaticProvider::Initialize() { return impl_->Move(Call::kInitialize, State::kInitialized); }
Status StaticProvider::Register() { return impl_->Move(Call::kRegister, State::kRegistered); }
Status StaticProvider::Deregister() { return impl_->Move(Call::kDeregister, State::kInitialized); }
Result<std::vector<Node>> StaticProvider::DiscoverNodes() { return impl_->DiscoverNodes(); }
Status StaticProvider::Watch(WatchCallback callback) { return impl_->Watch(std::move(callback)); }
Status StaticProvider::Close() { return impl_->Close(); }

}  // namespace groupcache::discovery
