// PeerHandler: the server half of the peer protocol, without any I/O, so
// that the HTTP server stays a thin loop and the protocol is testable on
// its own.
//
// Handle() answers everything that needs no load: malformed requests, PUT,
// DELETE and cache hits. A GET that misses comes back as a Pending load,
// which the server starts with LoadAsync(). Thread-safe.

#ifndef GROUPCACHE_SRC_TRANSPORT_PEER_HANDLER_H_
#define GROUPCACHE_SRC_TRANSPORT_PEER_HANDLER_H_

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "../log_limiter.h"
#include "get_response.h"
#include "groupcache/context.h"
#include "groupcache/http_pool.h"
#include "groupcache/logger.h"
#include "groupcache/registry.h"

namespace groupcache::internal {

struct PeerReply {
  int status = 200;
  // A literal; a handler's own type goes in owned_content_type instead
  // (a literal, as the common case, costs no allocation per reply).
  std::string_view content_type;
  std::string body;
  // Set for a GET's 200: the GetResponse is FrameGetResponse(*value)
  // around its bytes, and `body` is empty.
  std::optional<ByteView> value;
  std::string owned_content_type;
  // Further header lines ("Name: value\r\n" each), for the client API.
  std::string headers = {};
  // The client API's: `value` goes out as it is, not as a GetResponse.
  bool raw_value = false;
  // A HEAD: the head says the body's length, but no body is sent.
  bool head_only = false;

  std::string_view type() const {
    return owned_content_type.empty() ? content_type : owned_content_type;
  }
  // The size of the response body.
  size_t size() const;
};

class PeerHandler {
 public:
  struct Pending {
    std::shared_ptr<Group> group;
    std::string key;
    // Set by the server from the request's query (IsForwarded).
    Group::Forwarded forwarded = Group::Forwarded::kNo;
  };

  // The query this library's peer client puts on a load's GETs
  // (PeerClient::Fetch): the request is another node's fetch, to be served
  // here, never forwarded again (Group::Forwarded). A query is what servers
  // of the protocol ignore: Go's reads the path alone, so the mark costs a
  // Go node nothing.
  static constexpr std::string_view kForwardedQuery = "hop=1";
  // True if `query` (after the '?') has kForwardedQuery among its
  // '&'-separated parameters.
  static bool IsForwarded(std::string_view query);

  // `registry` and `logger` must outlive the handler.
  PeerHandler(Registry* registry, const HttpPoolOptions& options, Logger* logger);

  // `path` is the raw request path (still escaped, without the query),
  // starting with the base path. Answers into `reply` (a default-built one)
  // and returns true, or returns false with a GET that missed left in
  // `pending` for LoadAsync. A hit fills `reply` in place: a reply built
  // here and moved out twice on its way to the writer was 9% of a warm GET.
  bool Handle(std::string_view method, std::string_view path, const std::string& body,
              PeerReply* reply, Pending* pending) const;

  // Loads a Pending GET without blocking (Group::GetForPeerAsync): `done`
  // gets the reply once, from any thread.
  static void LoadAsync(const Context& ctx, const Pending& pending,
                        const Group::LocalRunner& run_local, std::function<void(PeerReply)> done);

  // The reply to a GET whose load ended with `value`.
  static PeerReply ReplyFor(const Result<ByteView>& value);

  static PeerReply Error(int status, std::string message);

  // The content type of a GetResponse (Go's groupcache sends this).
  static constexpr std::string_view kValueType = "application/x-protobuf";

 private:
  // Makes `reply` (a default-built one) the answer carrying `value`.
  static void FillValue(PeerReply* reply, ByteView value);

  // A warning about a bad request, at most one per 10 s (a client can
  // send thousands a second), with the count of those held back.
  void WarnLimited(std::string_view message, std::string_view key, std::string_view value) const;

  Registry* registry_;
  std::string base_path_;
  size_t max_key_bytes_;
  Logger* logger_;
  mutable LogLimiter bad_request_log_{std::chrono::seconds(10)};
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_PEER_HANDLER_H_
