// groupcached's configuration file (--config FILE, --check-config FILE): a
// YAML map that can declare several groups, and that can set every
// command-line flag of the node. Parsing is pure: text in, a Config or every
// error found out, each naming the file, the 1-based line and the key path:
//   groupcached.yaml:12: groups[1].cache_bytes: want a size like 64MiB, got "lots"
//
// The schema (every key optional but groups[].name and groups[].loader; an
// unknown key is an error; the flag each key stands for in brackets):
//
//   node:
//     listen: HOST:PORT            [--listen]
//     self: URL                    [--self]
//     peers: [URL, ...]            [--peers]; also the static discovery's list
//     name: NAME                   [--node-name]
//     ip: ADDRESS                  [--node-ip]
//     group_port: PORT             [--group-port]
//     hash: mailgun | golang | balanced  [--hash]
//     replicas: N                  [--replicas]
//   discovery:
//     kind: static | nats | kubernetes | mdns   [--discovery]
//     app_name: NAME               [--app-name]
//     timeout: DURATION            [--discovery-timeout]
//     nats: {server: URL or [URL, ...], subject, heartbeat, node_ttl}
//                                  [--nats-server --nats-subject --nats-heartbeat --nats-node-ttl]
//     kubernetes: {namespace, kubeconfig, watch_timeout, backoff_max}
//                                  [--kube-namespace --kubeconfig --kube-watch-timeout
//                                   --kube-backoff-max]
//     mdns: {name, service, domain, ipv6: BOOL, interfaces: [IF, ...], ttl}
//                                  [--mdns-name --mdns-service --mdns-domain --mdns-ipv6
//                                   --mdns-interface --mdns-ttl]
//   tls: {cert, key, ca, client_cert, client_key, require_client_cert: BOOL}
//                                  [--tls-*]; the flags' pairings hold within the file
//   limits:                        [the flags of flags.h, '-' spelt '_']
//     max_key_bytes, max_body_bytes, max_header_bytes, max_body_bytes_in_flight: SIZE
//     max_connections, client_pool_size, max_connections_per_peer, io_threads,
//       worker_threads, worker_queue_limit, loads_max_keys: N
//     idle_timeout, header_timeout, request_timeout, client_idle_timeout,
//       drain_timeout, shutdown_timeout: DURATION
//     dir_max_file_bytes, origin_max_bytes: SIZE; origin_timeout, origin_default_ttl:
//       DURATION; origin_ca: FILE   (the loaders' defaults for every group)
//   logging:
//     level: debug | info | warn | error | off   [--log-level]
//     format: text | json          [--log-format]
//   groups:                        (at least one entry if the key is there)
//     - name: NAME                 required, unique, without '/'
//       loader: SPEC               required, as --loader: synthetic:SIZE[:DELAY_MS],
//                                  dir:PATH or http:URL_TEMPLATE
//       cache_bytes: SIZE          default 64MiB (GroupOptions::cache_bytes)
//       cache_shards: N            default 0: one per 4 MiB, up to 16
//       eviction: s3fifo | lru     default s3fifo [--eviction, which wins]
//       dir_max_file_bytes, origin_max_bytes: SIZE; origin_timeout,
//       origin_default_ttl: DURATION; origin_ca: FILE
//                                  this group's loader only, over limits:
//
// SIZE is a byte count, plain or with a KiB, MiB or GiB suffix ("512KiB");
// DURATION uses Go's syntax ("500ms", "2s", "1m30s"); N is a decimal
// integer; BOOL is true or false.
//
// Precedence: a flag given on the command line (or through its environment
// variable, such as NODE_IP) beats the file, for every group alike (an
// explicit --origin-timeout beats each group's origin_timeout); the file
// beats the flags' defaults. --group, --cache-bytes and --loader override
// the name, size and loader of the file's group when it declares exactly
// one; with several they are an error (edit the file instead). Without
// groups in the file, the one group comes from those flags, as without
// --config.
//
// Not thread-safe; main() reads the file once before starting anything.
//
// Example:
//   auto config = ReadConfig("groupcached.yaml");
//   if (!config.ok()) return Fail(config.status().message());
//   FlagSources sources;
//   if (Status s = ApplyConfig(*config, &app, &sources); !s.ok()) return Fail(s.message());
//   ... limit_flags.Apply(&options, &limits) ...
//   auto groups = PlanGroups(&*config, sources, {group, cache_bytes, loader}, limits.loader);

#ifndef GROUPCACHE_CMD_GROUPCACHED_CONFIG_H_
#define GROUPCACHE_CMD_GROUPCACHED_CONFIG_H_

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "groupcache/group.h"
#include "groupcache/status.h"
#include "loaders.h"

namespace groupcache::daemon {

// A key of the file that stands for a command-line flag, with its value
// as the flag would be given (sizes in plain bytes).
struct FlagSetting {
  std::string flag;                 // "--listen"
  std::vector<std::string> values;  // one, or the items of a list (--peers)
  std::string path;                 // "node.listen", for messages
  int line = 0;                     // 1-based
};

// One entry of groups:.
struct GroupConfig {
  std::string name;
  std::string loader;
  int64_t cache_bytes = int64_t{64} << 20;
  int cache_shards = 0;
  std::optional<Eviction> eviction;
  // Set: this group's loader uses it instead of limits: or the flags' defaults.
  std::optional<size_t> dir_max_file_bytes;
  std::optional<std::chrono::milliseconds> origin_timeout;
  std::optional<std::string> origin_ca;
  std::optional<std::chrono::milliseconds> origin_default_ttl;
  std::optional<size_t> origin_max_bytes;
  int line = 0;  // of the entry
};

struct Config {
  std::string file;                // as given, for messages
  std::vector<FlagSetting> flags;  // in file order
  std::vector<GroupConfig> groups;

  // The setting for `flag`, or null.
  const FlagSetting* Find(std::string_view flag) const;
};

// Parses `text`, the contents of `file` (used in messages only). Errors:
// InvalidArgument listing every problem, one per line, each as
// "FILE:LINE: PATH: what is wrong" (YAML syntax errors without a path).
Result<Config> ParseConfig(std::string_view text, std::string_view file);

// Reads and parses the file at `path`. Errors: those of ParseConfig, and
// InvalidArgument if the file cannot be read.
Result<Config> ReadConfig(const std::string& path);

// The flags ApplyConfig set from the file (so not given on the command line).
using FlagSources = std::set<std::string, std::less<>>;

// The merge: sets each flag of `app` (already parsed) that has a setting in
// `config` and was not given on the command line or through its
// environment variable, as if it had been, running its validators and its
// callback; adds the flags so set to *from_file. A setting whose flag `app`
// does not have is an error. Errors: InvalidArgument naming FILE:LINE and
// the key path.
Status ApplyConfig(const Config& config, CLI::App* app, FlagSources* from_file);

// The TLS settings that come in pairs (--tls-cert and --tls-key,
// --tls-client-cert and --tls-client-key; --tls-require-client-cert needs
// --tls-cert and --tls-ca), checked on what the command line and the file
// (`config`, if any, once applied) give together: a pair may be split
// between the two. Errors: InvalidArgument naming the lone setting (FILE:LINE
// and its key path when it came from the file) and what it needs.
Status CheckTlsPairs(const CLI::App& app, const Config* config, const FlagSources& from_file);

// The values of --group, --cache-bytes and --loader (given or default).
struct CommandLineGroup {
  std::string name;
  int64_t cache_bytes = 0;
  std::string loader;
  Eviction eviction = Eviction::kS3Fifo;  // --eviction
};

// A group to create: its options and its loader's.
struct GroupPlan {
  std::string name;
  int64_t cache_bytes = 0;
  int cache_shards = 0;
  Eviction eviction = Eviction::kS3Fifo;
  std::string loader;
  LoaderOptions loader_options;
  std::string where;  // "FILE:LINE: groups[0]" or "--loader", for messages
};

// "s3fifo" or "lru" as an Eviction; nullopt for anything else.
std::optional<Eviction> ParseEviction(std::string_view name);

// The groups to serve, by the precedence above. `base` holds the loader
// settings of the flags and limits: (DaemonLimits::loader after
// LimitFlags::Apply); a group's own settings replace those whose flag was
// not given on the command line (`app`, less `from_file`). `config` may be
// null (no --config). Errors: InvalidArgument if there is no loader at all,
// or --group/--cache-bytes/--loader are given for a file of several groups.
Result<std::vector<GroupPlan>> PlanGroups(const Config* config, const CLI::App& app,
                                          const FlagSources& from_file, const CommandLineGroup& cli,
                                          const LoaderOptions& base);

// "2 groups: images (http:https://o/{key}, 256MiB), thumbs (synthetic:64, 64MiB)".
std::string DescribeGroups(const std::vector<GroupPlan>& groups);

// Parses a size: a non-negative byte count, plain or with a KiB, MiB or GiB
// suffix. Errors: InvalidArgument quoting `text`.
Result<int64_t> ParseSize(std::string_view text);
// 67108864 -> "64MiB", 1000 -> "1000".
std::string FormatSize(int64_t bytes);

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_CONFIG_H_
