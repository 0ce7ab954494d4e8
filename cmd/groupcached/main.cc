// groupcached: one node of a groupcache cluster.
//
// With a static peer list (every node is given the same list):
//   groupcached --listen HOST:PORT [--self URL] --peers URL[,URL...]
//               --group NAME --cache-bytes N
//               --loader synthetic:SIZE[:DELAY_MS] | --loader dir:PATH
//               | --loader http:URL_TEMPLATE
//               [--hash mailgun|golang|balanced] [--replicas N] [--log-level L]
//
// Or from a YAML file (config.h has the schema; deploy/groupcached.example.yaml
// an example) that can declare several groups, each with its own loader:
//   groupcached --config FILE [flags]   (a flag given beats the file)
//   groupcached --check-config FILE [flags]
//               (validates, loaders included, then exits: 0 with a summary
//               on stdout, or 2 with every error, FILE:LINE: KEY: ...)
//
// As a Node that finds its peers through service discovery; its identity
// comes from NODE_NAME, NODE_IP and GROUP_PORT (or the flags of the same
// meaning), as in the reference:
//   groupcached --discovery static --peers HOST:PORT,...   ...
//   groupcached --discovery nats --nats-server nats://HOST:4222
//               --nats-subject SUBJECT [--app-name NAME]    ...
//   groupcached --discovery kubernetes [--app-name NAME] [--kube-namespace NS]
//               [--kubeconfig FILE]                           ...
//               (the pods labelled app.kubernetes.io/{part-of,component,name}=NAME,
//               Running and Ready, at the container port named group-port)
//   groupcached --discovery mdns [--mdns-name NAME] [--mdns-service _groupcache._tcp]
//               [--mdns-domain local.] [--mdns-ipv6] [--mdns-interface IF,...]
//               [--mdns-ttl 10s]                              ...
//               (the nodes on the same LAN, through multicast DNS-SD; NODE_IP
//               must be the address the others resolve this node to)
//
// TLS (every node of a cluster alike): --tls-cert/--tls-key make this node
// serve https:// only (its URL then defaults to https://LISTEN, and with
// --discovery every peer is reached over https://); --tls-ca names the CAs
// that peers' certificates must chain to (default: the system's). Mutual
// TLS: --tls-require-client-cert, and each node presents
// --tls-client-cert/--tls-client-key (the node certificate itself will do
// if it allows client authentication).
//
// Limits and timeouts (flags.h; sizes in bytes, durations as in Go: "500ms",
// "2s", "1m"; unset: the library's defaults; every node alike):
//   peer server: --max-key-bytes --max-body-bytes --max-header-bytes
//     --max-body-bytes-in-flight --max-connections --idle-timeout
//     --header-timeout --request-timeout --io-threads --worker-threads
//     --worker-queue-limit
//   peer clients: --client-pool-size --client-idle-timeout (default with
//     --idle-timeout: half of it) --max-connections-per-peer
//   this daemon: --shutdown-timeout (5s) --loads-max-keys (200000)
//     --dir-max-file-bytes (default --max-body-bytes)
//   http: loader (a read-through cache in front of an origin, e.g.
//     http:https://origin.internal/images/{key}; the key is percent-encoded
//     but for '/', a 200's Cache-Control/Expires set the value's expiry,
//     404/410 are NotFound, anything else Unavailable): --origin-timeout (10s)
//     --origin-ca FILE (default: the system's CAs) --origin-default-ttl
//     (default: no expiry) --origin-max-bytes (default --max-body-bytes);
//     /metrics counts the origin's answers (groupcached_origin_requests_total)
// A dir: key with a component starting with '.', or leading outside PATH,
// is refused (400 on the wire).
//
// Serves the peer protocol, GET /metrics (Prometheus), GET /peers (JSON
// array of the ring's peer URLs), GET /loads (JSON: loader calls per key on
// this node, for up to --loads-max-keys keys per group; /metrics has the
// totals; with several groups {"group": {"key": calls}} and group labels) and
// GET /healthz (alive), GET /readyz (200 once the node has joined: with
// discovery, registered and its first discovery applied; 503 with a reason
// while it starts and while it drains). --log-format json writes the log as
// JSON lines ({"ts","level","logger","msg",fields...}) instead of text.
// A bad setting or a discovery backend that cannot be reached at start is
// an error message and exit status 2.
//
// Stopping (SIGTERM or SIGINT): the node leaves discovery (the peers stop
// routing keys to it), /readyz turns 503, and it goes on serving every
// request for --drain-timeout (default 0: none; a few seconds behind a load
// balancer; a second signal cuts it short); then it
// stops accepting and gives requests in flight --shutdown-timeout (5s)
// before failing what is left. Exit status 0. So a stop takes at most
// drain + shutdown timeout (+0.5 s): keep a pod's
// terminationGracePeriodSeconds above that.

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "flags.h"
#include "groupcache/discovery/kubernetes_provider.h"
#include "groupcache/discovery/static_provider.h"
#include "groupcache/http_pool.h"
#include "groupcache/metrics.h"
#include "groupcache/node.h"
#include "groupcache/registry.h"
#include "loaders.h"
#include "readiness.h"
#ifdef GROUPCACHE_HAVE_NATS
#include "groupcache/discovery/nats_provider.h"
#endif
#ifdef GROUPCACHE_HAVE_MDNS
#include "groupcache/discovery/mdns_provider.h"
#endif

namespace {

int Fail(const std::string& message) {
  std::cerr << "groupcached: " << message << '\n';
  return 2;
}

// Why `url` cannot be a peer URL for --peers or --self (http(s)://HOST:PORT,
// nothing after the port), or "" if it can.
std::string BadPeerUrl(const std::string& url) {
  std::string_view rest = url;
  if (rest.substr(0, 7) == "http://") {
    rest.remove_prefix(7);
  } else if (rest.substr(0, 8) == "https://") {
    rest.remove_prefix(8);
  } else {
    return "no http:// or https://";
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  if (rest.find('/') != std::string_view::npos) return "a path after the port";
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size() ||
      rest.find(']', colon) != std::string_view::npos) {
    return "no HOST:PORT";
  }
  for (char c : rest.substr(colon + 1)) {
    if (c < '0' || c > '9') return "a port that is not a number";
  }
  return "";
}

// Whether HOST:PORT (or [V6]:PORT) listens on every address, which no peer
// can reach the node at.
bool WildcardListen(const std::string& listen) {
  const std::string host = listen.substr(0, listen.rfind(':'));
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
}

// The discovery settings as given on the command line (or environment).
struct DiscoveryFlags {
  std::string kind;  // "", "static", "nats" or "kubernetes"
  std::string node_name;
  std::string node_ip;
  int group_port = 0;
  std::string nats_server;
  std::string nats_subject;
  std::string app_name = "groupcache";
  std::string timeout;
  std::string heartbeat;
  std::string node_ttl;
  std::string kube_namespace;
  std::string kubeconfig;
  std::string kube_watch_timeout;
  std::string kube_backoff_max;
  std::string mdns_name;
  std::string mdns_service;
  std::string mdns_domain;
  bool mdns_ipv6 = false;
  std::vector<std::string> mdns_interfaces;
  std::string mdns_ttl;
  // Set by MakeDiscovery for --discovery kubernetes: its metrics. Owned by
  // the Node, which outlives every use.
  const groupcache::discovery::KubernetesProvider* kube = nullptr;
};

// The Kubernetes provider's counters, in Prometheus text format.
std::string KubernetesMetrics(const groupcache::discovery::KubernetesProvider& provider) {
  auto stats = provider.GetStats();
  std::string out =
      "# HELP groupcache_discovery_events_total Kubernetes watch events by type.\n"
      "# TYPE groupcache_discovery_events_total counter\n";
  for (const auto& [type, n] : stats.events) {
    out += "groupcache_discovery_events_total{type=\"" + type + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP groupcache_discovery_lists_total Pod lists (the first and every re-list).\n"
      "# TYPE groupcache_discovery_lists_total counter\n"
      "groupcache_discovery_lists_total " +
      std::to_string(stats.lists) +
      "\n"
      "# HELP groupcache_discovery_watch_restarts_total Watches started after the first.\n"
      "# TYPE groupcache_discovery_watch_restarts_total counter\n"
      "groupcache_discovery_watch_restarts_total " +
      std::to_string(stats.watch_restarts) +
      "\n"
      "# HELP groupcache_discovery_api_errors_total Failed API calls by HTTP status (0: "
      "transport).\n"
      "# TYPE groupcache_discovery_api_errors_total counter\n";
  for (const auto& [code, n] : stats.api_errors) {
    out += "groupcache_discovery_api_errors_total{code=\"" + std::to_string(code) + "\"} " +
           std::to_string(n) + "\n";
  }
  if (stats.since_success) {
    out +=
        "# HELP groupcache_discovery_seconds_since_success Since the last successful list or "
        "watch event.\n"
        "# TYPE groupcache_discovery_seconds_since_success gauge\n"
        "groupcache_discovery_seconds_since_success " +
        std::to_string(std::chrono::duration<double>(*stats.since_success).count()) + "\n";
  }
  return out;
}

// The TLS settings as given on the command line.
struct TlsFlags {
  std::string cert;
  std::string key;
  std::string ca;
  std::string client_cert;
  std::string client_key;
  bool require_client_cert = false;
};

// The pool checks the files themselves when it starts.
void ApplyTls(const TlsFlags& flags, groupcache::HttpPoolOptions* options) {
  options->server_tls.cert_file = flags.cert;
  options->server_tls.key_file = flags.key;
  if (flags.require_client_cert) {
    options->server_tls.client_ca_file = flags.ca;
    options->server_tls.require_client_cert = true;
  }
  options->client_tls.ca_file = flags.ca;
  options->client_tls.cert_file = flags.client_cert;
  options->client_tls.key_file = flags.client_key;
}

groupcache::Result<std::unique_ptr<groupcache::discovery::ServiceDiscovery>> MakeDiscovery(
    DiscoveryFlags& flags, const std::vector<std::string>& peers,
    const std::shared_ptr<groupcache::Logger>& logger) {
  namespace discovery = groupcache::discovery;
  discovery::Config config;
  std::unique_ptr<discovery::Provider> provider;
  // Only what was given: a provider reports a missing required key by
  // name, and applies its own defaults to the rest.
  auto set = [&config](std::string_view key, const std::string& value) {
    if (!value.empty()) config.SetString(std::string(key), value);
  };
  if (flags.kind == "static") {
    config.SetStringList(std::string(discovery::StaticProvider::kPeers), peers);
    provider = std::make_unique<discovery::StaticProvider>();
  } else if (flags.kind == "nats") {
#ifdef GROUPCACHE_HAVE_NATS
    using discovery::NatsProvider;
    set(NatsProvider::kServer, flags.nats_server);
    set(NatsProvider::kSubject, flags.nats_subject);
    set(NatsProvider::kAppName, flags.app_name);
    set(NatsProvider::kTimeout, flags.timeout);
    set(NatsProvider::kHeartbeat, flags.heartbeat);
    set(NatsProvider::kNodeTtl, flags.node_ttl);
    provider = std::make_unique<NatsProvider>(logger);
#else
    return groupcache::InvalidArgumentError(
        "--discovery nats: this groupcached was built without libnats");
#endif
  } else if (flags.kind == "kubernetes") {
    using discovery::KubernetesProvider;
    set(KubernetesProvider::kAppName, flags.app_name);
    set(KubernetesProvider::kNamespace, flags.kube_namespace);
    set(KubernetesProvider::kKubeconfig, flags.kubeconfig);
    set(KubernetesProvider::kWatchTimeout, flags.kube_watch_timeout);
    set(KubernetesProvider::kBackoffMax, flags.kube_backoff_max);
    auto kube = std::make_unique<KubernetesProvider>(logger);
    flags.kube = kube.get();
    provider = std::move(kube);
  } else if (flags.kind == "mdns") {
#ifdef GROUPCACHE_HAVE_MDNS
    using discovery::MdnsProvider;
    set(MdnsProvider::kName, flags.mdns_name);
    set(MdnsProvider::kService, flags.mdns_service);
    set(MdnsProvider::kDomain, flags.mdns_domain);
    set(MdnsProvider::kTtl, flags.mdns_ttl);
    config.SetBool(std::string(MdnsProvider::kIpv6), flags.mdns_ipv6);
    if (!flags.mdns_interfaces.empty()) {
      config.SetStringList(std::string(MdnsProvider::kInterfaces), flags.mdns_interfaces);
    }
    provider = std::make_unique<MdnsProvider>(logger);
#else
    return groupcache::InvalidArgumentError(
        "--discovery mdns: this groupcached was built without libavahi-core");
#endif
  } else {
    return groupcache::InvalidArgumentError(
        "--discovery must be static, nats, kubernetes or mdns, not '" + flags.kind + "'");
  }
  return std::make_unique<discovery::ServiceDiscovery>(std::move(provider), std::move(config));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"groupcached: a groupcache node"};
  std::string listen;
  std::string self;
  std::vector<std::string> peers;
  std::string group_name = "default";
  int64_t cache_bytes = 64 << 20;
  std::string loader_spec;
  std::string hash = "mailgun";
  int replicas = 0;  // the algorithm's default (HashRing::DefaultReplicas)
  std::string log_level = "info";
  std::string log_format = "text";
  DiscoveryFlags disc;
  TlsFlags tls;
  groupcache::daemon::LimitFlags limit_flags;
  std::string config_path;
  std::string check_config;
  auto* config_option =
      app.add_option("--config", config_path, "YAML file of settings and groups (config.h)");
  app.add_option("--check-config", check_config,
                 "validate this config file (and the flags), print a summary and exit")
      ->excludes(config_option);
  app.add_option("--listen", listen,
                 "HOST:PORT to serve on (with --discovery: where to bind, default "
                 "NODE_IP:GROUP_PORT)");
  app.add_option("--self", self, "this node's peer URL (default http(s)://LISTEN)");
  app.add_option("--peers", peers, "peer URLs, this node included")->delimiter(',');
  app.add_option("--group", group_name, "group to serve");
  app.add_option("--cache-bytes", cache_bytes, "cache budget of the group")
      ->check(CLI::NonNegativeNumber);
  std::string eviction = "s3fifo";
  app.add_option("--eviction", eviction,
                 "eviction policy of the caches: s3fifo (default; hits take no lock) or lru "
                 "(Go's exact order)")
      ->check(CLI::IsMember({"s3fifo", "lru"}));
  app.add_option("--loader", loader_spec,
                 "synthetic:SIZE[:DELAY_MS], dir:PATH or http:URL_TEMPLATE (one {key}, e.g. "
                 "http:https://origin/images/{key}); required without groups in --config");
  app.add_option(
         "--hash", hash,
         "ring: mailgun (default), golang (original groupcache) or balanced (C++ nodes only)")
      ->check(CLI::IsMember({"mailgun", "golang", "balanced"}));
  app.add_option("--replicas", replicas,
                 "ring points per peer (default 50, or 400 with --hash balanced)")
      ->check(CLI::PositiveNumber);
  app.add_option("--log-level", log_level, "debug, info, warn, error or off");
  app.add_option("--log-format", log_format, "text (default) or json (one object per line)");
  app.add_option("--discovery", disc.kind, "find peers through: static, nats, kubernetes or mdns")
      ->check(CLI::IsMember({"static", "nats", "kubernetes", "mdns"}));
  app.add_option("--kube-namespace", disc.kube_namespace,
                 "namespace of the pods (default: the pod's own, or the kubeconfig's)");
  app.add_option("--kubeconfig", disc.kubeconfig,
                 "kubeconfig file (default: in-cluster service-account credentials)")
      ->envname("KUBECONFIG");
  app.add_option("--kube-watch-timeout", disc.kube_watch_timeout,
                 "timeoutSeconds of each watch (default 30s)");
  app.add_option("--kube-backoff-max", disc.kube_backoff_max,
                 "longest pause between retries while the API server fails (default 10s)");
  app.add_option("--mdns-name", disc.mdns_name,
                 "mDNS instance name (default: the node name); a taken one becomes \"NAME #2\"")
      ->envname("MDNS_NAME");
  app.add_option("--mdns-service", disc.mdns_service,
                 "DNS-SD service type (default _groupcache._tcp)")
      ->envname("MDNS_SERVICE");
  app.add_option("--mdns-domain", disc.mdns_domain, "mDNS domain (default local.)")
      ->envname("MDNS_DOMAIN");
  app.add_flag("--mdns-ipv6", disc.mdns_ipv6, "mDNS over IPv6 too");
  app.add_option("--mdns-interface", disc.mdns_interfaces,
                 "interfaces mDNS runs on (default: every multicast-capable non-loopback one)")
      ->delimiter(',');
  app.add_option("--mdns-ttl", disc.mdns_ttl,
                 "TTL of the published records; a killed node leaves within it (default 10s)");
  app.add_option("--node-name", disc.node_name, "this node's name (default NODE_IP)")
      ->envname("NODE_NAME");
  app.add_option("--node-ip", disc.node_ip, "address the peers reach this node at")
      ->envname("NODE_IP");
  app.add_option("--group-port", disc.group_port, "peer-protocol port")->envname("GROUP_PORT");
  app.add_option("--nats-server", disc.nats_server, "nats://HOST:PORT[,...]")
      ->envname("NATS_SERVER");
  app.add_option("--nats-subject", disc.nats_subject, "NATS subject the nodes share")
      ->envname("NATS_SUBJECT");
  app.add_option("--app-name", disc.app_name,
                 "application name (NATS connection name; the Kubernetes pods' labels)")
      ->envname("APP_NAME");
  app.add_option("--discovery-timeout", disc.timeout, "wait for discovery answers (e.g. 1s)")
      ->envname("DISCOVERY_TIMEOUT");
  app.add_option("--nats-heartbeat", disc.heartbeat, "announce period (default 500ms)");
  app.add_option("--nats-node-ttl", disc.node_ttl,
                 "silence after which a node is gone (default 3 x heartbeat)");
  app.add_option("--tls-cert", tls.cert,
                 "PEM certificate chain: serve TLS only, as an https:// node");
  app.add_option("--tls-key", tls.key, "PEM private key of --tls-cert");
  app.add_option("--tls-ca", tls.ca,
                 "PEM CAs that peers' certificates must chain to "
                 "(default: the system's)");
  app.add_option("--tls-client-cert", tls.client_cert,
                 "PEM certificate presented to peers (mutual TLS)");
  app.add_option("--tls-client-key", tls.client_key, "PEM private key of --tls-client-cert");
  // The pairs are checked after the file is applied (CheckTlsPairs): a
  // pair may be split between the file and the command line.
  app.add_flag("--tls-require-client-cert", tls.require_client_cert,
               "mutual TLS: refuse peers without a certificate from --tls-ca (needs --tls-cert "
               "and --tls-ca)");
  limit_flags.AddTo(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is 0; a bad setting is 2, whoever finds it.
    return app.exit(e) == 0 ? 0 : 2;
  }

  // The file fills in the flags not given, before anything reads them.
  if (!check_config.empty()) config_path = check_config;
  std::optional<groupcache::daemon::Config> config;
  groupcache::daemon::FlagSources from_file;
  if (!config_path.empty()) {
    auto read = groupcache::daemon::ReadConfig(config_path);
    if (!read.ok()) return Fail(read.status().message());
    config = std::move(*read);
    if (auto s = groupcache::daemon::ApplyConfig(*config, &app, &from_file); !s.ok()) {
      return Fail(s.message());
    }
  }
  if (auto s = groupcache::daemon::CheckTlsPairs(app, config ? &*config : nullptr, from_file);
      !s.ok()) {
    return Fail(s.message());
  }

  groupcache::HttpPoolOptions options;
  groupcache::daemon::DaemonLimits limits;
  if (groupcache::Status s = limit_flags.Apply(&options, &limits); !s.ok()) {
    return Fail(s.message());
  }
  auto groups = groupcache::daemon::PlanGroups(
      config ? &*config : nullptr, app, from_file,
      {group_name, cache_bytes, loader_spec, *groupcache::daemon::ParseEviction(eviction)},
      limits.loader);
  if (!groups.ok()) return Fail(groups.status().message());

  groupcache::LogLevel level = groupcache::LogLevel::kInfo;
  if (!groupcache::ParseLogLevel(log_level, &level)) return Fail("bad --log-level " + log_level);
  groupcache::LogFormat format = groupcache::LogFormat::kText;
  if (!groupcache::ParseLogFormat(log_format, &format)) {
    return Fail("bad --log-format " + log_format);
  }
  if (disc.kind.empty() && listen.empty()) return Fail("--listen or --discovery is required");
  if (disc.kind.empty()) {
    // A fixed peer list: checked here, so that --check-config checks it too.
    if (self.empty()) {
      if (WildcardListen(listen)) {
        return Fail("--listen " + listen +
                    " listens on every address: give --self, the URL the peers reach this "
                    "node at");
      }
      self = (tls.cert.empty() ? "http://" : "https://") + listen;
    }
    for (const std::string& url : peers) {
      if (std::string why = BadPeerUrl(url); !why.empty()) {
        std::string message = "--peers: '" + url + "' is not a peer URL (";
        message += why;
        message += "; want http://HOST:PORT or https://HOST:PORT)";
        return Fail(message);
      }
    }
    if (std::string why = BadPeerUrl(self); !why.empty()) {
      return Fail("--self: '" + self + "' is not a peer URL (" + why + ")");
    }
  }
  if (!check_config.empty()) {
    for (const auto& plan : *groups) {
      groupcache::daemon::LoadCounter scratch(0);
      auto getter = groupcache::daemon::MakeLoader(plan.loader, plan.loader_options, &scratch);
      if (!getter.ok()) return Fail(plan.where + ": " + getter.status().message());
    }
    std::cout << check_config << ": ok: " << groupcache::daemon::DescribeGroups(*groups) << '\n';
    return 0;
  }

  // Block the stop signals in every thread; main waits for them below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto logger = groupcache::NewDefaultLogger({level, "groupcached", format});
  // A server wants every descriptor it is allowed: the soft limit (often
  // 1024) is below max_connections plus the connections to peers, and the
  // hard limit is what the operator set. (Go's runtime does the same.)
  if (rlimit nofile{};
      getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) {
      logger->Warn("cannot raise the descriptor limit",
                   {{"hard", std::to_string(nofile.rlim_max)}});
    }
  }
  auto registry = std::make_shared<groupcache::Registry>(groupcache::RegistryOptions{logger});
  // One counter per group, so that /loads tells the groups' keys apart.
  groupcache::daemon::LoadCounters loads;
  groupcache::daemon::OriginStats origin_stats;
  std::string group_names;
  for (const auto& plan : *groups) {
    auto& counter = loads.try_emplace(plan.name, limits.loads_max_keys).first->second;
    auto getter =
        groupcache::daemon::MakeLoader(plan.loader, plan.loader_options, &counter, &origin_stats);
    if (!getter.ok()) return Fail(plan.where + ": " + getter.status().message());
    auto group = registry->NewGroup(
        {.name = plan.name,
         .cache_bytes = plan.cache_bytes,
         .getter = *getter,
         .cache_shards = plan.cache_shards,
         .eviction = plan.eviction,
         .getter_never_blocks = groupcache::daemon::LoaderNeverBlocks(plan.loader)});
    if (!group.ok()) return Fail(plan.where + ": " + group.status().ToString());
    group_names += (group_names.empty() ? "" : ",") + plan.name;
  }

  options.ring.replicas = replicas;
  groupcache::ParseRingAlgorithm(hash, &options.ring.algorithm);
  ApplyTls(tls, &options);

  // Either a pool of our own with a fixed peer list, or a Node.
  // Declared before the pool: its /readyz handler borrows it.
  groupcache::daemon::Readiness readiness;
  // Every endpoint beside the peer protocol, added before the server reads
  // its first request: a probe never finds the port open and its path
  // missing. /readyz answers 503 until the node has joined.
  auto add_endpoints = [&](groupcache::HttpPool& p) {
    p.AddHandler("GET", "/readyz", readiness.Handler());
    p.AddHandler("GET", "/metrics",
                 [&registry, &loads, &origin_stats, &disc, &p](const groupcache::HttpRequest&) {
                   std::string extra =
                       "# HELP groupcache_peers Peers on this node's hash ring, itself included.\n"
                       "# TYPE groupcache_peers gauge\n"
                       "groupcache_peers " +
                       std::to_string(p.Peers().size()) + "\n" + LoadsPrometheus(loads) +
                       origin_stats.Prometheus();
                   if (disc.kube != nullptr) extra += KubernetesMetrics(*disc.kube);
                   return groupcache::HttpResponse{200, "text/plain; version=0.0.4",
                                                   groupcache::RenderPrometheus(*registry, extra)};
                 });
    p.AddHandler("GET", "/peers", [&p](const groupcache::HttpRequest&) {
      std::vector<std::string> urls = p.Peers();
      std::sort(urls.begin(), urls.end());
      return groupcache::HttpResponse{200, "application/json", nlohmann::json(urls).dump() + "\n"};
    });
    p.AddHandler("GET", "/loads", [&loads](const groupcache::HttpRequest&) {
      return groupcache::HttpResponse{200, "application/json", LoadsJson(loads)};
    });
    p.AddHandler("GET", "/healthz", [](const groupcache::HttpRequest&) {
      return groupcache::HttpResponse{200, "text/plain", "ok\n"};
    });
  };
  std::unique_ptr<groupcache::HttpPool> own_pool;
  std::unique_ptr<groupcache::Node> node;
  groupcache::HttpPool* pool = nullptr;
  if (disc.kind.empty()) {
    // A ring without this node's own URL sends its keys to the other
    // peers, and theirs disagree with it: allowed (a node may join later),
    // but almost always a mistake.
    if (!peers.empty() && std::find(peers.begin(), peers.end(), self) == peers.end()) {
      logger->Warn("this node's URL is not among --peers: the rings will disagree",
                   {{"self", self}});
    }
    // The ring too is whole before the first request: a key asked for at
    // once is loaded by its owner, as any later.
    auto started = groupcache::HttpPool::Start(registry.get(), self, listen, options,
                                               [&](groupcache::HttpPool& p) {
                                                 p.SetPeers(peers);
                                                 registry->SetPeerPicker(p.picker());
                                                 add_endpoints(p);
                                               });
    if (!started.ok()) return Fail(started.status().ToString());
    own_pool = std::move(*started);
    pool = own_pool.get();
  } else {
    groupcache::NodeOptions node_options;
    node_options.name = disc.node_name;
    node_options.host = disc.node_ip;
    node_options.port = disc.group_port;
    if (!listen.empty()) {
      size_t colon = listen.rfind(':');
      node_options.listen_host = listen.substr(0, colon);
      // [V6]:PORT: Node brackets an IPv6 host itself.
      std::string& host = node_options.listen_host;
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      }
      if (node_options.port == 0 && colon != std::string::npos) {
        node_options.port = std::atoi(listen.c_str() + colon + 1);
      }
    }
    if (node_options.port == 0) return Fail("GROUP_PORT (--group-port) is not set");
    // The flags hold NODE_NAME, NODE_IP and GROUP_PORT already, below
    // the command line (CLI11's envname): only the defaults are missing.
    auto filled = groupcache::NodeOptionsWithDefaults(node_options);
    if (!filled.ok()) return Fail(filled.status().message());
    node_options = *filled;
    node_options.pool = options;
    node_options.shutdown_timeout = limits.shutdown_timeout;
    node_options.logger = logger;
    node_options.on_serving = add_endpoints;
    node_options.registry = registry;
    auto sd = MakeDiscovery(disc, peers, logger);
    if (!sd.ok()) return Fail(sd.status().message());
    auto started = groupcache::Node::Start(node_options, std::move(*sd));
    if (!started.ok()) return Fail(started.status().ToString());
    node = std::move(*started);
    pool = &node->pool();
    self = node->url();
  }

  logger->Info("listening", {{"port", std::to_string(pool->port())},
                             {"self", self},
                             {"group", group_names},
                             {"hash", hash},
                             {"discovery", disc.kind.empty() ? "none" : disc.kind}});
  if (format == groupcache::LogFormat::kText) {  // JSON lines only, with json
    std::fprintf(stderr, "listening on port %d as %s\n", pool->port(), self.c_str());
  }

  // The groups exist and the node has joined (Node::Start returns once its
  // first discovery is applied).
  readiness.SetReady();

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  // Leave first, so that the peers stop routing keys here and load
  // balancers stop sending clients, while whatever still comes is served.
  readiness.SetNotReady("draining: shutting down");
  logger->Info("draining", {{"signal", std::to_string(signal_number)},
                            {"drain_ms", std::to_string(limits.drain_timeout.count())}});
  if (node) {
    if (groupcache::Status s = node->Leave(); !s.ok()) {
      logger->Warn("leave", {{"error", s.ToString()}});
    }
  }
  const auto drain_end = std::chrono::steady_clock::now() + limits.drain_timeout;
  for (auto left = limits.drain_timeout; left.count() > 0;
       left = std::chrono::duration_cast<std::chrono::milliseconds>(
           drain_end - std::chrono::steady_clock::now())) {
    timespec wait{};
    wait.tv_sec = static_cast<time_t>(left.count() / 1000);
    wait.tv_nsec = static_cast<decltype(wait.tv_nsec)>(left.count() % 1000 * 1000000);
    if (sigtimedwait(&stop_signals, nullptr, &wait) >= 0) break;  // a second signal
    if (errno != EINTR) break;                                    // EAGAIN: the drain is over
  }
  logger->Info("stopping", {{"signal", std::to_string(signal_number)}});
  if (node) {
    if (groupcache::Status s = node->Stop(); !s.ok())
      logger->Warn("stop", {{"error", s.ToString()}});
  } else {
    registry->SetPeerPicker(nullptr);
    own_pool->Shutdown(limits.shutdown_timeout);
  }
  return 0;
}
