// The flags of groupcached that tune its limits: every limit and timeout of
// the peer transport (HttpPoolOptions), the shutdown grace period, and the
// loaders' own bounds and settings (the http: loader's origin, too). Sizes and counts are decimal
// integers, durations use Go's syntax ("500ms", "2s", "1m30s"). A flag not given keeps the
// library's default; every node of a cluster should be given the same.
//
// Not thread-safe; main() registers the flags, parses, then applies them.
//
// Example:
//   CLI::App app;
//   LimitFlags limits;
//   limits.AddTo(&app);
//   CLI11_PARSE(app, argc, argv);
//   HttpPoolOptions options;
//   DaemonLimits daemon;
//   if (Status s = limits.Apply(&options, &daemon); !s.ok()) return Fail(s.message());

#ifndef GROUPCACHE_CMD_GROUPCACHED_FLAGS_H_
#define GROUPCACHE_CMD_GROUPCACHED_FLAGS_H_

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "groupcache/http_pool.h"
#include "groupcache/status.h"
#include "loaders.h"

namespace groupcache::daemon {

// What the flags set outside HttpPoolOptions.
struct DaemonLimits {
  // --drain-timeout: on SIGTERM, how long a node goes on serving after it
  // left discovery and turned /readyz to 503, before it stops accepting
  // (long enough for peers and load balancers to stop sending it work).
  // 0 by default: a node run by hand or by a test stops at once; behind a
  // load balancer set a few seconds (deploy/kubernetes uses 2s).
  std::chrono::milliseconds drain_timeout{0};
  // --shutdown-timeout: then, how long a stopping node waits for requests
  // in flight (HttpPool::Shutdown, NodeOptions::shutdown_timeout). A stop
  // takes at most drain_timeout + shutdown_timeout (and half a second).
  std::chrono::milliseconds shutdown_timeout{5000};
  // --loads-max-keys: LoadCounter's table.
  size_t loads_max_keys = LoadCounter::kDefaultMaxKeys;
  // --dir-max-file-bytes and --origin-max-bytes (default: the pool's
  // max_body_bytes), --origin-timeout, --origin-ca, --origin-default-ttl.
  LoaderOptions loader;
};

class LimitFlags {
 public:
  // Adds --max-key-bytes, --max-body-bytes, --max-header-bytes,
  // --max-body-bytes-in-flight, --max-connections, --idle-timeout,
  // --header-timeout, --request-timeout, --client-pool-size,
  // --client-idle-timeout, --max-connections-per-peer, --io-threads,
  // --worker-threads, --worker-queue-limit, --drain-timeout, --shutdown-timeout,
  // --loads-max-keys, --dir-max-file-bytes, --origin-timeout, --origin-ca,
  // --origin-default-ttl and --origin-max-bytes to `app`, with their
  // defaults in the help. The values are stored in *this, which must
  // outlive the parsing; `app` must outlive Apply.
  void AddTo(CLI::App* app);

  // After parsing: writes the flags that were given into *options and
  // *daemon; the rest keep their values. With --idle-timeout but no
  // --client-idle-timeout, client_idle_timeout becomes half of
  // idle_timeout, so that clients drop pooled connections before their
  // peers' servers close them. Errors: InvalidArgument naming the flag and
  // quoting the value (unparsable, negative, zero where zero means
  // nothing, out of range). An explicit --client-idle-timeout is taken as
  // is, even if not below idle_timeout.
  Status Apply(HttpPoolOptions* options, DaemonLimits* daemon) const;

  // Whether `text` is a good value for limit flag `flag` ("--max-key-bytes"),
  // by the rules of Apply; the config file checks its values with it.
  // Errors: InvalidArgument as Apply's, or for a flag that is not one of
  // these.
  static Status Check(std::string_view flag, std::string_view text);

 private:
  struct Flag {
    std::string text;               // as given
    CLI::Option* option = nullptr;  // owned by the app
  };
  // The value of flag `name` if it was given, else null.
  const std::string* Given(std::string_view name) const;

  // Flag name -> its value; std::map: CLI11 keeps pointers to the texts.
  std::map<std::string, Flag, std::less<>> given_;
};

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_FLAGS_H_
