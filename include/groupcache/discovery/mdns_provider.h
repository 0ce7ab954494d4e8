// MdnsProvider: nodes on one LAN find each other through multicast DNS
// service discovery (RFC 6762 / RFC 6763), with no server at all
// (groupcache::discovery_mdns; go: discovery/mdns of the Tochemey fork).
//
// What is published. Each registered node publishes one instance of the
// service: `<name>.<service>.<domain>` with
//   PTR  <service>.<domain>               -> the instance (shared)
//   SRV  the instance -> <host>.<domain>:<group-port>   (unique: probed)
//   TXT  the instance: txtv=0, lo=1, la=2               (unique: probed)
//   PTR  _services._dns-sd._udp.<domain>  -> <service>.<domain>
//   A (and AAAA with `ipv6`) <host>.<domain>: the node's own address
//        (self-host), its identity in every ring, without the reverse-lookup
//        PTR (which another stack on the same address, an avahi-daemon or a
//        second node, would also claim: a conflict without end). Should no
//        allowed interface have that address any more (it changed), the
//        interfaces' current addresses instead, so that the others follow
//        the node; checked every second.
// Every other node browses the same service type and resolves each
// instance it sees to address + port: that is a node (name = the instance
// name). An instance seen on several interfaces or families counts once:
// its IPv4 address first, then a non-link-local IPv6 one (a link-local one
// would need a zone in the peer URL; it is skipped). Instances on this
// process's host name, or resolving to this node's address, are never
// reported.
//
// The engine: the embeddable Avahi core (Debian's libavahi-core, the mDNS
// stack avahi-daemon itself runs), in-process: no daemon, no D-Bus. It
// does what a conforming responder must and is easy to get subtly wrong:
// probing before use, conflict detection and resolution, announcements,
// the cache with its refresh queries at 80-95% of a record's TTL,
// known-answer suppression, duplicate suppression, goodbyes, rate limits,
// and the netlink interface monitor that follows addresses as they change.
// The price is a C library with its own event loop thread (an
// AvahiThreadedPoll), which we accept: discovery is not on a hot path. The
// other Debian option, the Avahi *client* library, needs avahi-daemon and
// D-Bus on every host; writing the protocol ourselves on Asio would be a
// few thousand lines of exactly the logic above.
//
// One thing Avahi does that we do not want: RFC 6762 §10.1 has a cache keep
// a record for one second after its goodbye, so a cleanly stopped node would
// stay in the rings for that second, answering nothing. The provider
// therefore also listens to the mDNS group itself (a second socket on port
// 5353, SO_REUSEPORT, the same interfaces) and parses responses with its own
// defensive parser (mdns/packet.h, fuzzed by fuzz/mdns_packet_fuzz.cc)
// looking only for goodbyes (TTL 0) of the service's PTR sent from the
// instance's own address: the instance leaves the ring at once. Should Avahi
// still have the instance 1.5 s later (it was re-announced), it is added
// back.
//
// Forged and broken packets. mDNS has no authentication: anyone on the
// LAN may send a goodbye, and Avahi applies a response's records one by one
// up to a malformed part, so a broken packet can also take records away.
// Avahi would then report a live node gone until it announces again (which
// Avahi rate-limits: seconds). So, for 2 s after the listener above sees a
// packet from port 5353 it cannot parse, or a goodbye from an address that
// is not the instance's, a removal Avahi reports is checked first: a fresh
// resolver (Avahi's cache, else the network) has 2 s to find the instance,
// and only then is it removed. Outside those windows a removal is an expiry
// or a real goodbye and is acted on at once. The listener joins the group on
// the allowed interfaces present at Initialize, over IPv4: on an interface
// that appears later (or over IPv6) nodes leave after Avahi's second.
//
// Record TTLs: `ttl`, default 10 s, for the PTR, SRV and TXT records (RFC
// 6762 suggests 75 minutes, which is for printers). Why 10 s: a node
// killed without goodbye leaves when its records expire in the others'
// caches, at most one TTL after they last heard it, so within ~10 s
// (+ up to 1 s of timer slack), inside the 15 s bound we promise. The cost
// is traffic: every cache refreshes each record near 80% of its TTL, about
// four small packets per node per 8 s, nothing on a LAN. Host address
// records keep Avahi's 120 s: the PTR's expiry is what removes a node.
//
// The host name published is "groupcache-<self-host>-<self-port>" (dots
// and colons as dashes), unique per node by construction, so that nodes
// sharing a machine's host name (containers, network namespaces) or its
// address do not have to fight over it. Should it still collide, it is
// renamed ("...-2") and everything is published again.
//
// Conflicts. Two nodes given the same instance name: the second to probe
// sees the conflict and renames itself as RFC 6763 §9 suggests ("name #2",
// then "#3", ...), logs it, and both are published.
//
// Bounds. A node that starts is seen by the others once its probing is
// done: about 1 s. A node that stops cleanly: its goodbye is sent by
// Deregister/Close, and the others drop it when it arrives (the fast path
// above; 1 s later without it). A node killed: within `ttl` (+ 1 s; up to
// 5 s more if a suspicious packet came just then: Avahi's resolver gives up
// on vanished records after 5 s). A node whose address
// changes: Avahi withdraws the old address and announces the new one; the
// others report removed(old) + added(new) one to two seconds later.
// (Measured in tests/mdns/cluster_test.py: 3 nodes converge in ~1.0 s, 20
// in ~2 s; a clean stop leaves the rings in ~0.05 s, a SIGKILL in ~10.2 s.)
// Note that the node's own identity (self-host, from NODE_IP) is fixed: a
// node whose address changes keeps its old address in its own ring until
// restarted.
//
// Several mDNS stacks on one host. Avahi binds port 5353 with SO_REUSEADDR
// and SO_REUSEPORT, as avahi-daemon, mDNSResponder and python-zeroconf do,
// so a running avahi-daemon (or another groupcached) on the same host is
// fine: every stack receives the multicast traffic. Only an avahi-daemon
// configured with disallow-other-stacks=yes refuses us; Initialize then
// fails saying so.
//
// Config keys (the reference's, plus interfaces and ttl):
//   name        the instance name (a DNS-SD label: 1..63 bytes, UTF-8,
//               any characters); default self-name, else "groupcache".
//   service     the service type, "_name._tcp" or "_name._udp"; default
//               "_groupcache._tcp".
//   domain      default "local."; only .local is multicast.
//   group-port  the port published in the SRV record; default self-port.
//   ipv6        bool, default false: IPv4 only. True: also IPv6.
//   interfaces  string list; default: every multicast-capable interface
//               that is up and not loopback (Avahi's rule).
//   ttl         PTR/SRV/TXT TTL, whole seconds in 1s..1h; default 10s.
//   register-timeout  how long Register waits for probing; default 5s.
//   self-host, self-port (provider.h): this node; self-port is the default
//               group-port. self-host must be an IP address the node can
//               publish (IPv6 only with `ipv6`, never link-local): it is
//               what the others put in their rings, and a node hashing
//               itself under another name would disagree with them about
//               every key. Not found on an allowed interface, it is
//               logged once and the interfaces' addresses are published.
//
// Lifecycle (provider.h). Initialize starts Avahi and browsing. Register
// publishes and waits until probing succeeded (a conflict renames and goes
// on); Unavailable if Avahi refuses the records. If probing has not ended
// within `register-timeout` (no interface up yet), Register logs a warning
// and returns OK: publishing completes in the background.
// Deregister withdraws the instance (goodbye); Close stops Avahi (goodbyes
// for everything left). DiscoverNodes returns what is resolved now.
//
// Errors: SetConfig: InvalidArgument naming the key. Initialize:
// Unavailable with Avahi's reason (no socket, port 5353 refused).
//
// Threads. Thread-safe. Avahi runs on its own thread and calls us there
// with its lock held; every provider method takes that lock. Watch
// callbacks run on another thread (provider.h). Log lines about membership
// are written from Avahi's thread; Avahi's own warnings go to the logger of
// the provider initialised last (Avahi's log hook is process-wide).
//
// Example:
//   discovery::Config config;
//   config.SetString("service", "_thumbs._tcp");
//   auto sd = std::make_unique<discovery::ServiceDiscovery>(
//       std::make_unique<discovery::MdnsProvider>(logger), config);

#ifndef GROUPCACHE_DISCOVERY_MDNS_PROVIDER_H_
#define GROUPCACHE_DISCOVERY_MDNS_PROVIDER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "groupcache/discovery/config.h"
#include "groupcache/discovery/provider.h"
#include "groupcache/logger.h"
#include "groupcache/status.h"

namespace groupcache::discovery {

class MdnsProvider final : public Provider {
 public:
  static constexpr std::string_view kId = "mdns";
  // Config keys; see above.
  static constexpr std::string_view kName = "name";
  static constexpr std::string_view kService = "service";
  static constexpr std::string_view kDomain = "domain";
  static constexpr std::string_view kGroupPort = "group-port";
  static constexpr std::string_view kIpv6 = "ipv6";
  static constexpr std::string_view kInterfaces = "interfaces";
  static constexpr std::string_view kTtl = "ttl";
  static constexpr std::string_view kRegisterTimeout = "register-timeout";

  // `logger` null: NewDefaultLogger(LogLevel::kInfo, "discovery").
  explicit MdnsProvider(std::shared_ptr<Logger> logger = nullptr);
  ~MdnsProvider() override;  // Close()
  MdnsProvider(const MdnsProvider&) = delete;
  MdnsProvider& operator=(const MdnsProvider&) = delete;

  std::string_view id() const override { return kId; }
  Status SetConfig(const Config& config) override;
  Status Initialize() override;
  Status Register() override;
  Status Deregister() override;
  Result<std::vector<Node>> DiscoverNodes() override;
  Status Watch(WatchCallback callback) override;
  Status Close() override;

  // The instance name published now: `name`, or what a conflict renamed it
  // to. Empty when not registered.
  std::string InstanceName() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace groupcache::discovery

#endif  // GROUPCACHE_DISCOVERY_MDNS_PROVIDER_H_
