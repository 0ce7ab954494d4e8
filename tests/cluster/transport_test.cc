// Three nodes in this process, each with its own Registry and HttpPool,
// talking real HTTP over loopback: Set and Remove across the cluster.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../common/loopback.h"
#include "groupcache/http_pool.h"
#include "groupcache/registry.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

struct InProcessNode {
  std::unique_ptr<Registry> registry;
  std::unique_ptr<HttpPool> pool;
  std::shared_ptr<Group> group;
  std::atomic<int> loads{0};
};

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      auto node = std::make_unique<InProcessNode>();
      node->registry = std::make_unique<Registry>(RegistryOptions{NewNullLogger()});
      InProcessNode* raw = node.get();
      node->group = *node->registry->NewGroup("g", 1 << 20,
                                              [raw](const Context&, std::string_view key, Sink& d) {
                                                ++raw->loads;
                                                return d.SetString("loaded:" + std::string(key));
                                              });
      auto pool = HttpPool::Start(node->registry.get(), "http://127.0.0.1:0", "127.0.0.1:0", {});
      ASSERT_TRUE(pool.ok()) << pool.status().ToString();
      node->pool = std::move(*pool);
      nodes_.push_back(std::move(node));
    }
    // Ports are known only now; rebuild each pool's identity on the ring.
    std::vector<std::string> urls;
    for (auto& n : nodes_) urls.push_back("http://127.0.0.1:" + std::to_string(n->pool->port()));
    for (size_t i = 0; i < nodes_.size(); ++i) {
      auto& n = nodes_[i];
      n->pool.reset();
      auto pool = HttpPool::Start(n->registry.get(), urls[i],
                                  "127.0.0.1:" + urls[i].substr(urls[i].rfind(':') + 1), {});
      ASSERT_TRUE(pool.ok()) << pool.status().ToString();
      n->pool = std::move(*pool);
      n->pool->SetPeers(urls);
      n->registry->SetPeerPicker(n->pool->picker());
    }
    urls_ = urls;
  }

  void TearDown() override {
    for (auto& n : nodes_) n->registry->SetPeerPicker(nullptr);
  }

  // The index of the node owning `key`, and a key owned by node `owner`.
  size_t OwnerOf(const std::string& key) {
    std::string url = nodes_[0]->pool->Owner(key);
    for (size_t i = 0; i < urls_.size(); ++i) {
      if (urls_[i] == url) return i;
    }
    return 99;
  }
  std::string KeyOwnedBy(size_t owner, const std::string& prefix) {
    for (int i = 0;; ++i) {
      std::string k = prefix + std::to_string(i);
      if (OwnerOf(k) == owner) return k;
    }
  }

  std::vector<std::unique_ptr<InProcessNode>> nodes_;
  std::vector<std::string> urls_;
};

TEST_F(TransportTest, SetToRemoteOwnerIsVisibleEverywhere) {
  std::string key = KeyOwnedBy(1, "set-");
  auto ctx = Context::Background().WithTimeout(5s);
  ASSERT_TRUE(nodes_[0]->group->Set(ctx, key, "written", kNoExpiry, true).ok());
  for (auto& n : nodes_) {
    auto r = n->group->Get(ctx, key);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, "written");
  }
  int loads = 0;
  for (auto& n : nodes_) loads += n->loads;
  EXPECT_EQ(loads, 0);
  EXPECT_EQ(nodes_[1]->group->GetCacheStats(CacheType::kMain).items, 1);
}

TEST_F(TransportTest, RemoveClearsMainAndHotCachesEverywhere) {
  std::string key = KeyOwnedBy(2, "rm-");
  auto ctx = Context::Background().WithTimeout(5s);
  for (auto& n : nodes_) ASSERT_TRUE(n->group->Get(ctx, key).ok());
  EXPECT_EQ(nodes_[0]->group->GetCacheStats(CacheType::kHot).items, 1);
  EXPECT_EQ(nodes_[1]->group->GetCacheStats(CacheType::kHot).items, 1);
  EXPECT_EQ(nodes_[2]->group->GetCacheStats(CacheType::kMain).items, 1);
  ASSERT_TRUE(nodes_[1]->group->Remove(ctx, key).ok());
  for (auto& n : nodes_) {
    EXPECT_EQ(n->group->GetCacheStats(CacheType::kHot).items, 0);
    EXPECT_EQ(n->group->GetCacheStats(CacheType::kMain).items, 0);
  }
  ASSERT_TRUE(nodes_[0]->group->Get(ctx, key).ok());
  EXPECT_EQ(nodes_[2]->loads.load(), 2);  // loaded again on its owner
}

TEST_F(TransportTest, ExpiryTravelsWithTheValue) {
  std::string key = KeyOwnedBy(1, "exp-");
  auto ctx = Context::Background().WithTimeout(5s);
  Time when = WallClock::now() + 1h;
  ASSERT_TRUE(nodes_[0]->group->Set(ctx, key, "v", when).ok());
  std::string out;
  Time got;
  StringSink sink(&out, &got);
  ASSERT_TRUE(nodes_[2]->group->Get(ctx, key, sink).ok());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::microseconds>(got - when).count(), 0);
}

TEST(TransportClientTest, HonoursDeadlineAndCancellation) {
  testing::SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(silent.port());

  HttpClientPool clients;
  auto start = Clock::now();
  auto r = clients.ClientFor(url)->Get(Context::Background().WithTimeout(300ms), "g", "k");
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, 3s);

  CancelSource cancel;
  Result<ByteView> c = InternalError("not run");
  std::thread reader([&] { c = clients.ClientFor(url)->Get(cancel.context(), "g", "k"); });
  cancel.Cancel();
  reader.join();
  EXPECT_EQ(c.status().code(), StatusCode::kCancelled) << c.status().ToString();

  auto refused =
      clients.ClientFor("http://127.0.0.1:1")->Get(Context::Background().WithTimeout(2s), "g", "k");
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
}

// A pool serving `registry` on a free loopback port (in *port), its own
// URL being that address.
Result<std::unique_ptr<HttpPool>> StartOnFreePort(Registry* registry,
                                                  const HttpPoolOptions& options, int* port) {
  *port = testing::FreeLoopbackPort();
  return HttpPool::Start(registry, "http://127.0.0.1:" + std::to_string(*port),
                         "127.0.0.1:" + std::to_string(*port), options);
}

// Connects to 127.0.0.1:port, sends `request`, and reads until the server
// closes the connection (or 5 s pass). Returns what came back and how long
// the connection stayed open after the send.
struct Exchange {
  std::string received;
  Clock::duration open_for{};
  bool closed = false;
};
// Sends the parts `gap` apart, then reads until the server closes (or 5 s
// pass without a byte).
Exchange SendInPartsAndWaitForClose(int port, const std::vector<std::string>& parts,
                                    Clock::duration gap = {}) {
  Exchange out;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return out;
  }
  auto start = Clock::now();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) std::this_thread::sleep_for(gap);
    if (!parts[i].empty()) (void)!send(fd, parts[i].data(), parts[i].size(), MSG_NOSIGNAL);
  }
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      out.received.append(buf, static_cast<size_t>(n));
      continue;
    }
    out.closed = n == 0 || errno == ECONNRESET;
    break;
  }
  out.open_for = Clock::now() - start;
  close(fd);
  return out;
}

Exchange SendAndWaitForClose(int port, const std::string& request) {
  return SendInPartsAndWaitForClose(port, {request});
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// The server reads a plain request head its own short way and any other
// with Beast (http_head.h). Mixed on one connection, pipelined in one
// write, split across writes, in HTTP/1.0 and 1.1, each request is
// answered once, in order, and the connection is kept or closed as the
// request asked.
TEST(TransportServerTest, RequestsReadEitherWayAreAnsweredAlike) {
  Registry registry(RegistryOptions{NewNullLogger()});
  ASSERT_TRUE(registry
                  .NewGroup("g", 1 << 20,
                            [](const Context&, std::string_view key, Sink& d) {
                              return d.SetString("v:" + std::string(key) + ";");
                            })
                  .ok());
  HttpPoolOptions options;
  options.idle_timeout = 10s;  // so that a close below is the request's doing
  int port = 0;
  auto pool = StartOnFreePort(&registry, options, &port);
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();

  // Short, long (a declared empty body), long (obs-text), short with
  // Connection: close, and one after it that must not be answered.
  Exchange mixed = SendAndWaitForClose(
      port,
      "GET /_groupcache/g/a HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /_groupcache/g/b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
      "GET /_groupcache/g/c%20d HTTP/1.1\r\nHost: x\r\nX-Note: caf\xc3\xa9\r\n\r\n"
      "GET /_groupcache/g/e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      "GET /_groupcache/g/never HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(mixed.closed);
  EXPECT_LT(mixed.open_for, 5s);
  EXPECT_EQ(Count(mixed.received, "HTTP/1.1 200 OK\r\n"), 4U) << mixed.received;
  EXPECT_EQ(Count(mixed.received, "Connection: close\r\n"), 1U);
  size_t a = mixed.received.find("v:a;");
  size_t b = mixed.received.find("v:b;");
  size_t c = mixed.received.find("v:c d;");
  size_t e = mixed.received.find("v:e;");
  ASSERT_NE(e, std::string::npos) << mixed.received;
  EXPECT_TRUE(a < b && b < c && c < e) << mixed.received;
  EXPECT_EQ(mixed.received.find("v:never;"), std::string::npos);

  // HTTP/1.0 closes unless asked to keep the connection.
  Exchange http10 = SendAndWaitForClose(port, "GET /_groupcache/g/f HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(http10.closed);
  EXPECT_LT(http10.open_for, 5s);
  EXPECT_EQ(Count(http10.received, "HTTP/1.1 200 OK\r\n"), 1U) << http10.received;
  EXPECT_NE(http10.received.find("v:f;"), std::string::npos);
  Exchange kept =
      SendAndWaitForClose(port,
                          "GET /_groupcache/g/g HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                          "GET /_groupcache/g/h HTTP/1.0\r\n\r\n");
  EXPECT_EQ(Count(kept.received, "HTTP/1.1 200 OK\r\n"), 2U) << kept.received;
  EXPECT_EQ(Count(kept.received, "Connection: keep-alive\r\n"), 1U);
  EXPECT_NE(kept.received.find("v:h;"), std::string::npos);
  EXPECT_LT(kept.open_for, 5s);

  // A head in two writes: the first read has no blank line, Beast reads on.
  Exchange split = SendInPartsAndWaitForClose(
      port, {"GET /_groupcache/g/split HTTP/1.1\r\nHo", "st: x\r\nConnection: close\r\n\r\n"},
      100ms);
  EXPECT_TRUE(split.closed);
  EXPECT_EQ(Count(split.received, "HTTP/1.1 200 OK\r\n"), 1U) << split.received;
  EXPECT_NE(split.received.find("v:split;"), std::string::npos);
}

// A server must not hold a connection forever for a client that stalls:
// idle keep-alive connections and half-sent headers go at the idle
// timeout, a stalled body at the request timeout; the server answers
// others all the while. Also with several I/O threads (strands).
// What connects while Start's before_serving runs waits in the backlog
// and is answered by the handlers it added: a probe never finds the port
// open and its path missing (groupcached adds /healthz, /readyz and the
// rest there).
TEST(TransportServerTest, HandlersAddedBeforeServingAnswerTheFirstRequest) {
  Registry registry(RegistryOptions{NewNullLogger()});
  const int port = testing::FreeLoopbackPort();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  Exchange early;
  std::thread prober;
  auto pool =
      HttpPool::Start(&registry, url, "127.0.0.1:" + std::to_string(port), {}, [&](HttpPool& p) {
        EXPECT_EQ(p.port(), port);
        prober = std::thread([&] {
          early = SendAndWaitForClose(port, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
        });
        // The probe connects and sends meanwhile.
        std::this_thread::sleep_for(200ms);
        p.AddHandler("GET", "/healthz", [](const HttpRequest&) {
          return HttpResponse{200, "text/plain", "ok\n"};
        });
      });
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  prober.join();
  EXPECT_TRUE(early.received.starts_with("HTTP/1.1 200 OK\r\n")) << early.received;
  EXPECT_TRUE(early.received.ends_with("\r\n\r\nok\n")) << early.received;
}

TEST(TransportServerTest, StalledConnectionsAreClosedAtTheirTimeouts) {
  for (int io_threads : {1, 2}) {
    SCOPED_TRACE("io_threads " + std::to_string(io_threads));
    Registry registry(RegistryOptions{NewNullLogger()});
    ASSERT_TRUE(registry
                    .NewGroup("g", 1 << 20,
                              [](const Context&, std::string_view key, Sink& d) {
                                return d.SetString("v:" + std::string(key));
                              })
                    .ok());
    HttpPoolOptions options;
    options.idle_timeout = 1500ms;
    options.header_timeout = 300ms;
    options.request_timeout = 300ms;
    options.io_threads = io_threads;
    int port = 0;
    auto pool = StartOnFreePort(&registry, options, &port);
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();

    Exchange idle, half_header, half_body, answered;
    std::thread t1([&] { idle = SendAndWaitForClose(port, ""); });
    std::thread t2(
        [&] { half_header = SendAndWaitForClose(port, "GET /_groupcache/g/k HTTP/1.1\r\nHo"); });
    std::thread t3([&] {
      half_body = SendAndWaitForClose(
          port,
          "PUT /_groupcache/g/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
    });
    std::thread t4([&] {
      answered = SendAndWaitForClose(port, "GET /_groupcache/g/k HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    for (std::thread* t : {&t1, &t2, &t3, &t4}) t->join();

    for (Exchange* e : {&idle, &answered}) {
      EXPECT_TRUE(e->closed);
      EXPECT_GE(e->open_for, 1400ms);  // the idle timeout
      EXPECT_LT(e->open_for, 3s);
    }
    // A header begun and not finished: the header timeout, which is not
    // reset by the bytes that trickle in.
    EXPECT_TRUE(half_header.closed);
    EXPECT_GE(half_header.open_for, 250ms);
    EXPECT_LT(half_header.open_for, 1000ms);
    EXPECT_TRUE(idle.received.empty());
    EXPECT_TRUE(half_header.received.empty());
    EXPECT_NE(answered.received.find("HTTP/1.1 200 OK"), std::string::npos) << answered.received;
    EXPECT_NE(answered.received.find("v:k"), std::string::npos);
    // The header arrived (idle timer off), the body stalled: request timeout.
    EXPECT_TRUE(half_body.closed);
    EXPECT_GE(half_body.open_for, 250ms);
    EXPECT_LT(half_body.open_for, 3s);
    EXPECT_TRUE(half_body.received.empty()) << half_body.received;
  }
}

// An answer larger than the socket's send buffer goes out in two parts
// (a send at once, the rest by the composed write): a client that reads it
// gets every byte, and one that stops reading is cut off at the request
// timeout while others are answered.
TEST(TransportServerTest, ALargeAnswerIsWholeAndAStalledReaderIsCutOffAtTheRequestTimeout) {
  for (int io_threads : {1, 2}) {
    SCOPED_TRACE("io_threads " + std::to_string(io_threads));
    const std::string big(size_t{16} << 20, 'x');
    Registry registry(RegistryOptions{NewNullLogger()});
    ASSERT_TRUE(registry
                    .NewGroup("g", 64 << 20,
                              [&big](const Context&, std::string_view, Sink& d) {
                                return d.SetString(big);
                              })
                    .ok());
    HttpPoolOptions options;
    options.request_timeout = 300ms;
    options.io_threads = io_threads;
    int port = 0;
    auto pool = StartOnFreePort(&registry, options, &port);
    ASSERT_TRUE(pool.ok()) << pool.status().ToString();
    const std::string self = (*pool)->self();

    // A reader with a small receive window that reads nothing for a second.
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    const std::string request = "GET /_groupcache/g/k HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));

    // Meanwhile another client gets the whole value.
    HttpClientPool clients(options);
    auto whole = clients.ClientFor(self)->Get(Context::Background().WithTimeout(5s), "g", "k");
    ASSERT_TRUE(whole.ok()) << whole.status().ToString();
    EXPECT_EQ(whole->size(), big.size());
    EXPECT_EQ(whole->view(), big);

    std::this_thread::sleep_for(1s);  // well past the request timeout
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    size_t received = 0;
    char buf[65536];
    ssize_t n = 0;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) received += static_cast<size_t>(n);
    const bool closed = n == 0 || errno == ECONNRESET;
    close(fd);
    EXPECT_TRUE(closed) << "errno " << errno;
    EXPECT_GT(received, 0U);
    EXPECT_LT(received, big.size());  // cut off, not finished
  }
}

}  // namespace
}  // namespace groupcache
