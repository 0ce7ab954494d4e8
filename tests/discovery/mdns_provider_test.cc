// MdnsProvider in one process: two providers on the two ends of a veth pair
// inside a network namespace of the test's own (unshare(CLONE_NEWNET) before
// anything else runs), so that multicast never reaches the host's network.
// The process-level tests (tests/mdns/cluster_test.py) run real nodes in
// namespaces joined by a bridge; these check the provider's contract, and
// run under ASan and TSan too.

#include "groupcache/discovery/mdns_provider.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace groupcache::discovery {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Set by main(): empty when the namespaces and the veth pair are there.
std::string& SkipReason() {
  static std::string reason;
  return reason;
}

struct NamespaceFds {
  int a = -1;
  int b = -1;
};
NamespaceFds& Namespaces() {
  static NamespaceFds fds;
  return fds;
}

// Initialize creates Avahi's sockets and thread in the calling thread's
// network namespace: call it from a thread moved into `ns`.
Status InitializeIn(int ns, MdnsProvider& p) {
  Status s;
  std::thread t([&] {
    if (::setns(ns, CLONE_NEWNET) != 0) {
      s = InternalError("setns failed");
      return;
    }
    s = p.Initialize();
  });
  t.join();
  return s;
}

#define SKIP_WITHOUT_NAMESPACE()                             \
  do {                                                       \
    if (!SkipReason().empty()) GTEST_SKIP() << SkipReason(); \
  } while (false)

Config NodeConfig(const std::string& name, const std::string& ip, int port,
                  const std::string& interface) {
  Config c;
  SetSelf(c, Node{name, ip, port});
  c.SetStringList(std::string(MdnsProvider::kInterfaces), {interface});
  c.SetString(std::string(MdnsProvider::kService), "_gctest._tcp");
  return c;
}

// Events seen by a Watch callback, waited for with a deadline.
class Seen {
 public:
  WatchCallback Callback() {
    return [this](const Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  bool WaitFor(const std::function<bool(const std::vector<Event>&)>& done,
               std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return done(events_); });
  }
  std::vector<Event> Events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

auto Has(Event::Kind kind, const std::string& address) {
  return [kind, address](const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (e.kind == kind && e.node.Address() == address) return true;
    }
    return false;
  };
}

TEST(MdnsProviderTest, SetConfigNamesTheBadKey) {
  struct Case {
    std::string key;
    std::string value;
  } cases[] = {
      {"name", std::string(64, 'x')},
      {"service", "groupcache"},
      {"service", "_a._sctp"},
      {"domain", "example.com"},
      {"ttl", "0s"},
      {"ttl", "2h"},
      {"interfaces", "eth0,bad name"},
      {"group-port", "70000"},
      {"ipv6", "maybe"},
      {"register-timeout", "0s"},
      // The address the node publishes is its identity in every ring.
      {"self-host", "cache-1.example"},
      {"self-host", "2001:db8::1"},  // IPv6 without ipv6
  };
  for (const Case& c : cases) {
    MdnsProvider p;
    Config config = NodeConfig("n", "10.0.0.1", 8080, "eth0");
    config.SetString(c.key, c.value);
    Status s = p.SetConfig(config);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.key << "=" << c.value;
    EXPECT_NE(s.message().find(c.key), std::string::npos) << s.ToString();
  }
  {
    MdnsProvider v6;
    Config config = NodeConfig("n", "fe80::1", 8080, "eth0");
    config.SetString("ipv6", "true");
    Status s = v6.SetConfig(config);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("link-local"), std::string::npos) << s.ToString();
    config = NodeConfig("n", "2001:DB8::0001", 8080, "eth0");  // not canonical: fine
    config.SetString("ipv6", "true");
    EXPECT_TRUE(v6.SetConfig(config).ok());
  }
  MdnsProvider p;
  EXPECT_EQ(p.Register().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.Initialize().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(p.SetConfig(NodeConfig("n", "10.0.0.1", 8080, "eth0")).ok());
  EXPECT_EQ(p.DiscoverNodes().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(p.Close().ok());
  EXPECT_TRUE(p.Close().ok());
}

TEST(MdnsProviderTest, TwoNodesFindEachOtherAndAGoodbyeRemovesAtOnce) {
  SKIP_WITHOUT_NAMESPACE();
  MdnsProvider a;
  MdnsProvider b;
  ASSERT_TRUE(a.SetConfig(NodeConfig("a", "10.201.0.1", 7001, "gca")).ok());
  ASSERT_TRUE(b.SetConfig(NodeConfig("b", "10.201.0.2", 7002, "gcb")).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().a, a).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().b, b).ok());
  Seen seen_a;
  Seen seen_b;
  ASSERT_TRUE(a.Watch(seen_a.Callback()).ok());
  EXPECT_EQ(a.Watch(seen_a.Callback()).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(b.Watch(seen_b.Callback()).ok());
  auto start = std::chrono::steady_clock::now();
  std::thread register_b([&] { EXPECT_TRUE(b.Register().ok()); });
  ASSERT_TRUE(a.Register().ok());
  register_b.join();
  EXPECT_EQ(a.InstanceName(), "a");
  ASSERT_TRUE(seen_a.WaitFor(Has(Event::Kind::kAdded, "10.201.0.2:7002"), seconds(3)));
  ASSERT_TRUE(seen_b.WaitFor(Has(Event::Kind::kAdded, "10.201.0.1:7001"), seconds(3)));
  std::cout << "found each other in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
  Result<std::vector<Node>> nodes = a.DiscoverNodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);  // never itself
  EXPECT_EQ((*nodes)[0], (Node{"b", "10.201.0.2", 7002}));

  // A goodbye is acted on when it arrives, not after the cache's second.
  start = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.Deregister().ok());
  EXPECT_EQ(b.InstanceName(), "");
  ASSERT_TRUE(seen_a.WaitFor(Has(Event::Kind::kRemoved, "10.201.0.2:7002"), milliseconds(900)));
  auto gone = std::chrono::steady_clock::now() - start;
  std::cout << "removed " << std::chrono::duration<double>(gone).count()
            << " s after the goodbye\n";
  // ... and it stays gone once Avahi's own second is over.
  std::this_thread::sleep_for(milliseconds(1700));
  nodes = a.DiscoverNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_TRUE(nodes->empty());
  // Registering again brings it back.
  ASSERT_TRUE(b.Register().ok());
  ASSERT_TRUE(seen_a.WaitFor(
      [](const std::vector<Event>& events) {
        return events.back().kind == Event::Kind::kAdded &&
               events.back().node.Address() == "10.201.0.2:7002";
      },
      seconds(3)));
  EXPECT_TRUE(b.Close().ok());
  EXPECT_TRUE(a.Close().ok());
}

// Two nodes with one instance name both end up published, under two names
// ("same" and "same #2"; usually the later one renames itself, but when the
// probes cross, RFC 6762 §8.2 may make either yield), and each finds the
// other at its own address.
TEST(MdnsProviderTest, TwoNodesWithOneNameAreBothPublishedUnderTwoNames) {
  SKIP_WITHOUT_NAMESPACE();
  Seen seen_a;  // before the providers: their callbacks write into these
  Seen seen_b;
  MdnsProvider a;
  MdnsProvider b;
  Config ca = NodeConfig("a", "10.201.0.1", 7101, "gca");
  Config cb = NodeConfig("b", "10.201.0.2", 7102, "gcb");
  ca.SetString(std::string(MdnsProvider::kName), "same");
  cb.SetString(std::string(MdnsProvider::kName), "same");
  ASSERT_TRUE(a.SetConfig(ca).ok());
  ASSERT_TRUE(b.SetConfig(cb).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().a, a).ok());
  ASSERT_TRUE(a.Register().ok());
  ASSERT_TRUE(a.Watch(seen_a.Callback()).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().b, b).ok());
  ASSERT_TRUE(b.Watch(seen_b.Callback()).ok());
  ASSERT_TRUE(b.Register().ok());
  ASSERT_TRUE(seen_a.WaitFor(Has(Event::Kind::kAdded, "10.201.0.2:7102"), seconds(8)));
  ASSERT_TRUE(seen_b.WaitFor(Has(Event::Kind::kAdded, "10.201.0.1:7101"), seconds(8)));
  auto deadline = std::chrono::steady_clock::now() + seconds(8);
  while (a.InstanceName() == b.InstanceName() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::set<std::string> names = {a.InstanceName(), b.InstanceName()};
  EXPECT_EQ(names, (std::set<std::string>{"same", "same #2"}));
  // Nobody is ever reported at an address that is not its own.
  for (const Event& e : seen_a.Events()) EXPECT_EQ(e.node.Address(), "10.201.0.2:7102");
  for (const Event& e : seen_b.Events()) EXPECT_EQ(e.node.Address(), "10.201.0.1:7101");
  EXPECT_TRUE(a.Close().ok());
  EXPECT_TRUE(b.Close().ok());
}

// Two stacks on one address (two nodes on one host, or a node beside an
// avahi-daemon) must not fight over it: each publishes its own host name
// for the address, without the reverse-lookup record they would share.
TEST(MdnsProviderTest, TwoNodesOnOneAddressAreBothPublishedAndStay) {
  SKIP_WITHOUT_NAMESPACE();
  Seen seen_b;
  MdnsProvider a1;
  MdnsProvider a2;
  MdnsProvider b;
  ASSERT_TRUE(a1.SetConfig(NodeConfig("a1", "10.201.0.1", 7301, "gca")).ok());
  ASSERT_TRUE(a2.SetConfig(NodeConfig("a2", "10.201.0.1", 7302, "gca")).ok());
  ASSERT_TRUE(b.SetConfig(NodeConfig("b", "10.201.0.2", 7303, "gcb")).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().a, a1).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().a, a2).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().b, b).ok());
  ASSERT_TRUE(b.Watch(seen_b.Callback()).ok());
  std::thread register_a2([&] { EXPECT_TRUE(a2.Register().ok()); });
  ASSERT_TRUE(a1.Register().ok());
  register_a2.join();
  ASSERT_TRUE(b.Register().ok());
  ASSERT_TRUE(seen_b.WaitFor(Has(Event::Kind::kAdded, "10.201.0.1:7301"), seconds(3)));
  ASSERT_TRUE(seen_b.WaitFor(Has(Event::Kind::kAdded, "10.201.0.1:7302"), seconds(3)));
  std::this_thread::sleep_for(seconds(3));  // no conflict loop, nobody leaves
  EXPECT_EQ(a1.InstanceName(), "a1");
  EXPECT_EQ(a2.InstanceName(), "a2");
  for (const Event& e : seen_b.Events()) EXPECT_EQ(e.kind, Event::Kind::kAdded);
  Result<std::vector<Node>> nodes = b.DiscoverNodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->size(), 2u);
  EXPECT_TRUE(b.Close().ok());
  EXPECT_TRUE(a1.Close().ok());
  EXPECT_TRUE(a2.Close().ok());
}

TEST(MdnsProviderTest, CloseFromTheCallbackIsRefusedAndCloseWhileRegisteringReturns) {
  SKIP_WITHOUT_NAMESPACE();
  auto a = std::make_unique<MdnsProvider>();
  MdnsProvider b;
  ASSERT_TRUE(a->SetConfig(NodeConfig("a", "10.201.0.1", 7201, "gca")).ok());
  ASSERT_TRUE(b.SetConfig(NodeConfig("b", "10.201.0.2", 7202, "gcb")).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().a, *a).ok());
  ASSERT_TRUE(InitializeIn(Namespaces().b, b).ok());
  ASSERT_TRUE(b.Register().ok());
  std::mutex mu;
  std::condition_variable cv;
  bool called = false;
  Status from_callback;
  ASSERT_TRUE(a->Watch([&](const Event&) {
                 std::lock_guard lock(mu);
                 if (!called) from_callback = a->Close();
                 called = true;
                 cv.notify_all();
               }).ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, seconds(5), [&] { return called; }));
  EXPECT_EQ(from_callback.code(), StatusCode::kFailedPrecondition);
  lock.unlock();
  // Close while Register is still probing returns promptly.
  std::thread closer([&] {
    std::this_thread::sleep_for(milliseconds(50));
    EXPECT_TRUE(a->Close().ok());
  });
  auto start = std::chrono::steady_clock::now();
  Status s = a->Register();
  closer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2)) << s.ToString();
  a.reset();
  EXPECT_TRUE(b.Close().ok());
}

// Two network namespaces of the test's own, joined by a veth pair:
// A (gca, 10.201.0.1) <-> B (gcb, 10.201.0.2). Two Avahi stacks in one
// namespace ignore each other (each takes the other's packets for its own
// host's), hence two. Made before any thread exists, by unshare(); they
// vanish with the process. The main thread stays in A.
std::string EnterNamespaces() {
  std::string skip =
      "mDNS provider tests need network namespaces of their own (root, unshare(CLONE_NEWNET), "
      "veth): skipped";
  if (::unshare(CLONE_NEWNET) != 0) return skip;
  Namespaces().a = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (::unshare(CLONE_NEWNET) != 0) return skip;
  Namespaces().b = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  // A process in B for `ip link ... netns PID` to name it by.
  pid_t holder = ::fork();
  if (holder == 0) {
    ::pause();
    ::_exit(0);
  }
  // NOLINTBEGIN(concurrency-mt-unsafe): before any thread
  bool ok = std::system("ip link set lo up") == 0;
  ok = ok && ::setns(Namespaces().a, CLONE_NEWNET) == 0;
  std::string in_a = "ip link set lo up && ip link add gca type veth peer name gcb netns " +
                     std::to_string(holder) +
                     " && ip addr add 10.201.0.1/24 dev gca && ip link set gca up";
  ok = ok && std::system(in_a.c_str()) == 0;
  ok = ok && ::setns(Namespaces().b, CLONE_NEWNET) == 0;
  ok = ok && std::system("ip addr add 10.201.0.2/24 dev gcb && ip link set gcb up") == 0;
  ok = ok && ::setns(Namespaces().a, CLONE_NEWNET) == 0;
  // NOLINTEND(concurrency-mt-unsafe)
  ::kill(holder, SIGKILL);
  ::waitpid(holder, nullptr, 0);
  return ok ? std::string() : skip;
}

}  // namespace
}  // namespace groupcache::discovery

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();  // CTest's discovery: no namespace
  groupcache::discovery::SkipReason() = groupcache::discovery::EnterNamespaces();
  if (!groupcache::discovery::SkipReason().empty()) {
    std::cout << groupcache::discovery::SkipReason() << "\n";
  }
  return RUN_ALL_TESTS();
}
