#include "groupcache/discovery/mdns_provider.h"

#include <arpa/inet.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-common/strlst.h>
#include <avahi-common/thread-watch.h>
#include <avahi-common/timeval.h>
#include <avahi-core/core.h>
#include <avahi-core/log.h>
#include <avahi-core/lookup.h>
#include <avahi-core/publish.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "event_dispatcher.h"
#include "key_error.h"
#include "lifecycle.h"
#include "packet.h"

namespace groupcache::discovery {

using internal::Call;
using internal::CheckCall;
using internal::KeyError;
using internal::State;

namespace {

constexpr std::string_view kLog = "mdns discovery: ";
constexpr uint16_t kMdnsPort = 5353;
// How long an instance whose goodbye we saw stays out of the ring before we
// believe Avahi again: past Avahi's own one-second goodbye grace.
constexpr int kGoodbyeRecheckMs = 1500;
// How long an instance Avahi reports gone, without a goodbye, may take to be
// found again before we believe it (see Impl::Verify).
constexpr int kVerifyMs = 2000;
// How often the host's addresses are compared with what we publish.
constexpr int kAddressPollMs = 1000;
// How long after a packet we could not trust Avahi's removals are checked:
// past Avahi's one-second goodbye grace.
constexpr int kSuspectMs = 2000;

std::string AvahiError(int code) { return avahi_strerror(code); }

// Avahi's log hook is a process-wide function pointer; it writes to the
// logger of the provider initialised last. Avahi's info lines ("Joining
// mDNS multicast group on interface ...") are debug for us.
struct AvahiLogSink {
  std::mutex mu;
  std::weak_ptr<Logger> logger;  // GUARDED_BY(mu)
};

AvahiLogSink& LogSink() {
  static AvahiLogSink sink;
  return sink;
}

void AvahiLog(AvahiLogLevel level, const char* text) {
  std::shared_ptr<Logger> logger;
  {
    AvahiLogSink& sink = LogSink();
    std::lock_guard lock(sink.mu);
    logger = sink.logger.lock();
  }
  if (!logger) return;
  std::string message = "mdns discovery (avahi): " + std::string(text);
  // Avahi warns whenever port 5353 is already taken, which is expected
  // beside an avahi-daemon or another node on the host (see the header).
  bool other_stack = message.find("another IPv") != std::string::npos;
  if (level <= AVAHI_LOG_WARN && !other_stack) {
    logger->Warn(message);
  } else if (level <= AVAHI_LOG_INFO) {
    logger->Debug(message);
  }
}

std::set<std::string> LoopbackInterfaces() {
  std::set<std::string> out = {"lo"};
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if ((i->ifa_flags & IFF_LOOPBACK) != 0) out.insert(i->ifa_name);
  }
  ::freeifaddrs(list);
  return out;
}

// "a.b.c." -> {"a", "b", "c"}; the service and domain we publish are plain
// labels (no escaped dots).
std::vector<std::string> Labels(std::string_view name) {
  std::vector<std::string> out;
  while (!name.empty()) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (!label.empty()) out.emplace_back(label);
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  return out;
}

// The host label we publish: unique per node (see the header).
std::string HostLabel(const Node& self) {
  std::string out = "groupcache-";
  for (char c : self.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    out += ok ? c : '-';
  }
  out += "-" + std::to_string(self.port);
  if (out.size() > 63) out.resize(63);
  return out;
}

bool IsLinkLocalV6(const AvahiAddress& a) {
  return a.proto == AVAHI_PROTO_INET6 && a.data.ipv6.address[0] == 0xfe &&
         (a.data.ipv6.address[1] & 0xc0) == 0x80;
}

// An address no peer can be reached at from another host: unspecified,
// loopback or multicast. A responder that resolves an instance to one
// (broken or hostile) would put it in every ring, where 127.0.0.1 is each
// node itself.
bool IsNoPeerAddress(const AvahiAddress& a) {
  if (a.proto == AVAHI_PROTO_INET) {
    uint32_t v = ntohl(a.data.ipv4.address);
    return v == 0 || (v >> 24) == 127 || (v >> 28) == 0xe;
  }
  const uint8_t* b = a.data.ipv6.address;
  static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  static constexpr uint8_t kAny[16] = {};
  return b[0] == 0xff || std::memcmp(b, kLoopback, 16) == 0 || std::memcmp(b, kAny, 16) == 0;
}

struct Settings {
  std::string name;
  std::string service = "_groupcache._tcp";
  std::string domain = "local.";
  int port = 0;
  bool ipv6 = false;
  std::vector<std::string> interfaces;
  uint32_t ttl_s = 10;
  Duration register_timeout = std::chrono::seconds(5);
  std::optional<Node> self;
  std::optional<AvahiAddress> self_address;  // self->host, parsed
};

Result<Settings> ParseSettings(const Config& config) {
  Settings s;
  std::optional<Node> self;
  if (config.Has(kSelfHost) || config.Has(kSelfPort)) {
    Result<Node> n = GetSelf(config);
    if (!n.ok()) return n.status();
    self = *n;
  }
  std::string default_name = "groupcache";
  if (config.Has(kSelfName)) {
    Result<std::string> n = config.GetString(kSelfName);
    if (!n.ok()) return n.status();
    if (!n->empty()) default_name = *n;
  }
  Result<std::string> name = config.GetStringOr(MdnsProvider::kName, default_name);
  if (!name.ok()) return name.status();
  if (name->empty()) name = default_name;
  if (!avahi_is_valid_service_name(name->c_str())) {
    return InvalidArgumentError(KeyError(MdnsProvider::kName, "\"" + *name +
                                                                  "\" is not a DNS-SD instance "
                                                                  "name (1..63 bytes)"));
  }
  s.name = *name;
  Result<std::string> service = config.GetStringOr(MdnsProvider::kService, s.service);
  if (!service.ok()) return service.status();
  if (!avahi_is_valid_service_type_strict(service->c_str())) {
    return InvalidArgumentError(KeyError(
        MdnsProvider::kService, "\"" + *service + "\" is not a service type like _name._tcp"));
  }
  s.service = *service;
  Result<std::string> domain = config.GetStringOr(MdnsProvider::kDomain, s.domain);
  if (!domain.ok()) return domain.status();
  std::vector<std::string> labels = Labels(*domain);
  if (!avahi_is_valid_domain_name(domain->c_str()) || labels.empty() ||
      !avahi_domain_equal(labels.back().c_str(), "local")) {
    return InvalidArgumentError(
        KeyError(MdnsProvider::kDomain, "\"" + *domain + "\" is not a .local domain"));
  }
  s.domain = *domain;
  Result<int64_t> port = config.GetIntOr(MdnsProvider::kGroupPort, self ? self->port : 0);
  if (!port.ok()) return port.status();
  if (*port < 1 || *port > 65535) {
    return InvalidArgumentError(
        KeyError(MdnsProvider::kGroupPort, "must be in 1..65535 (or give self-port)"));
  }
  s.port = static_cast<int>(*port);
  Result<bool> ipv6 = config.GetBoolOr(MdnsProvider::kIpv6, false);
  if (!ipv6.ok()) return ipv6.status();
  s.ipv6 = *ipv6;
  Result<StringList> interfaces = config.GetStringListOr(MdnsProvider::kInterfaces, {});
  if (!interfaces.ok()) return interfaces.status();
  for (const std::string& i : *interfaces) {
    if (i.empty() || i.size() >= IFNAMSIZ || i.find_first_of(" /\t") != std::string::npos) {
      return InvalidArgumentError(
          KeyError(MdnsProvider::kInterfaces, "\"" + i + "\" is not an interface name"));
    }
  }
  s.interfaces = *interfaces;
  Result<Duration> ttl = config.GetDurationOr(MdnsProvider::kTtl, std::chrono::seconds(10));
  if (!ttl.ok()) return ttl.status();
  if (*ttl < std::chrono::seconds(1) || *ttl > std::chrono::hours(1) ||
      *ttl % std::chrono::seconds(1) != Duration::zero()) {
    return InvalidArgumentError(
        KeyError(MdnsProvider::kTtl, "must be whole seconds in 1s..1h (DNS TTLs are seconds)"));
  }
  s.ttl_s = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(*ttl).count());
  Result<Duration> rt = config.GetDurationOr(MdnsProvider::kRegisterTimeout, s.register_timeout);
  if (!rt.ok()) return rt.status();
  if (rt->count() <= 0) {
    return InvalidArgumentError(KeyError(MdnsProvider::kRegisterTimeout, "must be positive"));
  }
  s.register_timeout = *rt;
  if (self) {
    // The node's own address is what it publishes and what every other
    // node puts in its ring: the node must hash itself under the same one.
    // A host name, or an address it cannot publish, would leave the rings
    // disagreeing about every key's owner.
    AvahiAddress a{};
    auto bad = [&](std::string_view why) {
      return InvalidArgumentError(KeyError(kSelfHost, "") + "\"" + self->host + "\" " +
                                  std::string(why));
    };
    if (avahi_address_parse(self->host.c_str(), AVAHI_PROTO_UNSPEC, &a) == nullptr) {
      return bad(
          "is not an IP address: mDNS publishes the node's address, which the others put "
          "in their rings (set NODE_IP)");
    }
    if (a.proto == AVAHI_PROTO_INET6 && !s.ipv6) {
      return bad("is an IPv6 address, published only with ipv6 (--mdns-ipv6)");
    }
    if (IsLinkLocalV6(a)) return bad("is a link-local IPv6 address, which is not published");
    s.self_address = a;
  }
  s.self = self;
  return s;
}

}  // namespace

class MdnsProvider::Impl {
 public:
  explicit Impl(std::shared_ptr<Logger> logger)
      : logger_(logger ? std::move(logger) : NewDefaultLogger(LogLevel::kInfo, "discovery")) {}
  ~Impl() { Close().IgnoreError(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status SetConfig(const Config& config) {
    std::lock_guard api(api_mu_);
    if (Status s = CheckCall(kId, Call::kSetConfig, GetState()); !s.ok()) return s;
    Result<Settings> s = ParseSettings(config);
    if (!s.ok()) return s.status();
    settings_ = std::move(*s);
    SetState(State::kConfigured);
    return {};
  }

  Status Initialize() {
    std::lock_guard api(api_mu_);
    if (Status s = CheckCall(kId, Call::kInitialize, GetState()); !s.ok()) return s;
    {
      AvahiLogSink& sink = LogSink();
      std::lock_guard lock(sink.mu);
      sink.logger = logger_;
      static std::once_flag once;
      std::call_once(once, [] { avahi_set_log_function(&AvahiLog); });
    }
    // poll_ is read by DiscoverNodes and InstanceName under poll_mu_.
    std::lock_guard poll_lock(poll_mu_);
    service_labels_ = Labels(settings_.service);
    for (std::string& l : Labels(settings_.domain)) service_labels_.push_back(std::move(l));

    poll_ = avahi_threaded_poll_new();
    if (poll_ == nullptr) return UnavailableError(std::string(kLog) + "cannot create Avahi's loop");

    AvahiServerConfig config;
    avahi_server_config_init(&config);
    // Only what we publish ourselves: no workstation or HINFO records that
    // a local avahi-daemon would also publish.
    config.publish_workstation = 0;
    config.publish_hinfo = 0;
    config.publish_domain = 0;
    // Our own address records instead (PublishAddresses): Avahi's would
    // carry reverse-lookup PTRs, which conflict forever with any other
    // stack on the same address (an avahi-daemon, a second node), and
    // would publish every address of the host, not the node's identity.
    config.publish_addresses = 0;
    config.use_ipv4 = 1;
    config.use_ipv6 = settings_.ipv6 ? 1 : 0;
    config.publish_aaaa_on_ipv4 = settings_.ipv6 ? 1 : 0;
    config.publish_a_on_ipv6 = 0;
    config.enable_wide_area = 0;
    config.enable_reflector = 0;
    config.disallow_other_stacks = 0;
    avahi_free(config.host_name);
    config.host_name =
        avahi_strdup(HostLabel(settings_.self.value_or(Node{"", "node", settings_.port})).c_str());
    for (const std::string& name : settings_.interfaces) {
      if (::if_nametoindex(name.c_str()) == 0) {
        logger_->Warn(
            std::string(kLog) + "no such interface (yet); mDNS starts on it when it appears",
            {{"interface", name}});
      }
      config.allow_interfaces = avahi_string_list_add(config.allow_interfaces, name.c_str());
    }
    // Avahi also runs on loopback interfaces; we do not (a peer at
    // 127.0.0.1 is nobody's peer), unless the operator names one.
    if (settings_.interfaces.empty()) {
      for (const std::string& name : LoopbackInterfaces()) {
        config.deny_interfaces = avahi_string_list_add(config.deny_interfaces, name.c_str());
      }
    }
    int error = 0;
    // Avahi calls ServerCallback from inside avahi_server_new, before it
    // returns the pointer: the callback takes it from its argument.
    server_ =
        avahi_server_new(avahi_threaded_poll_get(poll_), &config, &Impl::OnServer, this, &error);
    avahi_server_config_free(&config);
    if (server_ == nullptr) {
      avahi_threaded_poll_free(poll_);
      poll_ = nullptr;
      return UnavailableError(std::string(kLog) + "cannot start mDNS: " + AvahiError(error));
    }
    browser_ = avahi_s_service_browser_new(server_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                           settings_.service.c_str(), settings_.domain.c_str(),
                                           static_cast<AvahiLookupFlags>(0), &Impl::OnBrowse, this);
    if (browser_ == nullptr) {
      std::string why = AvahiError(avahi_server_errno(server_));
      FreeAvahi();
      return UnavailableError(std::string(kLog) + "cannot browse " + settings_.service + ": " +
                              why);
    }
    OpenGoodbyeSocket();
    if (avahi_threaded_poll_start(poll_) < 0) {
      FreeAvahi();
      return UnavailableError(std::string(kLog) + "cannot start Avahi's thread");
    }
    SetState(State::kInitialized);
    logger_->Info(std::string(kLog) + "browsing",
                  {{"service", settings_.service}, {"domain", settings_.domain}});
    return {};
  }

  Status Register() {
    std::lock_guard api(api_mu_);
    if (Status s = CheckCall(kId, Call::kRegister, GetState()); !s.ok()) return s;
    {
      std::lock_guard lock(reg_mu_);
      reg_state_ = RegState::kProbing;
    }
    {
      // Published from Avahi's thread: it reads the interfaces' addresses,
      // which are those of the thread's network namespace.
      AvahiLock lock(poll_);
      want_published_ = true;
      instance_ = settings_.name;
      if (publish_now_ == nullptr) {
        publish_now_ = TimeoutIn(0, &Impl::OnPublishNow, this);
      }
    }
    std::unique_lock lock(reg_mu_);
    bool done = reg_cv_.wait_for(lock, settings_.register_timeout,
                                 [&] { return reg_state_ != RegState::kProbing || closing_; });
    if (closing_) return CancelledError(std::string(kLog) + "closed while registering");
    if (!done) {
      // Still probing (or no interface yet): Avahi goes on in the
      // background; the node is published as soon as it can be.
      logger_->Warn(std::string(kLog) + "not published yet; going on in the background",
                    {{"instance", settings_.name}});
    } else if (reg_state_ == RegState::kFailed) {
      lock.unlock();
      Withdraw();
      return UnavailableError(std::string(kLog) + "cannot publish: " + reg_error_);
    }
    lock.unlock();
    SetState(State::kRegistered);
    return {};
  }

  Status Deregister() {
    std::lock_guard api(api_mu_);
    State state = GetState();
    if (Status s = CheckCall(kId, Call::kDeregister, state); !s.ok()) return s;
    if (state != State::kRegistered) return {};
    Withdraw();
    SetState(State::kInitialized);
    return {};
  }

  Result<std::vector<Node>> DiscoverNodes() {
    std::lock_guard poll(poll_mu_);
    if (Status s = CheckCall(kId, Call::kDiscoverNodes, GetState()); !s.ok()) return s;
    AvahiLock lock(poll_);
    return ReportedNodes();
  }

  Status Watch(WatchCallback callback) {
    if (!callback) return InvalidArgumentError(std::string(kLog) + "Watch with an empty callback");
    std::lock_guard api(api_mu_);
    if (Status s = CheckCall(kId, Call::kWatch, GetState()); !s.ok()) return s;
    AvahiLock lock(poll_);
    if (!dispatcher_.Start(std::move(callback))) {
      return FailedPreconditionError(std::string(kLog) + "Watch called twice");
    }
    for (const Node& node : ReportedNodes()) dispatcher_.Post(Event{Event::Kind::kAdded, node, {}});
    return {};
  }

  Status Close() {
    if (dispatcher_.OnDispatcherThread()) {
      return FailedPreconditionError(std::string(kLog) + "Close called from the Watch callback");
    }
    {
      std::lock_guard lock(reg_mu_);
      closing_ = true;
    }
    reg_cv_.notify_all();
    {
      std::lock_guard api(api_mu_);
      SetState(State::kClosed);
      std::lock_guard poll(poll_mu_);
      if (poll_ != nullptr) {
        // Stop Avahi's thread first: then nothing runs concurrently with
        // the frees below. Freeing the server sends the goodbyes of
        // whatever is still published (avahi_server_free flushes them
        // synchronously).
        avahi_threaded_poll_stop(poll_);
        FreeAvahi();
      }
    }
    // Outside the locks: a callback may be waiting in DiscoverNodes. (Its
    // own lock: two Closes must not join the dispatcher at once.)
    std::lock_guard stop(stop_mu_);
    dispatcher_.Stop();
    return {};
  }

  std::string InstanceName() const {
    std::lock_guard poll(poll_mu_);
    if (poll_ == nullptr) return {};
    AvahiLock lock(poll_);
    return group_ != nullptr ? instance_ : std::string();
  }

 private:
  enum class RegState { kProbing, kEstablished, kFailed };

  // Avahi's loop lock, held by Avahi's thread while it calls us.
  class AvahiLock {
   public:
    explicit AvahiLock(AvahiThreadedPoll* poll) : poll_(poll) {
      if (poll_ != nullptr) avahi_threaded_poll_lock(poll_);
    }
    ~AvahiLock() {
      if (poll_ != nullptr) avahi_threaded_poll_unlock(poll_);
    }
    AvahiLock(const AvahiLock&) = delete;
    AvahiLock& operator=(const AvahiLock&) = delete;

   private:
    AvahiThreadedPoll* poll_;
  };

  // One resolver per (interface, protocol) the instance is seen on.
  struct Resolver {
    Impl* impl = nullptr;
    std::string instance;
    AvahiSServiceResolver* handle = nullptr;
    std::optional<Node> found;  // its last FOUND, if usable
    bool ipv4 = true;
    int ifindex = 0;
    AvahiProtocol protocol = AVAHI_PROTO_UNSPEC;
    bool browsed = true;             // false once the browser has removed it
    AvahiTimeout* verify = nullptr;  // set while Avahi's "gone" is being checked
    // The host of its last FOUND (ours included), and the pending swap for
    // a fresh resolver when the instance moved to another host (Restart).
    std::string host;
    AvahiTimeout* restart = nullptr;
  };
  struct Address {
    AvahiIfIndex ifindex = AVAHI_IF_UNSPEC;
    AvahiAddress address{};
    std::string text;
    friend bool operator==(const Address& a, const Address& b) {
      return a.ifindex == b.ifindex && a.text == b.text;
    }
  };
  struct RecheckArg {
    Impl* impl;
    std::string instance;
  };
  struct Instance {
    std::map<std::pair<int, int>, std::unique_ptr<Resolver>> resolvers;
    std::optional<Node> reported;     // what Watch was last told
    bool gone_by_goodbye = false;     // left at its goodbye; see kGoodbyeRecheckMs
    AvahiTimeout* recheck = nullptr;  // while set, the instance is kept
    std::unique_ptr<RecheckArg> recheck_arg;
  };

  State GetState() const {
    std::lock_guard lock(state_mu_);
    return state_;
  }
  void SetState(State s) {
    std::lock_guard lock(state_mu_);
    state_ = s;
  }

  static void OnPublishNow(AvahiTimeout* /*t*/, void* userdata) {
    auto* impl = static_cast<Impl*>(userdata);
    impl->Poll()->timeout_free(impl->publish_now_);
    impl->publish_now_ = nullptr;
    if (!impl->want_published_) return;
    if (int rc = impl->Publish(impl->server_); rc < 0) impl->FailRegistration(AvahiError(rc));
  }

  // Publishes our addresses, then adds our service's records to a new entry
  // group and commits it (both probe at once). Avahi's thread.
  int Publish(AvahiServer* s) {
    PublishAddresses(s);
    if (addr_poll_ == nullptr) {
      addr_poll_ = TimeoutIn(kAddressPollMs, &Impl::OnAddressPoll, this);
    }
    if (group_ == nullptr) {
      group_ = avahi_s_entry_group_new(s, &Impl::OnGroup, this);
      if (group_ == nullptr) return avahi_server_errno(s);
    }
    std::array<char, AVAHI_DOMAIN_NAME_MAX> instance{};
    std::array<char, AVAHI_DOMAIN_NAME_MAX> type{};
    std::array<char, AVAHI_DOMAIN_NAME_MAX> enumeration{};
    const char* domain = settings_.domain.c_str();
    if (int rc = avahi_service_name_join(instance.data(), instance.size(), instance_.c_str(),
                                         settings_.service.c_str(), domain);
        rc < 0) {
      return rc;
    }
    if (int rc = avahi_service_name_join(type.data(), type.size(), nullptr,
                                         settings_.service.c_str(), domain);
        rc < 0) {
      return rc;
    }
    if (int rc = avahi_service_name_join(enumeration.data(), enumeration.size(), nullptr,
                                         "_services._dns-sd._udp", domain);
        rc < 0) {
      return rc;
    }
    const uint32_t ttl = settings_.ttl_s;
    auto add = [&](AvahiRecord* r, AvahiPublishFlags flags) {
      if (r == nullptr) return static_cast<int>(AVAHI_ERR_NO_MEMORY);
      int rc = avahi_server_add(s, group_, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC, flags, r);
      avahi_record_unref(r);
      return rc;
    };
    auto ptr = [&](const char* name, const char* target) {
      AvahiRecord* r = avahi_record_new_full(name, AVAHI_DNS_CLASS_IN, AVAHI_DNS_TYPE_PTR, ttl);
      if (r != nullptr) r->data.ptr.name = avahi_normalize_name_strdup(target);
      return r;
    };
    // The PTRs are shared records (every instance has one); SRV and TXT are
    // the instance's own, so they are probed (RFC 6762 §8).
    int rc = add(ptr(type.data(), instance.data()), static_cast<AvahiPublishFlags>(0));
    if (rc >= 0) {
      AvahiRecord* r =
          avahi_record_new_full(instance.data(), AVAHI_DNS_CLASS_IN, AVAHI_DNS_TYPE_SRV, ttl);
      if (r != nullptr) {
        r->data.srv.priority = 0;
        r->data.srv.weight = 0;
        r->data.srv.port = static_cast<uint16_t>(settings_.port);
        r->data.srv.name = avahi_normalize_name_strdup(avahi_server_get_host_name_fqdn(s));
      }
      rc = add(r, AVAHI_PUBLISH_UNIQUE);
    }
    if (rc >= 0) {
      AvahiRecord* r =
          avahi_record_new_full(instance.data(), AVAHI_DNS_CLASS_IN, AVAHI_DNS_TYPE_TXT, ttl);
      if (r != nullptr) {
        r->data.txt.string_list = avahi_string_list_new("txtv=0", "lo=1", "la=2", nullptr);
      }
      rc = add(r, AVAHI_PUBLISH_UNIQUE);
    }
    if (rc >= 0) rc = add(ptr(enumeration.data(), type.data()), static_cast<AvahiPublishFlags>(0));
    if (rc >= 0) rc = avahi_s_entry_group_commit(group_);
    if (rc < 0) {
      avahi_s_entry_group_reset(group_);
      return rc;
    }
    published_host_ = avahi_server_get_host_name_fqdn(s);
    return rc;
  }

  // The addresses our host name stands for: the node's own address (its
  // identity in every ring) on every allowed interface, while an allowed
  // interface has it. If none has it any more (the address changed), the
  // allowed interfaces' addresses, each on its interface, so that the
  // others follow the node to where it is now.
  std::vector<Address> WantedAddresses() {
    std::vector<Address> all;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return all;
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0 ||
          (i->ifa_flags & IFF_MULTICAST) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) {
        continue;
      }
      const std::vector<std::string>& allowed = settings_.interfaces;
      if (!allowed.empty() &&
          std::find(allowed.begin(), allowed.end(), i->ifa_name) == allowed.end()) {
        continue;
      }
      Address a;
      a.ifindex = static_cast<AvahiIfIndex>(::if_nametoindex(i->ifa_name));
      if (i->ifa_addr->sa_family == AF_INET) {
        a.address.proto = AVAHI_PROTO_INET;
        std::memcpy(&a.address.data.ipv4.address,
                    &reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
      } else if (i->ifa_addr->sa_family == AF_INET6 && settings_.ipv6) {
        a.address.proto = AVAHI_PROTO_INET6;
        std::memcpy(a.address.data.ipv6.address,
                    &reinterpret_cast<const sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
        if (IsLinkLocalV6(a.address)) continue;
      } else {
        continue;
      }
      std::array<char, AVAHI_ADDRESS_STR_MAX> text{};
      avahi_address_snprint(text.data(), text.size(), &a.address);
      a.text = text.data();
      all.push_back(std::move(a));
    }
    ::freeifaddrs(list);
    if (settings_.self_address) {
      for (Address& a : all) {
        if (avahi_address_cmp(&a.address, &*settings_.self_address) == 0) {
          a.ifindex = AVAHI_IF_UNSPEC;
          self_missing_ = false;
          return {a};
        }
      }
      if (!self_missing_) {
        self_missing_ = true;
        logger_->Warn(std::string(kLog) +
                          "self-host is not an address of an allowed interface; publishing the "
                          "interfaces' addresses, so the others will not see this node under it",
                      {{"self-host", settings_.self->host}});
      }
    }
    return all;
  }

  // (Re)publishes WantedAddresses() when they changed. Avahi's thread or
  // its lock held.
  void PublishAddresses(AvahiServer* s) {
    std::vector<Address> wanted = WantedAddresses();
    if (wanted == published_addrs_ && addr_group_ != nullptr) return;
    if (addr_group_ == nullptr) {
      addr_group_ = avahi_s_entry_group_new(s, &Impl::OnGroup, this);
      if (addr_group_ == nullptr) return;
    } else {
      avahi_s_entry_group_reset(addr_group_);  // goodbyes for the old ones
    }
    published_addrs_ = wanted;
    std::string texts;
    for (Address& a : wanted) {
      int rc = avahi_server_add_address(s, addr_group_, a.ifindex, AVAHI_PROTO_UNSPEC,
                                        AVAHI_PUBLISH_NO_REVERSE,
                                        avahi_server_get_host_name_fqdn(s), &a.address);
      if (rc < 0) {
        logger_->Warn(std::string(kLog) + "cannot publish an address",
                      {{"address", a.text}, {"error", AvahiError(rc)}});
        continue;
      }
      texts += (texts.empty() ? "" : ",") + a.text;
    }
    if (!avahi_s_entry_group_is_empty(addr_group_)) avahi_s_entry_group_commit(addr_group_);
    logger_->Info(std::string(kLog) + "publishing addresses",
                  {{"host", avahi_server_get_host_name_fqdn(s)}, {"addresses", texts}});
  }

  static void OnAddressPoll(AvahiTimeout* t, void* userdata) {
    auto* impl = static_cast<Impl*>(userdata);
    if (impl->want_published_) impl->PublishAddresses(impl->server_);
    timeval when{};
    avahi_elapse_time(&when, kAddressPollMs, 0);
    impl->Poll()->timeout_update(t, &when);
  }

  // Someone else answers for our host name with other addresses: take the
  // next name (Avahi's rule, "-2"); RUNNING then publishes everything again.
  void AddressGroupState(AvahiServer* s, AvahiEntryGroupState state) {
    if (state != AVAHI_ENTRY_GROUP_COLLISION) return;
    char* next = avahi_alternative_host_name(avahi_server_get_host_name(s));
    logger_->Warn(std::string(kLog) + "host name in use on the network; renaming",
                  {{"host", avahi_server_get_host_name(s)}, {"to", next}});
    published_addrs_.clear();
    if (republish_host_ == nullptr) {
      next_host_ = next;
      republish_host_ = TimeoutIn(0, &Impl::OnRenameHost, this);
    }
    avahi_free(next);
  }

  static void OnRenameHost(AvahiTimeout* /*t*/, void* userdata) {
    auto* impl = static_cast<Impl*>(userdata);
    impl->Poll()->timeout_free(impl->republish_host_);
    impl->republish_host_ = nullptr;
    if (impl->addr_group_ != nullptr) avahi_s_entry_group_reset(impl->addr_group_);
    if (int rc = avahi_server_set_host_name(impl->server_, impl->next_host_.c_str()); rc < 0) {
      impl->FailRegistration(AvahiError(rc));
    }
  }

  // Withdraws our instance: its goodbyes go out now.
  void Withdraw() {
    AvahiLock lock(poll_);
    want_published_ = false;
    if (addr_group_ != nullptr) avahi_s_entry_group_free(addr_group_);
    addr_group_ = nullptr;
    published_addrs_.clear();
    if (group_ != nullptr) {
      avahi_s_entry_group_free(group_);
      group_ = nullptr;
      logger_->Info(std::string(kLog) + "withdrawn", {{"instance", instance_}});
    }
  }

  // Frees every Avahi object. Avahi's thread is not running (stopped, or
  // never started).
  void FreeAvahi() {
    for (auto& [name, inst] : instances_) {
      for (auto& [key, r] : inst.resolvers) {
        if (r->verify != nullptr) Poll()->timeout_free(r->verify);
        if (r->restart != nullptr) Poll()->timeout_free(r->restart);
        if (r->handle != nullptr) avahi_s_service_resolver_free(r->handle);
      }
      if (inst.recheck != nullptr) Poll()->timeout_free(inst.recheck);
    }
    instances_.clear();
    reported_.clear();
    if (republish_ != nullptr) Poll()->timeout_free(republish_);
    republish_ = nullptr;
    if (republish_host_ != nullptr) Poll()->timeout_free(republish_host_);
    republish_host_ = nullptr;
    if (publish_now_ != nullptr) Poll()->timeout_free(publish_now_);
    publish_now_ = nullptr;
    if (addr_poll_ != nullptr) Poll()->timeout_free(addr_poll_);
    addr_poll_ = nullptr;
    if (addr_group_ != nullptr) avahi_s_entry_group_free(addr_group_);
    addr_group_ = nullptr;
    if (goodbye_watch_ != nullptr) Poll()->watch_free(goodbye_watch_);
    goodbye_watch_ = nullptr;
    if (goodbye_fd_ >= 0) ::close(goodbye_fd_);
    goodbye_fd_ = -1;
    if (browser_ != nullptr) avahi_s_service_browser_free(browser_);
    browser_ = nullptr;
    if (group_ != nullptr) avahi_s_entry_group_free(group_);
    group_ = nullptr;
    if (server_ != nullptr) avahi_server_free(server_);
    server_ = nullptr;
    avahi_threaded_poll_free(poll_);
    poll_ = nullptr;
  }

  const AvahiPoll* Poll() const { return avahi_threaded_poll_get(poll_); }
  // A timeout on the loop, `ms` from now (0: from the loop at once, as
  // what must not run inside a callback of Avahi's is scheduled).
  AvahiTimeout* TimeoutIn(unsigned ms, AvahiTimeoutCallback callback, void* userdata) const {
    timeval when{};
    avahi_elapse_time(&when, ms, 0);
    return Poll()->timeout_new(Poll(), &when, callback, userdata);
  }

  // ---- Avahi callbacks (Avahi's thread, its lock held) ----

  static void OnServer(AvahiServer* s, AvahiServerState state, void* userdata) {
    static_cast<Impl*>(userdata)->ServerState(s, state);
  }

  void ServerState(AvahiServer* s, AvahiServerState state) {
    switch (state) {
      case AVAHI_SERVER_RUNNING:
        // After a host rename our records name the old host: again.
        if (want_published_ && published_host_ != avahi_server_get_host_name_fqdn(s)) {
          if (group_ != nullptr) avahi_s_entry_group_reset(group_);
          published_addrs_.clear();
          if (int rc = Publish(s); rc < 0) FailRegistration(AvahiError(rc));
        }
        break;
      case AVAHI_SERVER_COLLISION: {
        // Someone else has our host name: take the next one and publish
        // again once it is ours (RUNNING above).
        char* next = avahi_alternative_host_name(avahi_server_get_host_name(s));
        logger_->Warn(std::string(kLog) + "host name in use; renaming",
                      {{"host", avahi_server_get_host_name(s)}, {"to", next}});
        int rc = avahi_server_set_host_name(s, next);
        avahi_free(next);
        if (rc < 0) FailRegistration(AvahiError(rc));
        if (group_ != nullptr) avahi_s_entry_group_reset(group_);
        break;
      }
      case AVAHI_SERVER_REGISTERING:
        // Avahi starts here; our records are committed alongside its
        // host-name probing, not after it (a second saved at start).
        break;
      case AVAHI_SERVER_FAILURE:
        logger_->Error(std::string(kLog) + "Avahi failed",
                       {{"error", AvahiError(avahi_server_errno(s))}});
        FailRegistration(AvahiError(avahi_server_errno(s)));
        break;
      case AVAHI_SERVER_INVALID: break;
    }
  }

  static void OnGroup(AvahiServer* s, AvahiSEntryGroup* g, AvahiEntryGroupState state,
                      void* userdata) {
    static_cast<Impl*>(userdata)->GroupState(s, g, state);
  }

  void GroupState(AvahiServer* s, AvahiSEntryGroup* g, AvahiEntryGroupState state) {
    if (g == addr_group_) {
      AddressGroupState(s, state);
      return;
    }
    if (g != group_) return;
    switch (state) {
      case AVAHI_ENTRY_GROUP_ESTABLISHED: {
        logger_->Info(std::string(kLog) + "published",
                      {{"instance", instance_},
                       {"service", settings_.service},
                       {"host", avahi_server_get_host_name_fqdn(s)},
                       {"port", std::to_string(settings_.port)}});
        {
          std::lock_guard lock(reg_mu_);
          reg_state_ = RegState::kEstablished;
        }
        reg_cv_.notify_all();
        break;
      }
      case AVAHI_ENTRY_GROUP_COLLISION: {
        // Another node has this instance name (RFC 6762 §9): take the next
        // one, "name #2", and probe again.
        char* next = avahi_alternative_service_name(instance_.c_str());
        logger_->Warn(std::string(kLog) + "instance name in use on the network; renaming",
                      {{"instance", instance_}, {"to", next}});
        instance_ = next;
        avahi_free(next);
        // Not from inside Avahi's conflict handling, which is still
        // walking the entries a reset would free: from the loop, at once.
        if (republish_ == nullptr) {
          republish_ = TimeoutIn(0, &Impl::OnRepublish, this);
        }
        break;
      }
      case AVAHI_ENTRY_GROUP_FAILURE: FailRegistration(AvahiError(avahi_server_errno(s))); break;
      case AVAHI_ENTRY_GROUP_UNCOMMITED:
      case AVAHI_ENTRY_GROUP_REGISTERING: break;
    }
  }

  static void OnRepublish(AvahiTimeout* /*t*/, void* userdata) {
    auto* impl = static_cast<Impl*>(userdata);
    impl->Poll()->timeout_free(impl->republish_);
    impl->republish_ = nullptr;
    if (!impl->want_published_ || impl->group_ == nullptr) return;
    avahi_s_entry_group_reset(impl->group_);
    if (int rc = impl->Publish(impl->server_); rc < 0) impl->FailRegistration(AvahiError(rc));
  }

  void FailRegistration(const std::string& why) {
    logger_->Error(std::string(kLog) + "cannot publish", {{"error", why}});
    {
      std::lock_guard lock(reg_mu_);
      reg_state_ = RegState::kFailed;
      reg_error_ = why;
    }
    reg_cv_.notify_all();
  }

  static void OnBrowse(AvahiSServiceBrowser* /*b*/, AvahiIfIndex interface, AvahiProtocol protocol,
                       AvahiBrowserEvent event, const char* name, const char* type,
                       const char* domain, AvahiLookupResultFlags flags, void* userdata) {
    static_cast<Impl*>(userdata)->Browse(interface, protocol, event, name, type, domain, flags);
  }

  void Browse(AvahiIfIndex interface, AvahiProtocol protocol, AvahiBrowserEvent event,
              const char* name, const char* type, const char* domain,
              AvahiLookupResultFlags /*flags*/) {
    switch (event) {
      case AVAHI_BROWSER_NEW: {
        // Resolved even when it is our own (flags): a remote node may have
        // the same name until we rename ourselves, and the browser reports a
        // name once; the resolver follows it to the remote records.
        Instance& inst = instances_[name];
        auto key = std::make_pair(static_cast<int>(interface), static_cast<int>(protocol));
        if (auto r = inst.resolvers.find(key); r != inst.resolvers.end()) {
          r->second->browsed = true;  // back while it was being verified
          return;
        }
        auto r = std::make_unique<Resolver>();
        r->impl = this;
        r->instance = name;
        r->ifindex = interface;
        r->ipv4 = protocol == AVAHI_PROTO_INET;
        r->protocol = protocol;
        r->handle = avahi_s_service_resolver_new(server_, interface, protocol, name, type, domain,
                                                 protocol, static_cast<AvahiLookupFlags>(0),
                                                 &Impl::OnResolve, r.get());
        if (r->handle == nullptr) {
          logger_->Warn(std::string(kLog) + "cannot resolve",
                        {{"instance", name}, {"error", AvahiError(avahi_server_errno(server_))}});
          // Kept while a goodbye's recheck is pending: its timer holds the
          // instance's RecheckArg.
          if (inst.resolvers.empty() && inst.recheck == nullptr) instances_.erase(name);
          return;
        }
        inst.resolvers.emplace(key, std::move(r));
        break;
      }
      case AVAHI_BROWSER_REMOVE: {
        auto it = instances_.find(name);
        if (it == instances_.end()) return;
        auto key = std::make_pair(static_cast<int>(interface), static_cast<int>(protocol));
        auto r = it->second.resolvers.find(key);
        if (r == it->second.resolvers.end()) return;
        r->second->browsed = false;
        if (r->second->found && !it->second.gone_by_goodbye && Suspect()) {
          // Perhaps not a real departure: see Verify.
          Verify(*r->second);
          return;
        }
        DropResolver(it->second, r);
        Update(name);
        break;
      }
      case AVAHI_BROWSER_FAILURE:
        logger_->Error(std::string(kLog) + "browsing failed",
                       {{"error", AvahiError(avahi_server_errno(server_))}});
        break;
      case AVAHI_BROWSER_ALL_FOR_NOW:
      case AVAHI_BROWSER_CACHE_EXHAUSTED: break;
    }
  }

  static void OnResolve(AvahiSServiceResolver* /*r*/, AvahiIfIndex /*interface*/,
                        AvahiProtocol /*protocol*/, AvahiResolverEvent event, const char* name,
                        const char* /*type*/, const char* /*domain*/, const char* host,
                        const AvahiAddress* a, uint16_t port, AvahiStringList* /*txt*/,
                        AvahiLookupResultFlags flags, void* userdata) {
    auto* r = static_cast<Resolver*>(userdata);
    r->impl->Resolved(*r, event, name, host, a, port, flags);
  }

  void Resolved(Resolver& r, AvahiResolverEvent event, const char* name, const char* host,
                const AvahiAddress* a, uint16_t port, AvahiLookupResultFlags flags) {
    // A failure is Avahi's verdict after five seconds of asking: gone.
    r.found.reset();
    if (r.verify != nullptr) {
      Poll()->timeout_free(r.verify);
      r.verify = nullptr;
    }
    // Our own instance is the one on our host name, whatever it is called
    // (Avahi's LOCAL flag also marks a peer's record that equals one of
    // ours, such as the TXT every node publishes).
    bool own =
        (flags & AVAHI_LOOKUP_RESULT_OUR_OWN) != 0 ||
        (host != nullptr && avahi_domain_equal(host, avahi_server_get_host_name_fqdn(server_)));
    if (event == AVAHI_RESOLVER_FOUND && host != nullptr) {
      const bool moved = !r.host.empty() && !avahi_domain_equal(host, r.host.c_str());
      r.host = host;
      if (moved) {
        // The name went from one host to another (ours to a remote node's
        // when we renamed after a conflict, or a node that restarted on
        // another host). Avahi's resolver then pairs the new SRV with the
        // old host's address record, and keeps that pair: a node was
        // reported at our own address with its port. A fresh resolver
        // reads both anew; until then nothing is found.
        Restart(r);
        Update(r.instance);
        return;
      }
    }
    if (event == AVAHI_RESOLVER_FOUND && a != nullptr && port != 0 && !own) {
      std::array<char, AVAHI_ADDRESS_STR_MAX> text{};
      avahi_address_snprint(text.data(), text.size(), a);
      if (IsLinkLocalV6(*a)) {
        logger_->Debug(std::string(kLog) + "skipping a link-local address", {{"instance", name}});
      } else if (IsNoPeerAddress(*a)) {
        logger_->Warn(std::string(kLog) + "skipping an instance resolved to an address no peer has",
                      {{"instance", name}, {"address", text.data()}});
      } else {
        Node node{name, text.data(), port};
        if (!(settings_.self && node.Address() == settings_.self->Address())) r.found = node;
      }
    } else if (event == AVAHI_RESOLVER_FAILURE) {
      logger_->Debug(
          std::string(kLog) + "instance no longer resolves",
          {{"instance", r.instance}, {"error", AvahiError(avahi_server_errno(server_))}});
    }
    if (!r.found && !r.browsed) {
      // Gone from the browser and unresolvable: free it, from the loop
      // rather than inside its own callback.
      r.verify = TimeoutIn(0, &Impl::OnVerified, &r);
    }
    Update(r.instance);
  }

  // Avahi's browser says an instance is gone, shortly after a packet we
  // could not trust (see Suspect). Avahi applies a response's records one
  // by one and keeps those before a malformed part, and takes a goodbye
  // from anyone, so such a packet can take a live node's PTR away; the
  // node would then be out until it announces again (seconds: Avahi
  // rate-limits that). So the node stays while a fresh resolver (from
  // Avahi's cache if its other records are still there, else by asking the
  // network) gets kVerifyMs to find it; only then is it gone.
  void Verify(Resolver& r) {
    if (r.verify != nullptr) return;
    logger_->Debug(std::string(kLog) + "checking that an instance is gone",
                   {{"instance", r.instance}});
    // The deadline first: a FOUND (even one delivered at once) cancels it.
    r.verify = TimeoutIn(kVerifyMs, &Impl::OnVerified, &r);
    AvahiSServiceResolver* old = r.handle;
    r.handle = NewResolver(r);
    if (r.handle == nullptr) {
      r.handle = old;  // keep the one we had; the deadline still decides
    } else {
      avahi_s_service_resolver_free(old);
      r.host.clear();  // a fresh resolver: its first host is not a move
    }
  }

  // A service resolver for r's instance on r's interface and protocol.
  AvahiSServiceResolver* NewResolver(Resolver& r) {
    return avahi_s_service_resolver_new(server_, r.ifindex, r.protocol, r.instance.c_str(),
                                        settings_.service.c_str(), settings_.domain.c_str(),
                                        r.protocol, static_cast<AvahiLookupFlags>(0),
                                        &Impl::OnResolve, &r);
  }

  // Replaces r's resolver with a fresh one, from the loop (this runs in
  // the old one's callback, which must not free it).
  void Restart(Resolver& r) {
    if (r.restart != nullptr) return;
    r.restart = TimeoutIn(0, &Impl::OnRestart, &r);
  }
  static void OnRestart(AvahiTimeout* /*t*/, void* userdata) {
    auto* r = static_cast<Resolver*>(userdata);
    r->impl->Restarted(*r);
  }
  void Restarted(Resolver& r) {
    Poll()->timeout_free(r.restart);
    r.restart = nullptr;
    logger_->Info(std::string(kLog) + "instance moved to another host; resolving it anew",
                  {{"instance", r.instance}, {"host", r.host}});
    AvahiSServiceResolver* fresh = NewResolver(r);
    // Out of memory or the server going down: keep the old one, as before.
    if (fresh == nullptr) return;
    avahi_s_service_resolver_free(r.handle);
    r.handle = fresh;
    r.host.clear();
  }

  static void OnVerified(AvahiTimeout* /*t*/, void* userdata) {
    auto* r = static_cast<Resolver*>(userdata);
    r->impl->Verified(*r);
  }

  // Nothing found it again in time: gone.
  void Verified(Resolver& r) {
    Poll()->timeout_free(r.verify);
    r.verify = nullptr;
    r.found.reset();
    const std::string name = r.instance;  // r may be freed below
    auto it = instances_.find(name);
    if (it == instances_.end()) return;
    if (!r.browsed) {
      for (auto i = it->second.resolvers.begin(); i != it->second.resolvers.end(); ++i) {
        if (i->second.get() == &r) {
          DropResolver(it->second, i);
          break;
        }
      }
    }
    Update(name);
  }

  // True for a while after the goodbye socket saw a packet from port 5353
  // that it could not parse, or a goodbye not sent from the instance's own
  // address: when Avahi then reports a removal, it is checked (Verify).
  // Otherwise a removal is a goodbye or an expiry, and acted on at once.
  bool Suspect() const { return std::chrono::steady_clock::now() < suspect_until_; }
  void MarkSuspect() {
    suspect_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(kSuspectMs);
  }

  template <typename Iterator>
  void DropResolver(Instance& inst, Iterator r) {
    if (r->second->verify != nullptr) Poll()->timeout_free(r->second->verify);
    if (r->second->restart != nullptr) Poll()->timeout_free(r->second->restart);
    avahi_s_service_resolver_free(r->second->handle);
    inst.resolvers.erase(r);
  }

  // Recomputes what an instance is (its best resolution) and reports the
  // difference.
  void Update(const std::string& name) {
    auto it = instances_.find(name);
    if (it == instances_.end()) return;
    Instance& inst = it->second;
    std::optional<Node> best;
    int best_rank = 0;
    if (!inst.gone_by_goodbye) {
      for (auto& [key, r] : inst.resolvers) {
        if (!r->found) continue;
        // IPv4 before IPv6; then the lowest interface index, so that every
        // node picks the same address when it can.
        int rank = (r->ipv4 ? 0 : 1 << 30) + r->ifindex;
        if (!best || rank < best_rank) {
          best = r->found;
          best_rank = rank;
        }
      }
    }
    if (best != inst.reported) {
      if (inst.reported) Unreport(*inst.reported);
      if (best) Report(*best);
      inst.reported = best;
    }
    if (inst.resolvers.empty() && inst.recheck == nullptr) instances_.erase(it);
  }

  // Several instances may resolve to one address (a node seen under its old
  // and its new name): the address is reported once.
  void Report(const Node& node) {
    std::vector<std::string>& names = reported_[node.Address()];
    names.push_back(node.name);
    if (names.size() > 1) return;
    logger_->Info(std::string(kLog) + "node added",
                  {{"instance", node.name}, {"address", node.Address()}});
    dispatcher_.Post(Event{Event::Kind::kAdded, node, {}});
  }

  void Unreport(const Node& node) {
    auto it = reported_.find(node.Address());
    if (it == reported_.end()) return;
    std::vector<std::string>& names = it->second;
    auto n = std::find(names.begin(), names.end(), node.name);
    if (n != names.end()) names.erase(n);
    if (!names.empty()) return;
    reported_.erase(it);
    logger_->Info(std::string(kLog) + "node removed",
                  {{"instance", node.name}, {"address", node.Address()}});
    dispatcher_.Post(Event{Event::Kind::kRemoved, node, {}});
  }

  std::vector<Node> ReportedNodes() const {
    std::vector<Node> out;
    std::set<std::string> seen;
    for (const auto& [name, inst] : instances_) {
      if (inst.reported && seen.insert(inst.reported->Address()).second) {
        out.push_back(*inst.reported);
      }
    }
    return out;
  }

  // ---- The goodbye fast path (see the header) ----

  // A second socket on the mDNS group, bound to the group address so that
  // it never takes a unicast datagram meant for Avahi. Best effort: without
  // it nodes leave one second later.
  void OpenGoodbyeSocket() {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &yes, sizeof(yes));
    // Only the groups this socket joins, on the interfaces allowed: not
    // whatever other sockets of the host joined elsewhere (Linux's default).
    int no = 0;
    ::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_ALL, &no, sizeof(no));
    sockaddr_in group{};
    group.sin_family = AF_INET;
    group.sin_port = htons(kMdnsPort);
    group.sin_addr.s_addr = htonl(0xe00000fbU);  // 224.0.0.251
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&group), sizeof(group)) < 0) {
      logger_->Debug(std::string(kLog) + "no goodbye listener",
                     {{"error", std::error_code(errno, std::generic_category()).message()}});
      ::close(fd);
      return;
    }
    int joined = 0;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) == 0) {
      std::set<std::string> done;
      for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
        if ((i->ifa_flags & IFF_MULTICAST) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
        const std::vector<std::string>& allowed = settings_.interfaces;
        if (!allowed.empty() &&
            std::find(allowed.begin(), allowed.end(), i->ifa_name) == allowed.end()) {
          continue;
        }
        if (!done.insert(i->ifa_name).second) continue;
        ip_mreqn req{};
        req.imr_multiaddr = group.sin_addr;
        req.imr_ifindex = static_cast<int>(::if_nametoindex(i->ifa_name));
        if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &req, sizeof(req)) == 0) ++joined;
      }
      ::freeifaddrs(list);
    }
    goodbye_fd_ = fd;
    goodbye_watch_ = Poll()->watch_new(Poll(), fd, AVAHI_WATCH_IN, &Impl::OnGoodbyeSocket, this);
    logger_->Debug(std::string(kLog) + "goodbye listener up",
                   {{"interfaces", std::to_string(joined)}});
  }

  static void OnGoodbyeSocket(AvahiWatch* /*w*/, int fd, AvahiWatchEvent /*event*/,
                              void* userdata) {
    static_cast<Impl*>(userdata)->ReadGoodbyes(fd);
  }

  void ReadGoodbyes(int fd) {
    // One byte more than the largest mDNS message, so that a larger one
    // reaches the parser too big (and is refused) rather than cut.
    std::array<uint8_t, mdns_internal::kMaxMessageSize + 1> buffer{};
    // A bounded batch per wake-up, so that a flood cannot starve Avahi.
    for (int i = 0; i < 64; ++i) {
      sockaddr_in from{};
      socklen_t from_size = sizeof(from);
      ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), 0,
                             reinterpret_cast<sockaddr*>(&from), &from_size);
      if (n <= 0) return;
      // RFC 6762 §6: responses come from port 5353; Avahi drops the rest
      // too, and so must we, or anyone could send a goodbye from anywhere.
      if (from.sin_family != AF_INET || ntohs(from.sin_port) != kMdnsPort) continue;
      Result<mdns_internal::Message> m = mdns_internal::ParseMessage(
          std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)));
      if (!m.ok()) {
        MarkSuspect();  // dropped; but Avahi may have used part of it
        continue;
      }
      std::array<char, INET_ADDRSTRLEN> source{};
      ::inet_ntop(AF_INET, &from.sin_addr, source.data(), source.size());
      for (const std::string& label : mdns_internal::Goodbyes(*m, service_labels_)) {
        Goodbye(label, source.data());
      }
    }
  }

  // A goodbye counts only from the instance's own address: one from
  // anywhere else is left to Avahi (and Verify).
  void Goodbye(const std::string& label, const std::string& source) {
    auto it = std::find_if(instances_.begin(), instances_.end(), [&](const auto& entry) {
      return mdns_internal::SameName({entry.first}, {label});
    });
    if (it == instances_.end() || it->second.gone_by_goodbye) return;
    if (mdns_internal::SameName({it->first}, {instance_})) return;  // our own, looped back
    Instance& inst = it->second;
    bool from_itself = std::any_of(
        inst.resolvers.begin(), inst.resolvers.end(),
        [&](const auto& r) { return r.second->found && r.second->found->host == source; });
    if (!from_itself) {
      MarkSuspect();
      logger_->Debug(std::string(kLog) + "goodbye not from the instance's address; ignored",
                     {{"instance", it->first}, {"from", source}});
      return;
    }
    logger_->Debug(std::string(kLog) + "goodbye", {{"instance", it->first}});
    inst.gone_by_goodbye = true;
    // Resolvers kept only by a verification go now: their cached records
    // must not bring the instance back at the recheck.
    for (auto r = inst.resolvers.begin(); r != inst.resolvers.end();) {
      if (r->second->browsed) {
        ++r;
      } else {
        auto next = std::next(r);
        DropResolver(inst, r);
        r = next;
      }
    }
    inst.recheck_arg = std::make_unique<RecheckArg>(RecheckArg{this, it->first});
    inst.recheck = TimeoutIn(kGoodbyeRecheckMs, &Impl::OnRecheck, inst.recheck_arg.get());
    Update(it->first);
  }

  static void OnRecheck(AvahiTimeout* /*t*/, void* userdata) {
    auto* arg = static_cast<RecheckArg*>(userdata);
    arg->impl->Recheck(arg->instance);
  }

  // Avahi's one second is over: whatever it still has is back.
  void Recheck(const std::string& instance) {
    // A copy: `instance` lives in the RecheckArg that Update may free.
    const std::string name = instance;  // NOLINT(performance-unnecessary-copy-initialization)
    auto it = instances_.find(name);
    if (it == instances_.end()) return;
    Poll()->timeout_free(it->second.recheck);
    it->second.recheck = nullptr;
    it->second.gone_by_goodbye = false;
    Update(name);
  }

  const std::shared_ptr<Logger> logger_;
  std::mutex api_mu_;  // serialises the lifecycle calls
  std::mutex stop_mu_;
  mutable std::mutex poll_mu_;  // held while poll_ is used outside api_mu_, or freed
  mutable std::mutex state_mu_;
  State state_ = State::kNew;  // GUARDED_BY(state_mu_)
  Settings settings_;          // written by SetConfig only
  std::vector<std::string> service_labels_;

  // Register's wait for the probing result.
  std::mutex reg_mu_;
  std::condition_variable reg_cv_;
  RegState reg_state_ = RegState::kProbing;  // GUARDED_BY(reg_mu_)
  std::string reg_error_;                    // GUARDED_BY(reg_mu_)
  bool closing_ = false;                     // GUARDED_BY(reg_mu_)

  // Avahi's objects and our view of the network: touched on Avahi's thread,
  // or elsewhere with its lock held (AvahiLock).
  AvahiThreadedPoll* poll_ = nullptr;
  AvahiServer* server_ = nullptr;
  AvahiSServiceBrowser* browser_ = nullptr;
  AvahiSEntryGroup* group_ = nullptr;
  bool want_published_ = false;
  std::string instance_;  // the name we publish now
  std::map<std::string, Instance> instances_;
  std::map<std::string, std::vector<std::string>> reported_;  // address -> instances
  int goodbye_fd_ = -1;
  AvahiWatch* goodbye_watch_ = nullptr;
  AvahiTimeout* republish_ = nullptr;                    // a rename's new records, to publish
  std::chrono::steady_clock::time_point suspect_until_;  // see Suspect
  AvahiSEntryGroup* addr_group_ = nullptr;               // our host name's addresses
  std::vector<Address> published_addrs_;                 // what addr_group_ holds
  bool self_missing_ = false;                            // warned: self-host not found
  AvahiTimeout* addr_poll_ = nullptr;                    // rechecks them every kAddressPollMs
  AvahiTimeout* republish_host_ = nullptr;               // a host rename, to do
  AvahiTimeout* publish_now_ = nullptr;                  // Register's publishing, to do
  std::string next_host_;
  std::string published_host_;  // the host name our records name

  internal::EventDispatcher dispatcher_;
};

MdnsProvider::MdnsProvider(std::shared_ptr<Logger> logger)
    : impl_(std::make_unique<Impl>(std::move(logger))) {}
MdnsProvider::~MdnsProvider() { Close().IgnoreError(); }
Status MdnsProvider::SetConfig(const Config& config) { return impl_->SetConfig(config); }
Status MdnsProvider::Initialize() { return impl_->Initialize(); }
Status MdnsProvider::Register() { return impl_->Register(); }
Status MdnsProvider::Deregister() { return impl_->Deregister(); }
Result<std::vector<Node>> MdnsProvider::DiscoverNodes() { return impl_->DiscoverNodes(); }
Status MdnsProvider::Watch(WatchCallback callback) { return impl_->Watch(std::move(callback)); }
Status MdnsProvider::Close() { return impl_->Close(); }
std::string MdnsProvider::InstanceName() const { return impl_->InstanceName(); }

}  // namespace groupcache::discovery
