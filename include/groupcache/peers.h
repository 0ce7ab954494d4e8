// PeerClient and PeerPicker: the only two ways a group reaches the network
// (go: ProtoGetter and PeerPicker).
//
// A PeerPicker maps a key to the peer that owns it; a PeerClient talks to
// one peer. The HTTP transport implements both; tests implement them with
// fakes. Both must be thread-safe: a group calls them from every thread that
// misses. Groups hold clients by shared_ptr for the duration of a call, so a
// picker may drop a client (the peer left) while a request to it is in
// flight.

#ifndef GROUPCACHE_PEERS_H_
#define GROUPCACHE_PEERS_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "groupcache/byte_view.h"
#include "groupcache/context.h"
#include "groupcache/status.h"

namespace groupcache {

class PeerClient {
 public:
  virtual ~PeerClient() = default;

  // Fetches `key` of `group` from the peer, which loads it if it must.
  // Returns the value with its expiry, or:
  //   NotFound    the peer's getter has no such key (HTTP 404),
  //   LoadFailed  the peer's getter failed (HTTP 503),
  //   InvalidArgument  the peer refused the key (HTTP 400: its getter
  //               said the key is invalid, or the request was malformed),
  //   anything else (Unavailable, DeadlineExceeded, ...) for transport
  //   failures, after which the group falls back to a local load.
  virtual Result<ByteView> Get(const Context& ctx, std::string_view group,
                               std::string_view key) = 0;

  // The non-blocking Get, for callers that must not wait (a transport
  // serving a peer's request on an I/O thread): starts the fetch and calls
  // `done` once with what Get would return, from any thread, possibly this
  // one before GetAsync returns. The default runs Get here, blocking the
  // caller: a client used behind an HttpPool's server should override it
  // (the HTTP client does).
  // (`done` by value: an override keeps it until the answer comes.)
  virtual void GetAsync(
      const Context& ctx, std::string_view group, std::string_view key,
      std::function<void(Result<ByteView>)> done) {  // NOLINT(performance-unnecessary-value-param)
    done(Get(ctx, group, key));
  }

  // The read a group's load makes from the process its ring names as the
  // key's owner: as Get / GetAsync, but the peer is asked to serve the key
  // itself and never forward the request to a third process (the HTTP
  // client marks the request; see Group::Forwarded). A read any client
  // makes (an application or a tool reading through a node) is a Get, which
  // the peer serves as its own Get would, fetching a key it does not own
  // from its owner. The defaults are Get and GetAsync.
  virtual Result<ByteView> Fetch(const Context& ctx, std::string_view group, std::string_view key) {
    return Get(ctx, group, key);
  }
  virtual void FetchAsync(
      const Context& ctx, std::string_view group, std::string_view key,
      std::function<void(Result<ByteView>)> done) {  // NOLINT(performance-unnecessary-value-param)
    GetAsync(ctx, group, key, std::move(done));
  }

  // Stores the value in the peer's main cache (HTTP PUT).
  virtual Status Set(const Context& ctx, std::string_view group, std::string_view key,
                     const ByteView& value) = 0;

  // Removes the key from the peer's main and hot caches (HTTP DELETE).
  virtual Status Remove(const Context& ctx, std::string_view group, std::string_view key) = 0;

  // The peer's identity on the ring, e.g. "http://10.0.0.2:8080".
  virtual const std::string& url() const = 0;
};

class PeerPicker {
 public:
  virtual ~PeerPicker() = default;

  // The client for the peer that owns `key`, or nullptr when this process
  // owns it (or knows no peers).
  virtual std::shared_ptr<PeerClient> PickPeer(std::string_view key) = 0;

  // Clients for every peer except this process.
  virtual std::vector<std::shared_ptr<PeerClient>> GetAll() = 0;
};

}  // namespace groupcache

#endif  // GROUPCACHE_PEERS_H_
