// PeerHandler: the server half of the peer protocol, without any I/O, so
// that the HTTP server stays a thin loop and the protocol is testable on
// its own.
//
// Handle() answers everything that needs no load: malformed requests, PUT,
// DELETE and cache hits. A GET that misses comes back as a Pending load,
// which the server runs on a worker thread with Load(). Thread-safe.

#ifndef GROUPCACHE_SRC_TRANSPORT_PEER_HANDLER_H_
#define GROUPCACHE_SRC_TRANSPORT_PEER_HANDLER_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "groupcache/context.h"
#include "groupcache/http_pool.h"
#include "groupcache/logger.h"
#include "groupcache/registry.h"

namespace groupcache::internal {

struct PeerReply {
  int status = 200;
  std::string content_type;
  std::string body;
};

class PeerHandler {
 public:
  struct Pending {
    std::shared_ptr<Group> group;
    std::string key;
  };

  // `registry` and `logger` must outlive the handler.
  PeerHandler(Registry* registry, const HttpPoolOptions& options, Logger* logger);

  // `path` is the raw request path (still escaped, without the query),
  // starting with the base path.
  std::optional<PeerReply> Handle(std::string_view method, std::string_view path,
                                  const std::string& body, Pending* pending) const;

  PeerReply Load(const Context& ctx, const Pending& pending) const;

  static PeerReply Error(int status, std::string message);

 private:
  static PeerReply Value(const ByteView& value);

  Registry* registry_;
  std::string base_path_;
  size_t max_key_bytes_;
  Logger* logger_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_PEER_HANDLER_H_
