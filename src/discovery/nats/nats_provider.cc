#include "groupcache/discovery/nats_provider.h"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../../text.h"
#include "event_dispatcher.h"
#include "host_port.h"
#include "key_error.h"
#include "lifecycle.h"
#include "membership.h"
#include "nats.pb.h"

namespace groupcache::discovery {

using groupcache::internal::Quote;

using internal::Call;
using internal::CheckCall;
using internal::KeyError;
using internal::State;
using nats_internal::Clock;
using nats_internal::Membership;
using std::chrono::milliseconds;

namespace {

constexpr std::string_view kLogPrefix = "nats discovery: ";

// Pings every 2 s and gives up on a connection after 2 unanswered ones: a
// silently dead server (no FIN, no RST) is noticed within about 6 s.
constexpr int64_t kPingIntervalMs = 2000;
constexpr int kMaxPingsOut = 2;
// Bounds on waiting for cnats to confirm that a subscription's handler or
// the connection's callbacks are done; they normally take microseconds.
constexpr milliseconds kCallbackDrainWait(5000);

int64_t ToMillis(Duration d) {
  return std::max<int64_t>(1, std::chrono::duration_cast<milliseconds>(d).count());
}

// cnats' error text: the status name plus the thread's last error detail
// ("connect failed: Connection refused"), which must be read on the thread
// that made the failed call.
std::string NatsError(natsStatus s) {
  std::string out = natsStatus_GetText(s);
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && out.find(detail) == std::string::npos) {
    out += " (";
    out += detail;
    out += ")";
  }
  return out;
}

// One server URL of "nats-server": [nats|tls://][user[:pass]@]host[:port].
// cnats would accept more and fail later with a vaguer message.
Status ValidateServerUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError(KeyError(NatsProvider::kServer, "") + "bad NATS URL " + Quote(url) +
                                ": " + std::string(why) + " (want nats://host:port)");
  };
  std::string_view s = url;
  if (size_t scheme = s.find("://"); scheme != std::string_view::npos) {
    std::string_view name = s.substr(0, scheme);
    if (name != "nats" && name != "tls") return bad("scheme is not nats or tls");
    s.remove_prefix(scheme + 3);
  }
  if (size_t at = s.rfind('@'); at != std::string_view::npos) s.remove_prefix(at + 1);
  if (!s.empty() && s.back() == '/') s.remove_suffix(1);
  if (s.find('/') != std::string_view::npos) return bad("has a path");
  // Only checked here: cnats is given the URL as it is.
  if (auto hp = internal::SplitHostPort(s, /*port_required=*/false); !hp.ok()) {
    return bad(hp.status().message());
  }
  return Status::Ok();
}

Status ValidateSubject(std::string_view subject) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError(KeyError(NatsProvider::kSubject, "") + Quote(subject) + " " +
                                std::string(why));
  };
  if (subject.empty()) return bad("is empty");
  if (subject.find_first_of(" \t\r\n") != std::string_view::npos) return bad("contains spaces");
  // Every node must publish and subscribe on the very same subject; a
  // wildcard would subscribe to more than it publishes to.
  std::string_view rest = subject;
  while (true) {
    size_t dot = rest.find('.');
    std::string_view token = rest.substr(0, dot);
    if (token.empty()) return bad("has an empty token");
    if (token == "*" || token == ">") return bad("has a wildcard");
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return Status::Ok();
}

// The settings read by SetConfig.
struct Settings {
  std::vector<std::string> servers;
  std::string server;  // as configured, for messages
  std::string subject;
  std::string app_name;
  Node self;
  Duration timeout = std::chrono::seconds(1);
  Duration heartbeat = milliseconds(500);
  Duration node_ttl = milliseconds(1500);
  Duration connect_timeout = std::chrono::seconds(2);
  Duration reconnect_wait = milliseconds(200);
};

Result<Duration> PositiveDuration(const Config& config, std::string_view key, Duration fallback) {
  Result<Duration> d = config.GetDurationOr(key, fallback);
  if (!d.ok()) return d;
  if (d->count() <= 0) return InvalidArgumentError(KeyError(key, "must be positive"));
  return d;
}

Result<Settings> ParseSettings(const Config& config) {
  Settings s;
  Result<std::string> server = config.GetString(NatsProvider::kServer);
  if (!server.ok()) return server.status();
  StringList urls = ParseStringList(*server);
  if (urls.empty()) return InvalidArgumentError(KeyError(NatsProvider::kServer, "is empty"));
  for (const std::string& url : urls) {
    if (Status st = ValidateServerUrl(url); !st.ok()) return st;
  }
  s.servers = std::move(urls);
  s.server = *server;
  Result<std::string> subject = config.GetString(NatsProvider::kSubject);
  if (!subject.ok()) return subject.status();
  if (Status st = ValidateSubject(*subject); !st.ok()) return st;
  s.subject = *subject;
  Result<std::string> app = config.GetString(NatsProvider::kAppName);
  if (!app.ok()) return app.status();
  if (app->empty()) return InvalidArgumentError(KeyError(NatsProvider::kAppName, "is empty"));
  s.app_name = *app;
  Result<Node> self = GetSelf(config);
  if (!self.ok()) return self.status();
  s.self = *self;

  struct {
    std::string_view key;
    Duration* out;
  } durations[] = {
      {NatsProvider::kTimeout, &s.timeout},
      {NatsProvider::kHeartbeat, &s.heartbeat},
      {NatsProvider::kConnectTimeout, &s.connect_timeout},
      {NatsProvider::kReconnectWait, &s.reconnect_wait},
  };
  for (auto& [key, out] : durations) {
    Result<Duration> d = PositiveDuration(config, key, *out);
    if (!d.ok()) return d.status();
    *out = *d;
  }
  Result<Duration> ttl = PositiveDuration(config, NatsProvider::kNodeTtl, 3 * s.heartbeat);
  if (!ttl.ok()) return ttl.status();
  // A ttl not above the heartbeat would time out live nodes between two of
  // their heartbeats.
  if (*ttl <= s.heartbeat) {
    return InvalidArgumentError(KeyError(NatsProvider::kNodeTtl, "is ") + FormatDuration(*ttl) +
                                ", must exceed heartbeat (" + FormatDuration(s.heartbeat) + ")");
  }
  s.node_ttl = *ttl;
  return s;
}

std::string Encode(const Node& node, ::nats::MessageType type) {
  ::nats::Message m;
  m.set_host(node.host);
  m.set_port(node.port);
  m.set_name(node.name);
  m.set_message_type(type);
  return m.SerializeAsString();
}

std::string Describe(const Node& node) { return node.name + "@" + node.Address(); }

}  // namespace

class NatsProvider::Impl {
 public:
  explicit Impl(std::shared_ptr<Logger> logger)
      : logger_(logger ? std::move(logger) : NewDefaultLogger(LogLevel::kInfo, "discovery")) {}

  ~Impl() { CloseImpl().IgnoreError(); }

  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Status SetConfig(const Config& config) {
    std::lock_guard<std::mutex> api(api_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Status s = CheckCall(kId, Call::kSetConfig, state_); !s.ok()) return s;
    }
    Result<Settings> settings = ParseSettings(config);
    if (!settings.ok()) return settings.status();
    std::lock_guard<std::mutex> lock(mu_);
    settings_ = std::move(*settings);
    state_ = State::kConfigured;
    return Status::Ok();
  }

  Status Initialize() {
    std::lock_guard<std::mutex> api(api_mu_);
    Settings settings;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Status s = CheckCall(kId, Call::kInitialize, state_); !s.ok()) return s;
      settings = settings_;
    }
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    std::string name = settings.app_name + "/" + settings.self.name;
    std::vector<const char*> servers;
    for (const std::string& url : settings.servers) servers.push_back(url.c_str());
    if (s == NATS_OK) {
      s = natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
    }
    if (s == NATS_OK) s = natsOptions_SetName(opts, name.c_str());
    // Bounds Connect (TCP connect plus the server's INFO/PONG), so that an
    // unreachable or mute server fails Initialize instead of hanging it.
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, ToMillis(settings.connect_timeout));
    if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, true);
    // Reconnect for as long as the process lives: a NATS outage must not
    // end discovery for good. (INT_MAX attempts are decades of retries.)
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, std::numeric_limits<int>::max());
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, ToMillis(settings.reconnect_wait));
    if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, kPingIntervalMs);
    if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, kMaxPingsOut);
    if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, &Impl::OnDisconnected, this);
    if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, &Impl::OnReconnected, this);
    if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, &Impl::OnClosed, this);
    if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, &Impl::OnAsyncError, this);
    if (s != NATS_OK) {
      std::string why = NatsError(s);
      natsOptions_Destroy(opts);
      return InternalError(std::string(kLogPrefix) + "cannot set connection options: " + why);
    }
    natsConnection* nc = nullptr;
    s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
      return UnavailableError(std::string(kLogPrefix) + "cannot connect to NATS server " +
                              Quote(settings.server) + " within " +
                              FormatDuration(settings.connect_timeout) + ": " + NatsError(s));
    }
    natsInbox* inbox = nullptr;
    s = natsInbox_Create(&inbox);
    if (s != NATS_OK) {
      std::string why = NatsError(s);
      CloseConnection(nc);
      return InternalError(std::string(kLogPrefix) + "cannot create an inbox: " + why);
    }
    std::string inbox_name = inbox;
    natsInbox_Destroy(inbox);

    {
      std::lock_guard<std::mutex> lock(mu_);
      nc_ = nc;
      inbox_ = std::move(inbox_name);
      members_.emplace(settings.self.Address(), settings.node_ttl, settings.timeout);
      connected_ = true;
      state_ = State::kInitialized;
    }
    worker_ = std::thread([this] { Work(); });
    logger_->Info("nats discovery: connected",
                  {{"server", settings.server}, {"node", Describe(settings.self)}});
    return Status::Ok();
  }

  Status Register() {
    std::lock_guard<std::mutex> api(api_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Status s = CheckCall(kId, Call::kRegister, state_); !s.ok()) return s;
    }
    {
      // Registered before subscribing: the worker drops messages that reach
      // a provider that is not registered, and must not drop the first ones.
      std::lock_guard<std::mutex> lock(mu_);
      state_ = State::kRegistered;
      Clock::time_point now = Clock::now();
      // After a Deregister the membership was frozen; give it a fresh start
      // like after a reconnect.
      members_->Resync(now);
      next_heartbeat_ = now + settings_.heartbeat;
    }
    natsSubscription* sub = nullptr;
    natsSubscription* inbox_sub = nullptr;
    natsStatus s = Subscribe(settings_.subject, &sub);
    if (s == NATS_OK) s = Subscribe(inbox_, &inbox_sub);
    if (s == NATS_OK) {
      std::string announce = Encode(settings_.self, ::nats::MESSAGE_TYPE_REGISTER);
      s = natsConnection_Publish(nc_, settings_.subject.c_str(), announce.data(),
                                 static_cast<int>(announce.size()));
    }
    // Also ask who is there, answers to our inbox: the nodes that registered
    // before us announced themselves when we were not listening, and may not
    // heartbeat (Go nodes) or not soon. Their answers reach the membership
    // and so the watcher, whether or not the caller runs DiscoverNodes.
    if (s == NATS_OK) {
      std::string ask = Encode(settings_.self, ::nats::MESSAGE_TYPE_REQUEST);
      s = natsConnection_PublishRequest(nc_, settings_.subject.c_str(), inbox_.c_str(), ask.data(),
                                        static_cast<int>(ask.size()));
    }
    // The round trip guarantees the server has our subscriptions before we
    // return, so a DiscoverNodes that follows hears every answer.
    if (s == NATS_OK) s = natsConnection_FlushTimeout(nc_, ToMillis(settings_.connect_timeout));
    if (s != NATS_OK) {
      std::string why = NatsError(s);
      {
        std::lock_guard<std::mutex> lock(mu_);
        state_ = State::kInitialized;
      }
      Unsubscribe({sub, inbox_sub});
      return UnavailableError(std::string(kLogPrefix) + "cannot register on " +
                              Quote(settings_.subject) + ": " + why);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      sub_ = sub;
      inbox_sub_ = inbox_sub;
    }
    cv_.notify_all();
    logger_->Info("nats discovery: registered",
                  {{"subject", settings_.subject}, {"node", Describe(settings_.self)}});
    return Status::Ok();
  }

  Status Deregister() {
    std::lock_guard<std::mutex> api(api_mu_);
    return DeregisterLocked();
  }

  Result<std::vector<Node>> DiscoverNodes() {
    natsConnection* nc = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Status s = CheckCall(kId, Call::kDiscoverNodes, state_); !s.ok()) return s;
      if (!connected_) {
        return UnavailableError(std::string(kLogPrefix) +
                                "not connected to the NATS server (reconnecting)");
      }
      // Close waits for this count to drop before destroying the connection.
      ++in_flight_;
      nc = nc_;
    }
    Clock::time_point asked = Clock::now();
    Result<std::vector<Node>> nodes = Collect(nc);
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (nodes.ok()) {
      // A node that answered and then sent DEREGISTER while we collected
      // has left: neither the caller nor the membership may keep it.
      std::erase_if(*nodes, [&](const Node& n) { return members_->LeftSince(n.Address(), asked); });
      Pending p;
      p.kind = Pending::Kind::kDiscovered;
      p.nodes = *nodes;
      p.asked = asked;
      queue_.push_back(std::move(p));
    }
    cv_.notify_all();  // under mu_: see Enqueue
    return nodes;
  }

  Status Watch(WatchCallback callback) {
    if (!callback) return InvalidArgumentError("nats discovery: Watch with an empty callback");
    std::lock_guard<std::mutex> api(api_mu_);
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = CheckCall(kId, Call::kWatch, state_); !s.ok()) return s;
    if (!dispatcher_.Start(std::move(callback))) {
      return FailedPreconditionError("nats discovery: Watch called twice");
    }
    // Under mu_, so that no change the worker makes can fall between this
    // snapshot and the first event it posts.
    for (const Node& node : members_->Nodes()) {
      dispatcher_.Post(Event{Event::Kind::kAdded, node, {}});
    }
    watching_ = true;
    return Status::Ok();
  }

  Status Close() {
    if (dispatcher_.OnDispatcherThread()) {
      return FailedPreconditionError("nats discovery: Close called from the Watch callback");
    }
    return CloseImpl();
  }

 private:
  // Work for the worker thread, queued by cnats' threads and DiscoverNodes.
  struct Pending {
    enum class Kind { kMessage, kDisconnected, kReconnected, kDiscovered };
    Kind kind = Kind::kMessage;
    ::nats::Message message;
    std::string reply;
    std::vector<Node> nodes;  // kDiscovered: the answers
    Clock::time_point asked;  // kDiscovered: when the REQUEST went out
  };

  // What the worker does after releasing mu_: NATS calls and logging.
  struct Outbox {
    struct Publish {
      std::string subject;
      std::string reply;
      std::string data;
    };
    struct Line {
      LogLevel level = LogLevel::kInfo;
      std::string message;
      std::string node;
      std::string reason;  // may be empty
    };
    std::vector<Publish> publishes;
    std::vector<Line> lines;
  };

  natsStatus Subscribe(const std::string& subject, natsSubscription** sub) {
    natsStatus s = natsConnection_Subscribe(sub, nc_, subject.c_str(), &Impl::OnMessage, this);
    if (s != NATS_OK) return s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++live_subs_;
    }
    // Lets Unsubscribe wait until the handler can no longer be running.
    s = natsSubscription_SetOnCompleteCB(*sub, &Impl::OnSubscriptionDone, this);
    if (s != NATS_OK) {
      std::lock_guard<std::mutex> lock(mu_);
      --live_subs_;
    }
    return s;
  }

  // Unsubscribes, waits for the handlers to have returned, destroys.
  void Unsubscribe(std::initializer_list<natsSubscription*> subs) {
    for (natsSubscription* sub : subs) {
      if (sub != nullptr) natsSubscription_Unsubscribe(sub);
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!cv_.wait_for(lock, kCallbackDrainWait, [this] { return live_subs_ == 0; })) {
        lock.unlock();
        logger_->Error("nats discovery: subscription handlers did not finish in time");
      }
    }
    for (natsSubscription* sub : subs) {
      if (sub != nullptr) natsSubscription_Destroy(sub);
    }
  }

  Status DeregisterLocked() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (Status s = CheckCall(kId, Call::kDeregister, state_); !s.ok()) return s;
      if (state_ != State::kRegistered) return Status::Ok();
      // Stops heartbeats, answers to REQUESTs and timing members out: we
      // are about to stop hearing the others.
      state_ = State::kInitialized;
      // A heartbeat the worker took before that but has not sent yet would
      // reach the others after our DEREGISTER and add us back (until our
      // ttl ran out): let that batch go first.
      cv_.wait_for(lock, kCallbackDrainWait, [this] { return !publishing_; });
    }
    std::string bye = Encode(settings_.self, ::nats::MESSAGE_TYPE_DEREGISTER);
    natsStatus s = natsConnection_Publish(nc_, settings_.subject.c_str(), bye.data(),
                                          static_cast<int>(bye.size()));
    if (s == NATS_OK) s = natsConnection_FlushTimeout(nc_, ToMillis(settings_.connect_timeout));
    std::string why = s == NATS_OK ? "" : NatsError(s);
    natsSubscription* sub = nullptr;
    natsSubscription* inbox_sub = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::swap(sub, sub_);
      std::swap(inbox_sub, inbox_sub_);
    }
    Unsubscribe({sub, inbox_sub});
    if (s != NATS_OK) {
      // The others will time us out instead; we are deregistered locally.
      logger_->Warn("nats discovery: could not announce deregistration", {{"error", why}});
      return UnavailableError(std::string(kLogPrefix) + "cannot announce deregistration on " +
                              Quote(settings_.subject) + ": " + why);
    }
    logger_->Info("nats discovery: deregistered", {{"node", Describe(settings_.self)}});
    return Status::Ok();
  }

  Status CloseImpl() {
    std::lock_guard<std::mutex> api(api_mu_);
    State was;
    {
      std::lock_guard<std::mutex> lock(mu_);
      was = state_;
    }
    if (was == State::kClosed) return Status::Ok();
    if (was == State::kRegistered) DeregisterLocked().IgnoreError();  // logged there
    {
      std::lock_guard<std::mutex> lock(mu_);
      state_ = State::kClosed;
      stopping_ = true;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
    dispatcher_.Stop();
    if (nc_ != nullptr) CloseConnection(nc_);
    nc_ = nullptr;
    return Status::Ok();
  }

  // Closes `nc`, waits for its callbacks (closed is the last one cnats
  // calls) and for DiscoverNodes calls still using it, then destroys it.
  void CloseConnection(natsConnection* nc) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_cb_ = false;
    }
    // Also wakes a DiscoverNodes blocked in NextMsg.
    natsConnection_Close(nc);
    std::unique_lock<std::mutex> lock(mu_);
    bool drained =
        cv_.wait_for(lock, kCallbackDrainWait, [this] { return closed_cb_ && in_flight_ == 0; });
    lock.unlock();
    if (!drained) logger_->Error("nats discovery: connection callbacks did not finish in time");
    natsConnection_Destroy(nc);
  }

  // DiscoverNodes' exchange: REQUEST to the subject with a private inbox,
  // then every RESPONSE until the timeout.
  Result<std::vector<Node>> Collect(natsConnection* nc) {
    natsInbox* inbox = nullptr;
    natsStatus s = natsInbox_Create(&inbox);
    natsSubscription* sub = nullptr;
    if (s == NATS_OK) s = natsConnection_SubscribeSync(&sub, nc, inbox);
    std::string request = Encode(settings_.self, ::nats::MESSAGE_TYPE_REQUEST);
    if (s == NATS_OK) {
      s = natsConnection_PublishRequest(nc, settings_.subject.c_str(), inbox, request.data(),
                                        static_cast<int>(request.size()));
    }
    std::vector<Node> nodes;
    std::set<std::string> seen;
    std::string self = settings_.self.Address();
    Clock::time_point deadline = Clock::now() + settings_.timeout;
    while (s == NATS_OK) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) break;
      natsMsg* msg = nullptr;
      s = natsSubscription_NextMsg(&msg, sub, left);
      if (s == NATS_TIMEOUT) {
        s = NATS_OK;
        break;
      }
      if (s != NATS_OK) break;
      ::nats::Message m;
      bool parsed = m.ParseFromArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
      natsMsg_Destroy(msg);
      std::optional<Node> node = parsed ? ToNode(m) : std::nullopt;
      if (!node || m.message_type() != ::nats::MESSAGE_TYPE_RESPONSE) {
        logger_->Warn("nats discovery: ignored a malformed response");
        continue;
      }
      if (node->Address() == self) continue;
      if (seen.insert(node->Address()).second) nodes.push_back(std::move(*node));
    }
    std::string why = s == NATS_OK ? "" : NatsError(s);
    if (sub != nullptr) {
      natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
    }
    if (inbox != nullptr) natsInbox_Destroy(inbox);
    if (s != NATS_OK) {
      return UnavailableError(std::string(kLogPrefix) + "discovery request failed: " + why);
    }
    return nodes;
  }

  // A Node from a message, or nullopt if it names no reachable address (bad
  // input from the network is dropped, never trusted).
  static std::optional<Node> ToNode(const ::nats::Message& m) {
    Node node{m.name(), m.host(), m.port()};
    if (!ValidateNode(node, "").ok()) return std::nullopt;
    if (node.name.empty()) node.name = node.host;
    return node;
  }

  // The worker: the one thread that changes the membership. It sleeps until
  // there is queued work, a heartbeat is due, or a member may expire.
  void Work() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      std::optional<Clock::time_point> wake;
      if (state_ == State::kRegistered && connected_) {
        wake = next_heartbeat_;
        if (auto expiry = members_->NextExpiry(); expiry && *expiry < *wake) wake = expiry;
      }
      auto ready = [this] { return stopping_ || !queue_.empty(); };
      if (wake) {
        cv_.wait_until(lock, *wake, ready);
      } else {
        cv_.wait(lock, ready);
      }
      if (stopping_) break;

      Outbox out;
      std::deque<Pending> work;
      work.swap(queue_);
      Clock::time_point now = Clock::now();
      for (Pending& p : work) Process(p, now, out);
      if (state_ == State::kRegistered && connected_) {
        if (now >= next_heartbeat_) {
          out.publishes.push_back(
              {settings_.subject, "", Encode(settings_.self, ::nats::MESSAGE_TYPE_REGISTER)});
          next_heartbeat_ = now + settings_.heartbeat;
        }
        std::vector<Event> events;
        // Silent for node-ttl, or a quiet member that did not answer.
        bool ask = members_->Expire(now, &events);
        Emit(events, out, "timeout");
        // A quiet member has been silent for node-ttl: is it still there?
        if (ask) {
          out.publishes.push_back(
              {settings_.subject, inbox_, Encode(settings_.self, ::nats::MESSAGE_TYPE_REQUEST)});
        }
      }

      // NATS calls and the logger run without mu_: cnats' threads take mu_
      // to queue work, and the logger is user code.
      publishing_ = !out.publishes.empty();
      lock.unlock();
      for (const Outbox::Publish& p : out.publishes) {
        natsStatus s =
            p.reply.empty()
                ? natsConnection_Publish(nc_, p.subject.c_str(), p.data.data(),
                                         static_cast<int>(p.data.size()))
                : natsConnection_PublishRequest(nc_, p.subject.c_str(), p.reply.c_str(),
                                                p.data.data(), static_cast<int>(p.data.size()));
        if (s != NATS_OK) {
          logger_->Warn("nats discovery: publish failed",
                        {{"subject", p.subject}, {"error", natsStatus_GetText(s)}});
        }
      }
      for (const Outbox::Line& line : out.lines) {
        if (!logger_->Enabled(line.level)) continue;
        if (line.reason.empty()) {
          logger_->Log(line.level, line.message, {{"node", line.node}});
        } else {
          logger_->Log(line.level, line.message, {{"node", line.node}, {"reason", line.reason}});
        }
      }
      lock.lock();
      if (publishing_) {
        publishing_ = false;
        cv_.notify_all();
      }
    }
  }

  // REQUIRES: mu_ held.
  void Process(Pending& p, Clock::time_point now, Outbox& out) {
    std::vector<Event> events;
    switch (p.kind) {
      case Pending::Kind::kDisconnected:
        connected_ = false;
        out.lines.push_back(
            {LogLevel::kWarn,
             "nats discovery: lost the NATS server; reconnecting, membership frozen",
             Describe(settings_.self), ""});
        return;
      case Pending::Kind::kReconnected:
        connected_ = true;
        out.lines.push_back({LogLevel::kInfo,
                             "nats discovery: reconnected to the NATS server; announcing and "
                             "rediscovering",
                             Describe(settings_.self), ""});
        if (state_ != State::kRegistered) return;
        // Whatever happened while we were away, we heard none of it: give
        // every member one ttl (or one discovery wait) to show it is alive.
        members_->Resync(now);
        out.publishes.push_back(
            {settings_.subject, "", Encode(settings_.self, ::nats::MESSAGE_TYPE_REGISTER)});
        out.publishes.push_back(
            {settings_.subject, inbox_, Encode(settings_.self, ::nats::MESSAGE_TYPE_REQUEST)});
        next_heartbeat_ = now + settings_.heartbeat;
        return;
      case Pending::Kind::kDiscovered:
        for (const Node& node : p.nodes) members_->Answered(node, p.asked, now, &events);
        Emit(events, out, "response");
        return;
      case Pending::Kind::kMessage: break;
    }
    // Messages queued before a Deregister are stale by now.
    if (state_ != State::kRegistered) return;
    std::optional<Node> node = ToNode(p.message);
    if (!node) {
      out.lines.push_back({LogLevel::kWarn, "nats discovery: ignored a message with a bad address",
                           p.message.host() + ":" + std::to_string(p.message.port()), ""});
      return;
    }
    if (node->Address() == settings_.self.Address()) return;  // our own echo
    switch (p.message.message_type()) {
      case ::nats::MESSAGE_TYPE_REGISTER:
        members_->Heard(*node, true, now, &events);
        Emit(events, out, "register");
        return;
      case ::nats::MESSAGE_TYPE_DEREGISTER:
        members_->Left(*node, now, &events);
        Emit(events, out, "deregister");
        return;
      case ::nats::MESSAGE_TYPE_REQUEST:
        // Only registered nodes ask, so the asker is a member too.
        members_->Heard(*node, false, now, &events);
        Emit(events, out, "request");
        if (!p.reply.empty()) {
          out.publishes.push_back(
              {p.reply, "", Encode(settings_.self, ::nats::MESSAGE_TYPE_RESPONSE)});
        }
        return;
      case ::nats::MESSAGE_TYPE_RESPONSE:
        members_->Responded(*node, now, &events);
        Emit(events, out, "response");
        return;
      default:
        out.lines.push_back({LogLevel::kDebug, "nats discovery: ignored a message of unknown type",
                             Describe(*node), std::to_string(p.message.message_type())});
        return;
    }
  }

  // Hands membership changes to the watcher and logs them. `reason` is what
  // we heard ("register", "timeout", ...). REQUIRES: mu_ held.
  void Emit(const std::vector<Event>& events, Outbox& out, std::string_view reason) {
    for (const Event& e : events) {
      out.lines.push_back({LogLevel::kInfo, "nats discovery: node " + std::string(KindName(e.kind)),
                           Describe(e.node), std::string(reason)});
      if (watching_) dispatcher_.Post(e);
    }
  }

  // Notifies with mu_ held, here and in the callbacks below: once a waiter in
  // Close can see what we did, we must not touch *this again (it may be
  // destroyed as soon as Close returns).
  void Enqueue(Pending p) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(p));
    cv_.notify_all();
  }

  // cnats callbacks. They run on cnats' threads (one per subscription, one
  // shared by every connection for connection events) and only queue work:
  // blocking there would stall other connections in the process.
  static void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    Pending p;
    bool parsed = p.message.ParseFromArray(natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
    if (const char* reply = natsMsg_GetReply(msg)) p.reply = reply;
    natsMsg_Destroy(msg);
    if (!parsed) {
      self->logger_->Warn("nats discovery: ignored a message that is not a nats.Message");
      return;
    }
    self->Enqueue(std::move(p));
  }

  static void OnDisconnected(natsConnection*, void* closure) {
    Pending p;
    p.kind = Pending::Kind::kDisconnected;
    static_cast<Impl*>(closure)->Enqueue(std::move(p));
  }

  static void OnReconnected(natsConnection*, void* closure) {
    Pending p;
    p.kind = Pending::Kind::kReconnected;
    static_cast<Impl*>(closure)->Enqueue(std::move(p));
  }

  static void OnClosed(natsConnection*, void* closure) {
    auto* self = static_cast<Impl*>(closure);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->closed_cb_ = true;
    self->cv_.notify_all();
  }

  static void OnSubscriptionDone(void* closure) {
    auto* self = static_cast<Impl*>(closure);
    std::lock_guard<std::mutex> lock(self->mu_);
    --self->live_subs_;
    self->cv_.notify_all();
  }

  static void OnAsyncError(natsConnection*, natsSubscription*, natsStatus err, void* closure) {
    static_cast<Impl*>(closure)->logger_->Warn("nats discovery: asynchronous NATS error",
                                               {{"error", natsStatus_GetText(err)}});
  }

  const std::shared_ptr<Logger> logger_;

  // Serialises the lifecycle calls (which make blocking NATS calls without
  // holding mu_). Order: api_mu_, then mu_.
  std::mutex api_mu_;
  // Written under api_mu_ by SetConfig only, before any thread reads it.
  Settings settings_;
  // Set by Initialize before the worker starts, cleared by Close after it
  // stopped and every DiscoverNodes left: no lock needed to use it.
  natsConnection* nc_ = nullptr;
  std::string inbox_;  // same lifetime as nc_

  std::mutex mu_;
  std::condition_variable cv_;
  State state_ = State::kNew;              // GUARDED_BY(mu_)
  std::optional<Membership> members_;      // GUARDED_BY(mu_)
  std::deque<Pending> queue_;              // GUARDED_BY(mu_)
  bool connected_ = false;                 // GUARDED_BY(mu_)
  bool stopping_ = false;                  // GUARDED_BY(mu_)
  bool watching_ = false;                  // GUARDED_BY(mu_)
  bool closed_cb_ = false;                 // GUARDED_BY(mu_)
  bool publishing_ = false;                // GUARDED_BY(mu_): the worker is sending a batch
  int in_flight_ = 0;                      // GUARDED_BY(mu_): DiscoverNodes calls
  int live_subs_ = 0;                      // GUARDED_BY(mu_)
  Clock::time_point next_heartbeat_;       // GUARDED_BY(mu_)
  natsSubscription* sub_ = nullptr;        // GUARDED_BY(mu_)
  natsSubscription* inbox_sub_ = nullptr;  // GUARDED_BY(mu_)

  std::thread worker_;
  internal::EventDispatcher dispatcher_;
};

NatsProvider::NatsProvider(std::shared_ptr<Logger> logger)
    : impl_(std::make_unique<Impl>(std::move(logger))) {}

NatsProvider::~NatsProvider() = default;  // ~Impl closes

Status NatsProvider::SetConfig(const Config& config) { return impl_->SetConfig(config); }
Status NatsProvider::Initialize() { return impl_->Initialize(); }
Status NatsProvider::Register() { return impl_->Register(); }
Status NatsProvider::Deregister() { return impl_->Deregister(); }
Result<std::vector<Node>> NatsProvider::DiscoverNodes() { return impl_->DiscoverNodes(); }
Status NatsProvider::Watch(WatchCallback callback) { return impl_->Watch(std::move(callback)); }
Status NatsProvider::Close() { return impl_->Close(); }

}  // namespace groupcache::discovery
