// NatsProvider: nodes find each other through a NATS subject
// (groupcache::discovery_nats; go: discovery/nats of the Tochemey fork, and
// wire-compatible with it).
//
// Protocol. Every registered node subscribes to the subject. Messages are
// the protobuf `nats.Message {host, port, name, message_type}` of
// protos/nats/nats.proto, one per NATS message:
//   REGISTER    published by Register, then every `heartbeat` while
//               registered and connected. (The Go code never sends it, so Go
//               nodes do not learn of newcomers; ours announce themselves.)
//   DEREGISTER  published by Deregister (and so by Close when registered).
//   REQUEST     published by DiscoverNodes with a reply inbox; every other
//               registered node answers with a RESPONSE about itself, and
//               DiscoverNodes returns those that arrive within `timeout`
//               (less any that sent DEREGISTER meanwhile). Also published,
//               answered the same way, by Register, after a reconnect, and
//               to ask quiet nodes whether they are alive (Liveness).
// A REGISTER, REQUEST or RESPONSE from an unknown address is a kAdded event
// (a REQUEST counts because only registered nodes send one: that is how a Go
// node, which never sends REGISTER, is learned at once); a DEREGISTER is a
// kRemoved event; a known address with a new name is kModified. Messages
// from this node's own address are ignored.
//
// Liveness. A node killed without deregistering is detected by its
// silence: a node that has sent REGISTER and is then not heard from for
// `node-ttl` is removed. Bound: a node that dies is reported removed at most
// `node-ttl` (plus network delay) after its death, and never earlier than
// `node-ttl - heartbeat` after it. With the defaults (500 ms, 1.5 s): within
// 1.5 s. A node known only from its REQUESTs and RESPONSEs (a Go node, which
// never sends REGISTER, or one of ours killed before its first heartbeat)
// proves nothing by its silence, so after `node-ttl` without a word from such
// a node the provider sends a REQUEST (which asks every quiet node at once),
// and removes those that have not answered within `timeout`: at most
// `node-ttl + timeout` after its death (2.5 s with the defaults). The cost:
// each of our nodes that knows a quiet node sends one REQUEST per `node-ttl`,
// which every node answers.
//
// The NATS server going away. The connection reconnects forever, every
// `reconnect-wait` (plus up to 100 ms of jitter); NATS replays the
// subscriptions. While disconnected nobody is timed out (the cache peers
// are most likely still up; only their channel to us is not) and
// DiscoverNodes returns Unavailable. On reconnect the provider logs it,
// announces itself (REGISTER), gives every known node a fresh `node-ttl`,
// and sends a REQUEST: nodes that answer or heartbeat stay or are added,
// heartbeating nodes not heard within `node-ttl` and quiet (Go) nodes that
// do not answer within `timeout` are removed. A broken TCP connection is
// noticed at once; a silent one after at most two missed 2 s pings.
//
// Config keys (provider.h explains the self-* keys):
//   nats-server      required; "nats://host:port" (scheme "nats" or "tls",
//                    optional "user:password@", port default 4222); several
//                    separated by commas.
//   nats-subject     required; a NATS subject without wildcards.
//   app_name         required; names the NATS connection
//                    ("<app_name>/<self-name>") in server monitoring.
//   self-host, self-port   required; self-name optional.
//   timeout          DiscoverNodes' wait for responses, and a quiet node's
//                    to answer; default 1 s.
//   heartbeat        REGISTER period; default 500 ms.
//   node-ttl         silence after which a heartbeating node is gone (and a
//                    quiet one is asked); default 3 x heartbeat; must
//                    exceed heartbeat.
//   connect-timeout  bound on Initialize's connect; default 2 s.
//   reconnect-wait   pause between reconnect attempts; default 200 ms.
// Durations are durations or strings such as "750ms" (config.h).
//
// Errors: SetConfig returns InvalidArgument naming the key. Initialize
// returns Unavailable naming the server when it cannot connect within
// `connect-timeout` (per server URL). Calls out of order: FailedPrecondition
// (provider.h).
//
// Threads. Thread-safe. cnats delivers messages and connection events on
// its own threads; they only queue work for the provider's worker thread,
// which keeps the membership, answers REQUESTs, sends heartbeats and times
// nodes out. Watch callbacks run on a third thread (provider.h) with no lock
// held, so a slow callback never delays a heartbeat. The logger is called
// with no lock held.
//
// Example:
//   discovery::Config config;
//   config.SetString("nats-server", "nats://nats.internal:4222");
//   config.SetString("nats-subject", "groupcache.discovery");
//   config.SetString("app_name", "thumbnails");
//   auto provider = std::make_unique<discovery::NatsProvider>(logger);
//   auto sd = std::make_unique<discovery::ServiceDiscovery>(std::move(provider), config);

#ifndef GROUPCACHE_DISCOVERY_NATS_PROVIDER_H_
#define GROUPCACHE_DISCOVERY_NATS_PROVIDER_H_

#include <memory>
#include <string_view>
#include <vector>

#include "groupcache/discovery/config.h"
#include "groupcache/discovery/provider.h"
#include "groupcache/logger.h"
#include "groupcache/status.h"

namespace groupcache::discovery {

class NatsProvider final : public Provider {
 public:
  static constexpr std::string_view kId = "nats";
  // Config keys; see above.
  static constexpr std::string_view kServer = "nats-server";
  static constexpr std::string_view kSubject = "nats-subject";
  static constexpr std::string_view kAppName = "app_name";
  static constexpr std::string_view kTimeout = "timeout";
  static constexpr std::string_view kHeartbeat = "heartbeat";
  static constexpr std::string_view kNodeTtl = "node-ttl";
  static constexpr std::string_view kConnectTimeout = "connect-timeout";
  static constexpr std::string_view kReconnectWait = "reconnect-wait";

  // `logger` receives connection losses, reconnects and membership changes;
  // null means NewDefaultLogger(LogLevel::kInfo, "discovery").
  explicit NatsProvider(std::shared_ptr<Logger> logger = nullptr);
  ~NatsProvider() override;  // Close()
  NatsProvider(const NatsProvider&) = delete;
  NatsProvider& operator=(const NatsProvider&) = delete;

  std::string_view id() const override { return kId; }
  Status SetConfig(const Config& config) override;
  // Connects. Errors: Unavailable "nats discovery: cannot connect to NATS
  // server <url>: <reason>".
  Status Initialize() override;
  // Subscribes, announces this node (REGISTER), asks who is there (a REQUEST
  // whose answers feed the membership, hence Watch), and waits for the
  // server to have seen all of it. Errors: Unavailable.
  Status Register() override;
  // Announces the departure and unsubscribes. The membership is kept but
  // frozen (nobody is timed out) until the next Register.
  Status Deregister() override;
  // Blocks for `timeout`. Errors: Unavailable while disconnected.
  Result<std::vector<Node>> DiscoverNodes() override;
  Status Watch(WatchCallback callback) override;
  // Deregisters if registered, stops the threads and closes the connection.
  Status Close() override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace groupcache::discovery

#endif  // GROUPCACHE_DISCOVERY_NATS_PROVIDER_H_
