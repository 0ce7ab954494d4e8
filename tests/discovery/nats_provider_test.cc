// NatsProvider against a real nats-server on loopback: discovery,
// announcements, liveness, a server restart, the wire format a Go node
// sees, and bad configurations. Every wait is a bounded poll or a
// condition-variable wait with a deadline.

#include "groupcache/discovery/nats_provider.h"

#include <gtest/gtest.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "nats_server.h"

namespace groupcache::discovery {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

// Keeps every line; tests wait for one to appear.
class RecordingLogger final : public Logger {
 public:
  bool Enabled(LogLevel) const override { return true; }
  void Log(LogLevel, std::string_view message, std::initializer_list<LogField> fields) override {
    std::string line(message);
    for (const LogField& f : fields) {
      line += " ";
      line += f.key;
      line += "=";
      line += f.value;
    }
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(std::move(line));
    cv_.notify_all();
  }
  bool WaitFor(std::string_view needle, Clock::duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const std::string& l : lines_) {
        if (l.find(needle) != std::string::npos) return true;
      }
      return false;
    });
  }
  std::string Dump() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    for (const std::string& l : lines_) out += l + "\n";
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// How fast the cluster in a test lives.
struct Timing {
  milliseconds timeout{500};
  milliseconds heartbeat{200};
  milliseconds node_ttl{600};
};

Config MakeConfig(const std::string& url, const std::string& subject, const Node& self,
                  const Timing& t) {
  Config c;
  c.SetString(std::string(NatsProvider::kServer), url);
  c.SetString(std::string(NatsProvider::kSubject), subject);
  c.SetString(std::string(NatsProvider::kAppName), "discovery-test");
  c.SetDuration(std::string(NatsProvider::kTimeout), t.timeout);
  c.SetDuration(std::string(NatsProvider::kHeartbeat), t.heartbeat);
  c.SetDuration(std::string(NatsProvider::kNodeTtl), t.node_ttl);
  c.SetDuration(std::string(NatsProvider::kConnectTimeout), seconds(1));
  c.SetDuration(std::string(NatsProvider::kReconnectWait), milliseconds(100));
  SetSelf(c, self);
  return c;
}

Node LocalNode(const std::string& name, int port) { return Node{name, "127.0.0.1", port}; }

// One provider plus the view a watcher builds from its events.
class Member {
 public:
  explicit Member(Node self)
      : self_(std::move(self)),
        logger_(std::make_shared<RecordingLogger>()),
        provider_(std::make_unique<NatsProvider>(logger_)) {}

  Status Start(const Config& config, bool watch = true) {
    Status s = provider_->SetConfig(config);
    if (s.ok()) s = provider_->Initialize();
    if (s.ok()) s = provider_->Register();
    if (s.ok() && watch) s = provider_->Watch([this](const Event& e) { Apply(e); });
    return s;
  }

  NatsProvider& provider() { return *provider_; }
  RecordingLogger& log() { return *logger_; }
  const Node& self() const { return self_; }

  // Waits until `pred(view, events)` holds; false after `timeout`.
  bool WaitUntil(const std::function<bool()>& pred, Clock::duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, pred);
  }
  // REQUIRES: mu_ held (call from WaitUntil's predicate) or no concurrent events.
  const std::set<std::string>& view() const { return view_; }
  bool WaitForView(const std::set<std::string>& want, Clock::duration timeout) {
    return WaitUntil([&] { return view_ == want; }, timeout);
  }
  std::set<std::string> View() {
    std::lock_guard<std::mutex> lock(mu_);
    return view_;
  }
  // When the first event of `kind` about `address` arrived.
  std::optional<Clock::time_point> WaitForEvent(Event::Kind kind, const std::string& address,
                                                Clock::duration timeout) {
    std::optional<Clock::time_point> at;
    WaitUntil(
        [&] {
          for (const auto& [e, t] : events_) {
            if (e.kind == kind && e.node.Address() == address) {
              at = t;
              return true;
            }
          }
          return false;
        },
        timeout);
    return at;
  }
  int CountEvents(Event::Kind kind) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& [e, t] : events_) n += e.kind == kind ? 1 : 0;
    return n;
  }

 private:
  void Apply(const Event& e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (e.kind == Event::Kind::kRemoved) {
      view_.erase(e.node.Address());
    } else {
      view_.insert(e.node.Address());
    }
    events_.emplace_back(e, Clock::now());
    cv_.notify_all();
  }

  Node self_;
  std::shared_ptr<RecordingLogger> logger_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> view_;
  std::vector<std::pair<Event, Clock::time_point>> events_;
  // Last: destroyed (closed) first, while the view it writes still exists.
  std::unique_ptr<NatsProvider> provider_;
};

std::set<std::string> Addresses(const std::vector<Node>& nodes) {
  std::set<std::string> out;
  for (const Node& n : nodes) out.insert(n.Address());
  return out;
}

class NatsDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::NatsServer::Executable().empty()) {
      GTEST_SKIP() << "nats-server is not installed (Debian: apt-get install nats-server)";
    }
    server_ = std::make_unique<testing::NatsServer>();
    ASSERT_TRUE(server_->Start()) << "nats-server did not start:\n" << server_->Log();
    subject_ = std::string("groupcache.test.") +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  Config ConfigFor(const Node& self, const Timing& t = {}) const {
    return MakeConfig(server_->url(), subject_, self, t);
  }

  // Starts members named n1, n2, ... with ports base+1, base+2, ...
  std::vector<std::unique_ptr<Member>> StartMembers(int n, const Timing& t = {}, int base = 9000) {
    std::vector<std::unique_ptr<Member>> members;
    for (int i = 1; i <= n; ++i) {
      auto m = std::make_unique<Member>(LocalNode("n" + std::to_string(i), base + i));
      Status s = m->Start(ConfigFor(m->self(), t));
      EXPECT_TRUE(s.ok()) << s.ToString();
      members.push_back(std::move(m));
    }
    return members;
  }

  static std::set<std::string> OthersOf(const std::vector<std::unique_ptr<Member>>& members,
                                        const Member& me) {
    std::set<std::string> out;
    for (const auto& m : members) {
      if (m.get() != &me) out.insert(m->self().Address());
    }
    return out;
  }

  std::unique_ptr<testing::NatsServer> server_;
  std::string subject_;
};

TEST_F(NatsDiscoveryTest, ThreeNodesDiscoverEachOther) {
  auto members = StartMembers(3);
  for (auto& m : members) {
    auto start = Clock::now();
    Result<std::vector<Node>> nodes = m->provider().DiscoverNodes();
    auto took = Clock::now() - start;
    ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
    EXPECT_EQ(Addresses(*nodes), OthersOf(members, *m)) << m->self().name;
    EXPECT_LT(took, seconds(2));
    for (const Node& n : *nodes) {
      EXPECT_EQ(n.PeerUrl(), "http://" + n.Address());
      EXPECT_EQ(n.name, "n" + std::to_string(n.port - 9000));
    }
  }
  // The watchers agree.
  for (auto& m : members) {
    EXPECT_TRUE(m->WaitForView(OthersOf(members, *m), seconds(2))) << m->log().Dump();
  }
}

TEST_F(NatsDiscoveryTest, NewcomerIsAnnouncedAtOnce) {
  // Heartbeats too slow to matter: only the announcement can be seen in time.
  Timing slow{milliseconds(500), seconds(10), seconds(30)};
  auto members = StartMembers(3, slow);
  for (auto& m : members) {
    auto nodes = m->provider().DiscoverNodes();
    ASSERT_TRUE(nodes.ok());
  }
  Member fourth(LocalNode("n4", 9004));
  auto joined = Clock::now();
  ASSERT_TRUE(fourth.Start(ConfigFor(fourth.self(), slow)).ok());
  for (auto& m : members) {
    auto at = m->WaitForEvent(Event::Kind::kAdded, fourth.self().Address(), seconds(2));
    ASSERT_TRUE(at.has_value()) << m->log().Dump();
    EXPECT_LT(*at - joined, seconds(1));
  }
  // The newcomer's own first discovery finds everyone.
  auto nodes = fourth.provider().DiscoverNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->size(), 3u);
}

TEST_F(NatsDiscoveryTest, DeregisterAndCloseAreAnnouncedAtOnce) {
  Timing slow{milliseconds(500), seconds(10), seconds(30)};
  auto members = StartMembers(4, slow);
  for (auto& m : members) {
    ASSERT_TRUE(m->WaitForView(OthersOf(members, *m), seconds(3))) << m->log().Dump();
  }
  const std::string gone = members[3]->self().Address();
  auto left = Clock::now();
  ASSERT_TRUE(members[3]->provider().Deregister().ok());
  for (int i = 0; i < 3; ++i) {
    auto at = members[i]->WaitForEvent(Event::Kind::kRemoved, gone, seconds(2));
    ASSERT_TRUE(at.has_value()) << members[i]->log().Dump();
    EXPECT_LT(*at - left, seconds(1));
  }
  // Close of a registered provider deregisters first (Go's Node.Stop closes
  // and only then deregisters; that order still announces the departure).
  const std::string closed = members[2]->self().Address();
  ASSERT_TRUE(members[2]->provider().Close().ok());
  EXPECT_TRUE(members[2]->provider().Deregister().ok());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(members[i]->WaitForEvent(Event::Kind::kRemoved, closed, seconds(2)).has_value());
  }
  // A deregistered provider may register again and is announced again.
  ASSERT_TRUE(members[3]->provider().Register().ok());
  ASSERT_TRUE(members[0]->WaitForView({members[1]->self().Address(), gone}, seconds(2)));
}

TEST_F(NatsDiscoveryTest, KilledNodeIsRemovedWithinTheTtl) {
  Timing t;  // heartbeat 200 ms, node-ttl 600 ms
  auto members = StartMembers(2, t);
  Node victim = LocalNode("victim", 9100);
  Config c = ConfigFor(victim, t);
  std::vector<std::string> argv = {GROUPCACHE_NATS_MEMBER};
  for (const std::string& key : c.Keys()) {
    const Config::Value* v = c.Find(key);
    std::string arg = key + "=";
    if (const auto* s = std::get_if<std::string>(v)) arg += *s;
    if (const auto* i = std::get_if<int64_t>(v)) arg += std::to_string(*i);
    if (const auto* d = std::get_if<Duration>(v)) arg += FormatDuration(*d);
    argv.push_back(std::move(arg));
  }
  testing::Child child(argv, ::testing::TempDir() + "nats-member.log");
  ASSERT_TRUE(child.started());
  for (auto& m : members) {
    ASSERT_TRUE(m->WaitForEvent(Event::Kind::kAdded, victim.Address(), seconds(5)).has_value())
        << m->log().Dump();
  }
  // A SIGKILLed node sends no DEREGISTER: only its silence tells.
  auto killed = Clock::now();
  child.Kill();
  for (auto& m : members) {
    auto at = m->WaitForEvent(Event::Kind::kRemoved, victim.Address(), seconds(5));
    ASSERT_TRUE(at.has_value()) << m->log().Dump();
    // Documented bound: within node-ttl of the death, not before
    // node-ttl - heartbeat (plus scheduling slack either way).
    EXPECT_LE(*at - killed, t.node_ttl + milliseconds(700));
    EXPECT_GE(*at - killed, t.node_ttl - t.heartbeat - milliseconds(100));
    EXPECT_TRUE(m->log().WaitFor("reason=timeout", seconds(1)));
  }
  // The live ones still see each other.
  EXPECT_EQ(members[0]->View(), std::set<std::string>{members[1]->self().Address()});
}

TEST_F(NatsDiscoveryTest, MembershipRecoversAfterServerRestart) {
  Timing t;
  auto members = StartMembers(4, t);
  for (auto& m : members) {
    ASSERT_TRUE(m->WaitForView(OthersOf(members, *m), seconds(3))) << m->log().Dump();
  }
  server_->Kill();
  // Every provider notices the loss at once (the TCP connection closes).
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(members[i]->log().WaitFor("lost the NATS server", seconds(5)))
        << members[i]->log().Dump();
  }
  auto unavailable = members[0]->provider().DiscoverNodes();
  EXPECT_EQ(unavailable.status().code(), StatusCode::kUnavailable);

  // n4 goes away during the outage; its DEREGISTER cannot be delivered.
  auto close_start = Clock::now();
  EXPECT_TRUE(members[3]->provider().Close().ok());
  EXPECT_LT(Clock::now() - close_start, seconds(4));
  const std::string gone = members[3]->self().Address();

  // An outage longer than node-ttl times nobody out: the membership is
  // frozen while disconnected.
  EXPECT_FALSE(
      members[0]->WaitUntil([&] { return members[0]->view().size() != 3; }, 3 * t.node_ttl));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(members[i]->CountEvents(Event::Kind::kRemoved), 0);

  ASSERT_TRUE(server_->Start()) << server_->Log();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(members[i]->log().WaitFor("reconnected to the NATS server", seconds(10)))
        << members[i]->log().Dump();
  }
  // The node that left during the outage is dropped; the others stay.
  std::vector<std::unique_ptr<Member>> live;
  for (int i = 0; i < 3; ++i) live.push_back(std::move(members[i]));
  for (auto& m : live) {
    ASSERT_TRUE(m->WaitForEvent(Event::Kind::kRemoved, gone, seconds(5)).has_value())
        << m->log().Dump();
    EXPECT_TRUE(m->WaitForView(OthersOf(live, *m), seconds(5))) << m->log().Dump();
  }
  // Subscriptions are back: a newcomer is announced to everyone, and
  // discovery answers again.
  Member late(LocalNode("late", 9050));
  ASSERT_TRUE(late.Start(ConfigFor(late.self(), t)).ok());
  for (auto& m : live) {
    EXPECT_TRUE(m->WaitForEvent(Event::Kind::kAdded, late.self().Address(), seconds(2)));
  }
  auto nodes = live[0]->provider().DiscoverNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  EXPECT_EQ(Addresses(*nodes),
            (std::set<std::string>{live[1]->self().Address(), live[2]->self().Address(),
                                   late.self().Address()}));
}

// --- The wire, as a Go node speaks it -------------------------------------

std::string Varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

// nats.Message encoded by hand, as Go's protobuf encoder writes it (fields
// in order, proto3 defaults omitted).
std::string GoMessage(const std::string& host, int port, const std::string& name, int type) {
  std::string out;
  if (!host.empty()) out += "\x0a" + Varint(host.size()) + host;
  if (port != 0) out += "\x10" + Varint(static_cast<uint64_t>(port));
  if (!name.empty()) out += "\x1a" + Varint(name.size()) + name;
  if (type != 0) out += "\x20" + Varint(static_cast<uint64_t>(type));
  return out;
}

// A raw cnats client standing in for a Go node.
class RawClient {
 public:
  explicit RawClient(const std::string& url) {
    natsConnection_ConnectTo(&nc_, url.c_str());
    if (nc_ != nullptr) natsInbox_Create(&inbox_);
  }
  ~RawClient() {
    if (answering_ != nullptr) {
      natsSubscription_Unsubscribe(answering_);
      natsSubscription_Destroy(answering_);
    }
    for (natsSubscription* s : subs_) natsSubscription_Destroy(s);
    if (inbox_ != nullptr) natsInbox_Destroy(inbox_);
    if (nc_ != nullptr) natsConnection_Destroy(nc_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool ok() const { return nc_ != nullptr && inbox_ != nullptr; }
  natsSubscription* SubscribeSync(const char* subject) {
    natsSubscription* sub = nullptr;
    if (natsConnection_SubscribeSync(&sub, nc_, subject) != NATS_OK) return nullptr;
    natsConnection_Flush(nc_);
    subs_.push_back(sub);
    return sub;
  }
  bool Publish(const std::string& subject, const std::string& data, const char* reply = nullptr) {
    int n = static_cast<int>(data.size());
    natsStatus s = reply == nullptr
                       ? natsConnection_Publish(nc_, subject.c_str(), data.data(), n)
                       : natsConnection_PublishRequest(nc_, subject.c_str(), reply, data.data(), n);
    return s == NATS_OK && natsConnection_Flush(nc_) == NATS_OK;
  }
  // The next message's bytes, or nullopt after `timeout`.
  static std::optional<std::string> Next(natsSubscription* sub, milliseconds timeout) {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, sub, timeout.count()) != NATS_OK) return std::nullopt;
    std::string data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    return data;
  }
  const char* inbox() const { return inbox_; }

  // Answers every REQUEST on `subject` but its own with `response`, as a Go
  // node does; after each answer publishes `then` on the subject if it is
  // not empty. Stop() ends the answers (the node dies without a word).
  bool AnswerRequests(const std::string& subject, std::string response, std::string then = "") {
    subject_ = subject;
    response_ = std::move(response);
    then_ = std::move(then);
    if (natsConnection_Subscribe(&answering_, nc_, subject.c_str(), &RawClient::OnRequest, this) !=
        NATS_OK) {
      return false;
    }
    return natsConnection_Flush(nc_) == NATS_OK;
  }
  void Stop() { stopped_ = true; }
  int answered() const { return answered_; }

 private:
  static void OnRequest(natsConnection* nc, natsSubscription*, natsMsg* msg, void* closure) {
    auto* self = static_cast<RawClient*>(closure);
    const char* reply = natsMsg_GetReply(msg);
    std::string data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    // A REQUEST: the message type (field 4) is 2, written last.
    bool request = reply != nullptr && std::string_view(reply) != self->inbox_ &&
                   data.ends_with(std::string("\x20\x02"));
    if (request && !self->stopped_) {
      natsConnection_Publish(nc, reply, self->response_.data(),
                             static_cast<int>(self->response_.size()));
      if (!self->then_.empty()) {
        natsConnection_Publish(nc, self->subject_.c_str(), self->then_.data(),
                               static_cast<int>(self->then_.size()));
      }
      natsConnection_Flush(nc);
      ++self->answered_;
    }
    natsMsg_Destroy(msg);
  }

  natsConnection* nc_ = nullptr;
  natsInbox* inbox_ = nullptr;
  std::vector<natsSubscription*> subs_;
  natsSubscription* answering_ = nullptr;
  std::string subject_, response_, then_;
  std::atomic<bool> stopped_{false};
  std::atomic<int> answered_{0};
};

TEST_F(NatsDiscoveryTest, SpeaksTheGoWireFormat) {
  Timing t;
  auto members = StartMembers(2, t);
  RawClient go(server_->url());
  ASSERT_TRUE(go.ok());

  // What a newcomer announces, byte for byte.
  natsSubscription* subject = go.SubscribeSync(subject_.c_str());
  ASSERT_NE(subject, nullptr);
  Member third(LocalNode("n3", 9003));
  ASSERT_TRUE(third.Start(ConfigFor(third.self(), t)).ok());
  bool saw_register = false;
  for (auto end = Clock::now() + seconds(3); !saw_register && Clock::now() < end;) {
    auto data = RawClient::Next(subject, milliseconds(500));
    saw_register = data && *data == GoMessage("127.0.0.1", 9003, "n3", 0);
  }
  EXPECT_TRUE(saw_register) << "no REGISTER from n3 encoded like Go's";

  // A Go node's DiscoverNodes: REQUEST with a reply inbox. Everyone answers
  // with a RESPONSE about itself, and learns of the asker.
  natsSubscription* replies = go.SubscribeSync(go.inbox());
  ASSERT_NE(replies, nullptr);
  ASSERT_TRUE(go.AnswerRequests(subject_, GoMessage("127.0.0.1", 9200, "go-node", 3)));
  const std::string go_address = "127.0.0.1:9200";
  ASSERT_TRUE(go.Publish(subject_, GoMessage("127.0.0.1", 9200, "go-node", 2), go.inbox()));
  std::set<std::string> answers;
  for (auto end = Clock::now() + seconds(3); answers.size() < 3 && Clock::now() < end;) {
    if (auto data = RawClient::Next(replies, milliseconds(500))) answers.insert(*data);
  }
  EXPECT_EQ(answers, (std::set<std::string>{GoMessage("127.0.0.1", 9001, "n1", 3),
                                            GoMessage("127.0.0.1", 9002, "n2", 3),
                                            GoMessage("127.0.0.1", 9003, "n3", 3)}));
  for (auto& m : members) {
    ASSERT_TRUE(m->WaitForEvent(Event::Kind::kAdded, go_address, seconds(2)).has_value());
  }
  // A Go node never heartbeats, but it answers the REQUEST that follows its
  // silence, so it stays...
  EXPECT_FALSE(members[0]->WaitForEvent(Event::Kind::kRemoved, go_address, 3 * t.node_ttl));
  EXPECT_GE(go.answered(), 2);
  // ...until it leaves by DEREGISTER.
  go.Stop();
  ASSERT_TRUE(go.Publish(subject_, GoMessage("127.0.0.1", 9200, "go-node", 1)));
  for (auto& m : members) {
    EXPECT_TRUE(m->WaitForEvent(Event::Kind::kRemoved, go_address, seconds(2)).has_value());
  }
  // Garbage on the subject is dropped with a log line, not a crash.
  ASSERT_TRUE(go.Publish(subject_, "\xff\xff\xff not a protobuf"));
  ASSERT_TRUE(go.Publish(subject_, GoMessage("", 0, "no-address", 0)));
  EXPECT_TRUE(members[0]->log().WaitFor("ignored a message", seconds(2)));
  auto nodes = members[0]->provider().DiscoverNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(Addresses(*nodes), (std::set<std::string>{"127.0.0.1:9002", "127.0.0.1:9003"}));
}

// A node known only from its REQUESTs and RESPONSEs (a Go node, or one of
// ours killed before its first heartbeat) that dies without a DEREGISTER:
// it is asked after node-ttl of silence and removed when it does not answer.
TEST_F(NatsDiscoveryTest, AQuietNodeThatStopsAnsweringIsRemoved) {
  Timing t;  // timeout 500 ms, node-ttl 600 ms
  auto members = StartMembers(2, t);
  RawClient go(server_->url());
  ASSERT_TRUE(go.ok());
  ASSERT_TRUE(go.AnswerRequests(subject_, GoMessage("127.0.0.1", 9200, "go-node", 3)));
  const std::string go_address = "127.0.0.1:9200";
  ASSERT_TRUE(go.Publish(subject_, GoMessage("127.0.0.1", 9200, "go-node", 2), go.inbox()));
  for (auto& m : members) {
    ASSERT_TRUE(m->WaitForEvent(Event::Kind::kAdded, go_address, seconds(2)).has_value());
  }
  EXPECT_FALSE(members[0]->WaitForEvent(Event::Kind::kRemoved, go_address, 2 * t.node_ttl));
  auto died = Clock::now();
  go.Stop();
  for (auto& m : members) {
    auto at = m->WaitForEvent(Event::Kind::kRemoved, go_address, seconds(5));
    ASSERT_TRUE(at.has_value()) << m->log().Dump();
    // Documented bound: node-ttl + timeout after its death (plus slack for
    // a loaded machine; without the probe it was never removed).
    EXPECT_LE(*at - died, t.node_ttl + t.timeout + milliseconds(1500));
    EXPECT_TRUE(m->log().WaitFor("reason=timeout", seconds(1)));
  }
  EXPECT_EQ(members[0]->View(), std::set<std::string>{members[1]->self().Address()});
}

// A node that answers DiscoverNodes' REQUEST and then sends DEREGISTER while
// the answers are still being collected has left: DiscoverNodes does not
// return it, and the membership does not add it back.
TEST_F(NatsDiscoveryTest, ANodeThatLeavesWhileDiscoveryCollectsIsNotKept) {
  Timing t;
  auto members = StartMembers(1, t);
  RawClient go(server_->url());
  ASSERT_TRUE(go.ok());
  ASSERT_TRUE(go.AnswerRequests(subject_, GoMessage("127.0.0.1", 9200, "go-node", 3),
                                GoMessage("127.0.0.1", 9200, "go-node", 1)));
  const std::string go_address = "127.0.0.1:9200";
  auto nodes = members[0]->provider().DiscoverNodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status().ToString();
  EXPECT_EQ(go.answered(), 1);
  EXPECT_TRUE(Addresses(*nodes).empty()) << "DiscoverNodes returned a node that had left";
  EXPECT_FALSE(members[0]->WaitForEvent(Event::Kind::kAdded, go_address, seconds(1)))
      << "the membership added a node that had left";
  EXPECT_TRUE(members[0]->View().empty());
}

TEST_F(NatsDiscoveryTest, CallsOutOfOrderAreFailedPrecondition) {
  NatsProvider p(NewNullLogger());
  EXPECT_EQ(p.id(), "nats");
  EXPECT_EQ(p.DiscoverNodes().status().message(),
            "nats discovery: DiscoverNodes is not valid when new (call SetConfig first)");
  ASSERT_TRUE(p.SetConfig(ConfigFor(LocalNode("n1", 9001))).ok());
  EXPECT_EQ(p.Register().message(),
            "nats discovery: Register is not valid when configured (call Initialize first)");
  ASSERT_TRUE(p.Initialize().ok());
  EXPECT_EQ(p.SetConfig(ConfigFor(LocalNode("n1", 9001))).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.DiscoverNodes().status().message(),
            "nats discovery: DiscoverNodes is not valid when initialized (call Register first)");
  EXPECT_TRUE(p.Deregister().ok());  // nothing to withdraw
  ASSERT_TRUE(p.Watch([](const Event&) {}).ok());
  EXPECT_EQ(p.Watch([](const Event&) {}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(p.Register().ok());
  EXPECT_EQ(p.Register().code(), StatusCode::kFailedPrecondition);
  auto alone = p.DiscoverNodes();
  ASSERT_TRUE(alone.ok());
  EXPECT_TRUE(alone->empty());
  ASSERT_TRUE(p.Deregister().ok());
  ASSERT_TRUE(p.Register().ok());
  ASSERT_TRUE(p.Close().ok());
  ASSERT_TRUE(p.Close().ok());
  EXPECT_TRUE(p.Deregister().ok());
  EXPECT_EQ(p.Register().message(),
            "nats discovery: Register is not valid when closed (the provider is closed)");
}

// --- Bad configurations: no server needed ---------------------------------

Config ValidConfig() {
  return MakeConfig("nats://127.0.0.1:4222", "groupcache.test", LocalNode("n1", 9001), {});
}

TEST(NatsConfigTest, BadConfigsNameTheKey) {
  struct Case {
    std::function<void(Config&)> edit;
    std::string want;
  } cases[] = {
      {[](Config& c) { c.Erase("nats-subject"); }, "missing key \"nats-subject\""},
      {[](Config& c) { c.Erase("nats-server"); }, "missing key \"nats-server\""},
      {[](Config& c) { c.Erase("app_name"); }, "missing key \"app_name\""},
      {[](Config& c) { c.Erase("self-host"); }, "missing key \"self-host\""},
      {[](Config& c) { c.SetString("nats-server", "http://127.0.0.1:4222"); },
       "key \"nats-server\" bad NATS URL \"http://127.0.0.1:4222\": scheme is not nats or tls"},
      {[](Config& c) { c.SetString("nats-server", "nats://127.0.0.1:42x2"); },
       "bad NATS URL \"nats://127.0.0.1:42x2\": port is not a number in 1..65535"},
      {[](Config& c) { c.SetString("nats-server", "nats://:4222"); }, "no host"},
      {[](Config& c) { c.SetString("nats-server", "nats://[::1]x4222"); }, "junk after ']'"},
      {[](Config& c) { c.SetString("nats-server", "nats://::1:4222"); },
       "IPv6 host needs [brackets]"},
      {[](Config& c) { c.SetString("nats-server", "nats://127.0.0.1:"); }, "empty port"},
      {[](Config& c) { c.SetString("nats-server", ""); }, "key \"nats-server\" is empty"},
      {[](Config& c) { c.SetString("nats-subject", "a.*.b"); }, "has a wildcard"},
      {[](Config& c) { c.SetString("nats-subject", "a..b"); }, "has an empty token"},
      {[](Config& c) { c.SetInt("self-port", 0); }, "key \"self-port\" is 0"},
      {[](Config& c) { c.SetString("self-port", "eighty"); }, "key \"self-port\" is a string"},
      {[](Config& c) { c.SetString("timeout", "1 second"); },
       "key \"timeout\" is a string, want duration"},
      {[](Config& c) { c.SetBool("heartbeat", true); }, "key \"heartbeat\" is a bool"},
      {[](Config& c) { c.SetString("timeout", "-1s"); }, "key \"timeout\" must be positive"},
      {[](Config& c) {
         c.SetString("heartbeat", "1s");
         c.SetString("node-ttl", "1s");
       },
       "key \"node-ttl\" is 1s, must exceed heartbeat (1s)"},
  };
  for (const Case& c : cases) {
    Config config = ValidConfig();
    c.edit(config);
    NatsProvider p(NewNullLogger());
    Status s = p.SetConfig(config);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.want;
    EXPECT_NE(s.message().find(c.want), std::string::npos) << s.message();
  }
  NatsProvider p(NewNullLogger());
  EXPECT_TRUE(p.SetConfig(ValidConfig()).ok());
  Config strings = ValidConfig();
  strings.SetString("self-port", "9001");
  strings.SetString("heartbeat", "250ms");
  strings.SetString("nats-server", "nats://a:1, tls://user:pw@b, [::1]:4222");
  Status ok = p.SetConfig(strings);
  EXPECT_TRUE(ok.ok()) << ok.ToString();
}

TEST(NatsConfigTest, UnreachableServerFailsFastNamingIt) {
  int port = testing::FreeLoopbackPort();  // nothing listens there
  Config c = ValidConfig();
  std::string url = "nats://127.0.0.1:" + std::to_string(port);
  c.SetString("nats-server", url);
  NatsProvider p(NewNullLogger());
  ASSERT_TRUE(p.SetConfig(c).ok());
  auto start = Clock::now();
  Status s = p.Initialize();
  EXPECT_LT(Clock::now() - start, seconds(3));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("cannot connect to NATS server \"" + url + "\""), std::string::npos)
      << s.message();
  // Still configured: the caller may fix the server and try again, or close.
  EXPECT_EQ(p.Register().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(p.Close().ok());
}

TEST(NatsConfigTest, MuteServerFailsWithinTheConnectTimeout) {
  // Accepts TCP connections (the kernel does, into the backlog) but never
  // says a word: the connect must give up after connect-timeout.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  Config c = ValidConfig();
  c.SetString("nats-server", "nats://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  c.SetString("connect-timeout", "700ms");
  NatsProvider p(NewNullLogger());
  ASSERT_TRUE(p.SetConfig(c).ok());
  auto start = Clock::now();
  Status s = p.Initialize();
  auto took = Clock::now() - start;
  close(fd);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("within 700ms"), std::string::npos) << s.message();
  EXPECT_GE(took, milliseconds(600));
  EXPECT_LT(took, seconds(4));
}

}  // namespace
}  // namespace groupcache::discovery
