#include "flags.h"

#include <cstdint>
#include <limits>
#include <string_view>

#include "groupcache/discovery/config.h"
#include "groupcache/duration.h"

namespace groupcache::daemon {
namespace {

using std::chrono::milliseconds;

// A flag that sets one field of HttpPoolOptions (exactly one of the member
// pointers), and the smallest value that means something.
struct PoolFlag {
  const char* name = nullptr;
  const char* help = nullptr;
  size_t HttpPoolOptions::*bytes = nullptr;
  int HttpPoolOptions::*count = nullptr;
  milliseconds HttpPoolOptions::*duration = nullptr;
  int64_t min = 1;
};

constexpr PoolFlag kPoolFlags[] = {
    {.name = "--max-key-bytes",
     .help = "longest key a peer may ask for (414 beyond)",
     .bytes = &HttpPoolOptions::max_key_bytes},
    {.name = "--max-body-bytes",
     .help = "largest value sent or received (413 beyond)",
     .bytes = &HttpPoolOptions::max_body_bytes},
    {.name = "--max-header-bytes",
     .help = "largest request header (431 beyond)",
     .bytes = &HttpPoolOptions::max_header_bytes},
    {.name = "--max-body-bytes-in-flight",
     .help = "request body bytes read at once, all connections together (503 beyond)",
     .bytes = &HttpPoolOptions::max_body_bytes_in_flight},
    {.name = "--max-connections",
     .help = "open server connections",
     .count = &HttpPoolOptions::max_connections},
    {.name = "--idle-timeout",
     .help = "close a keep-alive connection idle this long",
     .duration = &HttpPoolOptions::idle_timeout},
    {.name = "--header-timeout",
     .help = "a request's header must be complete within this",
     .duration = &HttpPoolOptions::header_timeout},
    {.name = "--request-timeout",
     .help = "read a request body or write a response within this; also the deadline of "
             "requests to peers",
     .duration = &HttpPoolOptions::request_timeout},
    {.name = "--client-pool-size",
     .help = "idle connections kept per peer",
     .count = &HttpPoolOptions::client_pool_size,
     .min = 0},
    {.name = "--client-idle-timeout",
     .help = "drop a pooled connection to a peer idle this long; keep it below --idle-timeout "
             "(with --idle-timeout alone: half of it)",
     .duration = &HttpPoolOptions::client_idle_timeout},
    {.name = "--max-connections-per-peer",
     .help = "open connections to one peer; further requests wait",
     .count = &HttpPoolOptions::max_connections_per_peer},
    {.name = "--io-threads",
     .help = "threads serving connections",
     .count = &HttpPoolOptions::io_threads},
    {.name = "--worker-threads",
     .help = "threads running loads for peers",
     .count = &HttpPoolOptions::worker_threads},
    {.name = "--worker-queue-limit",
     .help = "loads that may wait for a worker thread (503 beyond)",
     .count = &HttpPoolOptions::worker_queue_limit,
     .min = 0},
};

constexpr std::string_view kDrainTimeout = "--drain-timeout";
constexpr std::string_view kShutdownTimeout = "--shutdown-timeout";
constexpr std::string_view kLoadsMaxKeys = "--loads-max-keys";
constexpr std::string_view kDirMaxFileBytes = "--dir-max-file-bytes";
constexpr std::string_view kOriginTimeout = "--origin-timeout";
constexpr std::string_view kOriginCa = "--origin-ca";
constexpr std::string_view kOriginDefaultTtl = "--origin-default-ttl";
constexpr std::string_view kOriginMaxBytes = "--origin-max-bytes";

// What --help shows as the value.
constexpr const char* kDurationType = "DURATION";
constexpr const char* kBytesType = "BYTES";
constexpr const char* kCountType = "N";
constexpr const char* kFileType = "FILE";

std::string Text(milliseconds d) { return discovery::FormatDuration(d); }

std::string DefaultText(const PoolFlag& flag) {
  HttpPoolOptions defaults;
  if (flag.bytes != nullptr) return std::to_string(defaults.*flag.bytes);
  if (flag.count != nullptr) return std::to_string(defaults.*flag.count);
  return Text(defaults.*flag.duration);
}

const char* TypeName(const PoolFlag& flag) {
  if (flag.bytes != nullptr) return kBytesType;
  if (flag.count != nullptr) return kCountType;
  return kDurationType;
}

Status Bad(std::string_view flag, std::string_view text, const std::string& want) {
  return InvalidArgumentError(std::string(flag) + ": want " + want + ", not '" + std::string(text) +
                              "'");
}

Result<int64_t> ParseInteger(std::string_view flag, std::string_view text, int64_t min,
                             int64_t max) {
  Result<int64_t> v = discovery::ParseInt(text);
  if (!v.ok() || *v < min || *v > max) {
    return Bad(flag, text, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return *v;
}

Result<milliseconds> ParseMilliseconds(std::string_view flag, std::string_view text,
                                       milliseconds min) {
  Result<discovery::Duration> d = discovery::ParseDuration(text);
  // At most kMaxTtl, as a TTL: a time point that far ahead still fits the
  // clocks' 64-bit nanoseconds (Go's syntax allows 2562047h, which would
  // wrap a deadline or an expiry into the past).
  if (!d.ok() || *d < min || *d > kMaxTtl) {
    return Bad(
        flag, text,
        "a duration of at least " + Text(min) + " and at most 100 years (e.g. 500ms, 2s, 1m)");
  }
  return std::chrono::duration_cast<milliseconds>(*d);
}

Status ApplyPoolFlag(const PoolFlag& flag, std::string_view text, HttpPoolOptions* options) {
  if (flag.duration != nullptr) {
    Result<milliseconds> d = ParseMilliseconds(flag.name, text, milliseconds(flag.min));
    if (!d.ok()) return d.status();
    options->*flag.duration = *d;
  } else if (flag.bytes != nullptr) {
    Result<int64_t> n =
        ParseInteger(flag.name, text, flag.min, std::numeric_limits<int64_t>::max());
    if (!n.ok()) return n.status();
    options->*flag.bytes = static_cast<size_t>(*n);
  } else {
    Result<int64_t> n = ParseInteger(flag.name, text, flag.min, std::numeric_limits<int>::max());
    if (!n.ok()) return n.status();
    options->*flag.count = static_cast<int>(*n);
  }
  return {};
}

}  // namespace

void LimitFlags::AddTo(CLI::App* app) {
  auto add = [&](std::string_view name, const std::string& help, const char* type) {
    Flag& flag = given_[std::string(name)];
    flag.option = app->add_option(std::string(name), flag.text, help)->type_name(type);
  };
  for (const PoolFlag& flag : kPoolFlags) {
    add(flag.name, std::string(flag.help) + " (default " + DefaultText(flag) + ")", TypeName(flag));
  }
  add(kDrainTimeout,
      "on SIGTERM, leave discovery, answer /readyz with 503 and keep serving this long "
      "before stopping; a second SIGTERM or SIGINT ends it early (default " +
          Text(DaemonLimits{}.drain_timeout) + ")",
      kDurationType);
  add(kShutdownTimeout,
      "after the drain, stop accepting and wait this long for requests in flight (default " +
          Text(DaemonLimits{}.shutdown_timeout) + ")",
      kDurationType);
  add(kLoadsMaxKeys,
      "keys counted one by one in GET /loads; calls for further keys only in "
      "/metrics (default " +
          std::to_string(LoadCounter::kDefaultMaxKeys) + ")",
      kCountType);
  add(kDirMaxFileBytes,
      "dir loader: refuse larger files (default: --max-body-bytes, " +
          std::to_string(HttpPoolOptions{}.max_body_bytes) + ")",
      kBytesType);
  add(kOriginTimeout,
      "http loader: one origin request must be done within this, and within the caller's "
      "deadline (default " +
          Text(LoaderOptions{}.origin_timeout) + ")",
      kDurationType);
  add(kOriginCa, "http loader: PEM CAs of an https origin (default: the system's)", kFileType);
  add(kOriginDefaultTtl,
      "http loader: expiry of a value whose response has no Cache-Control max-age, s-maxage "
      "or Expires (default: none)",
      kDurationType);
  add(kOriginMaxBytes,
      "http loader: refuse larger response bodies (default: --max-body-bytes, " +
          std::to_string(HttpPoolOptions{}.max_body_bytes) + ")",
      kBytesType);
}

const std::string* LimitFlags::Given(std::string_view name) const {
  auto it = given_.find(name);
  if (it == given_.end() || it->second.option == nullptr || it->second.option->count() == 0) {
    return nullptr;
  }
  return &it->second.text;
}

Status LimitFlags::Apply(HttpPoolOptions* options, DaemonLimits* daemon) const {
  for (const PoolFlag& flag : kPoolFlags) {
    if (const std::string* text = Given(flag.name)) {
      if (Status s = ApplyPoolFlag(flag, *text, options); !s.ok()) return s;
    }
  }
  // The nodes of a cluster are usually given the same flags, so this
  // node's clients talk to servers with its own idle_timeout: by default
  // they drop a pooled connection well before the server would close it.
  // An explicit value is taken as is (the peers may be other servers; a
  // connection closed under the client is detected before reuse, and a
  // request lost to a close racing it is retried on a new connection).
  const bool client_idle_given = Given("--client-idle-timeout") != nullptr;
  if (Given("--idle-timeout") != nullptr && !client_idle_given) {
    options->client_idle_timeout = options->idle_timeout / 2;
  }

  if (const std::string* text = Given(kDrainTimeout)) {
    Result<milliseconds> d = ParseMilliseconds(kDrainTimeout, *text, milliseconds(0));
    if (!d.ok()) return d.status();
    daemon->drain_timeout = *d;
  }
  if (const std::string* text = Given(kShutdownTimeout)) {
    Result<milliseconds> d = ParseMilliseconds(kShutdownTimeout, *text, milliseconds(0));
    if (!d.ok()) return d.status();
    daemon->shutdown_timeout = *d;
  }
  if (const std::string* text = Given(kLoadsMaxKeys)) {
    Result<int64_t> n = ParseInteger(kLoadsMaxKeys, *text, 0, std::numeric_limits<int64_t>::max());
    if (!n.ok()) return n.status();
    daemon->loads_max_keys = static_cast<size_t>(*n);
  }
  daemon->loader.dir_max_file_bytes = options->max_body_bytes;
  if (const std::string* text = Given(kDirMaxFileBytes)) {
    Result<int64_t> n =
        ParseInteger(kDirMaxFileBytes, *text, 1, std::numeric_limits<int64_t>::max());
    if (!n.ok()) return n.status();
    daemon->loader.dir_max_file_bytes = static_cast<size_t>(*n);
  }
  if (const std::string* text = Given(kOriginTimeout)) {
    Result<milliseconds> d = ParseMilliseconds(kOriginTimeout, *text, milliseconds(1));
    if (!d.ok()) return d.status();
    daemon->loader.origin_timeout = *d;
  }
  if (const std::string* text = Given(kOriginCa)) daemon->loader.origin_ca = *text;
  if (const std::string* text = Given(kOriginDefaultTtl)) {
    Result<milliseconds> d = ParseMilliseconds(kOriginDefaultTtl, *text, milliseconds(0));
    if (!d.ok()) return d.status();
    daemon->loader.origin_default_ttl = *d;
  }
  daemon->loader.origin_max_bytes = options->max_body_bytes;
  if (const std::string* text = Given(kOriginMaxBytes)) {
    Result<int64_t> n =
        ParseInteger(kOriginMaxBytes, *text, 1, std::numeric_limits<int64_t>::max());
    if (!n.ok()) return n.status();
    daemon->loader.origin_max_bytes = static_cast<size_t>(*n);
  }
  return {};
}

Status LimitFlags::Check(std::string_view flag, std::string_view text) {
  // A scratch app, so that the value goes through exactly what a flag
  // would, interplay with defaults included.
  CLI::App app;
  LimitFlags flags;
  flags.AddTo(&app);
  auto it = flags.given_.find(flag);
  if (it == flags.given_.end()) {
    return InvalidArgumentError(std::string(flag) + ": not a limit flag");
  }
  it->second.option->add_result(std::string(text));
  it->second.option->run_callback();
  HttpPoolOptions options;
  DaemonLimits daemon;
  return flags.Apply(&options, &daemon);
}

}  // namespace groupcache::daemon
