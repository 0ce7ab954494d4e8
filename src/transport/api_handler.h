// ApiHandler: the client API, for applications in any language, beside the
// peer protocol on the same server. Without any I/O, like PeerHandler.
//
//   GET    /api/v1/groups/{group}/keys/{key}[?timeout=2s]
//          the value's raw bytes, read through the group (caches, owner,
//          one load cluster-wide). 200 application/octet-stream, with
//          X-Groupcache-Source: hit|hot|peer|load and, for a value that
//          expires, Cache-Control: max-age and Expires. 404 when the
//          loader has no value, 400 when it refuses the key, 504 at the
//          deadline (`timeout`, default the server's request_timeout), 502
//          for any other failure (the origin's, or a peer's).
//   HEAD   the same without the body.
//   PUT    body = value [?ttl=30s]: a cluster-wide Set (Group::SetEverywhere:
//          the owner's main cache, and every other node drops its copy);
//          204 once done, or 502 naming each peer that failed.
//   DELETE a cluster-wide Remove (the owner, then every peer); 204 once
//          done, or 502 naming each peer that failed.
// The key is the rest of the path after /keys/, percent-decoded (it may
// hold '/'); the peer protocol's limits apply: 414 for a key over
// max_key_bytes, 413 for a body over max_body_bytes (the server checks it);
// 404 for an unknown group, 405 for another method, 400 for a malformed
// path or query. Errors are plain text, one line.
//
// Handle() answers what needs no waiting (errors, cache hits); a GET or
// HEAD that misses comes back as a Pending load for LoadAsync(), and PUT /
// DELETE as a job that may block (a worker's). Thread-safe.

#ifndef GROUPCACHE_SRC_TRANSPORT_API_HANDLER_H_
#define GROUPCACHE_SRC_TRANSPORT_API_HANDLER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "groupcache/context.h"
#include "groupcache/http_pool.h"
#include "groupcache/logger.h"
#include "groupcache/registry.h"
#include "peer_handler.h"

namespace groupcache::internal {

class ApiHandler {
 public:
  static constexpr std::string_view kPrefix = "/api/v1/groups/";

  struct Pending {
    std::shared_ptr<Group> group;
    std::string key;
    bool head = false;
    std::chrono::milliseconds timeout{0};
    // When the request arrived (Handle's call): the group's
    // client_get_duration histogram counts from here to the reply.
    Clock::time_point start;
  };

  // `registry` must outlive the handler.
  ApiHandler(Registry* registry, const HttpPoolOptions& options);

  // `path` is the raw request path (escaped, without the query), starting
  // with kPrefix; `query` the raw query without '?'. True with the answer in
  // *reply (a default-built one): an error, or a cache hit (its time is
  // recorded as LoadAsync records a load's). False with *pending set (a
  // GET/HEAD that missed) or *job set (PUT, DELETE: run it on a thread that
  // may block). A job has a deadline of its own, *job_timeout from now (the
  // request's ?timeout=, else the default), time waiting for a thread
  // included: it answers 504 itself when the deadline passes, so the
  // transport should wait for it a little longer than that. A job's
  // context is a child of `parent` (the server's, cancelled when it stops).
  bool Handle(std::string_view method, std::string_view path, std::string_view query,
              const std::string& body, PeerReply* reply, Pending* pending,
              std::function<PeerReply()>* job, std::chrono::milliseconds* job_timeout,
              const Context& parent = Context::Background()) const;

  // Loads a Pending GET without blocking: `done` gets the reply once, from
  // any thread. The time from pending.start to the reply is recorded in the
  // group's client GET histogram (Group::ObserveClientGet), by source.
  static void LoadAsync(const Context& ctx, const Pending& pending,
                        const Group::LocalRunner& run_local, std::function<void(PeerReply)> done);

  // The reply to a GET/HEAD whose value (or error) is `value`.
  static PeerReply ReplyFor(const Result<ByteView>& value, Group::Source source, bool head);

  // A ?ttl= or ?timeout= value: Go's syntax ("2s", "500ms", "1m30s"),
  // above zero and at most 100 years (ParseTtl), rounded up to whole
  // milliseconds; nullopt if not.
  static std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

 private:
  // Makes `reply` (a default-built one) the 200 carrying `value`.
  static void FillReply(PeerReply* reply, ByteView value, Group::Source source, bool head);

  Registry* registry_;
  const size_t max_key_bytes_;
  const std::chrono::milliseconds default_timeout_;
};

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_API_HANDLER_H_
