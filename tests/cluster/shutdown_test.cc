// Stopping a node while everything is in flight, in one process over real
// loopback (run under ASan and TSan too): loads on workers, peer fetches
// from the group and from the server, Set and Remove to the peers, and
// requests from outside, when the pool is shut down and destroyed.
// Nothing may be used after it is freed, every caller must return, and a
// later Get of the same keys, with no deadline, must complete: no
// single-flight entry is left stranded.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../common/loopback.h"
#include "groupcache/http_pool.h"
#include "groupcache/registry.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

// Waits `delay` unless the context ends first.
Status Slow(const Context& ctx, std::chrono::milliseconds delay) {
  auto end = Clock::now() + delay;
  while (Clock::now() < end) {
    if (Status s = ctx.Err(); !s.ok()) return s;
    std::this_thread::sleep_for(5ms);
  }
  return {};
}

struct Node {
  explicit Node(int port) : url("http://127.0.0.1:" + std::to_string(port)) {
    registry = std::make_shared<Registry>(RegistryOptions{NewNullLogger()});
    group =
        *registry->NewGroup("g", 1 << 20, [](const Context& ctx, std::string_view key, Sink& d) {
          if (Status s = Slow(ctx, 150ms); !s.ok()) return s;
          return d.SetString("v:" + std::string(key));
        });
  }
  void Start(const std::vector<std::string>& peers, int io_threads = 1) {
    HttpPoolOptions options;
    options.io_threads = io_threads;
    options.worker_threads = 2;  // loads queue behind each other
    options.request_timeout = 3s;
    auto started = HttpPool::Start(registry.get(), url, "127.0.0.1:" + url.substr(17), options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    pool = std::move(*started);
    pool->SetPeers(peers);
    registry->SetPeerPicker(pool->picker());
  }
  std::string KeyOwnedBy(const std::string& owner, int n) const {
    for (int i = 0;; ++i) {
      std::string k = "key-" + std::to_string(i);
      if (pool->Owner(k) == owner && n-- == 0) return k;
    }
  }

  std::string url;
  std::shared_ptr<Registry> registry;
  std::shared_ptr<Group> group;
  std::unique_ptr<HttpPool> pool;
};

// With one I/O thread the clients share the server's; with two they have
// one of their own: both must stop cleanly.
class ShutdownIoTest : public ::testing::TestWithParam<int> {};

TEST_P(ShutdownIoTest, StoppingANodeWithEverythingInFlightReleasesEveryCaller) {
  Node a(testing::FreeLoopbackPort());
  Node b(testing::FreeLoopbackPort());
  std::vector<std::string> peers = {a.url, b.url};
  a.Start(peers, GetParam());
  b.Start(peers, GetParam());
  HttpClientPool outside;

  // Keys: owned by B (A fetches them), owned by A (A loads them).
  std::vector<std::string> remote_keys;
  std::vector<std::string> local_keys;
  for (int i = 0; i < 12; ++i) {
    remote_keys.push_back(a.KeyOwnedBy(b.url, i));
    local_keys.push_back(a.KeyOwnedBy(a.url, i));
  }
  std::atomic<int> returned{0};
  std::vector<std::thread> callers;
  auto call = [&](std::function<void()> fn) {
    callers.emplace_back([fn = std::move(fn), &returned] {
      fn();
      ++returned;
    });
  };
  for (const auto& key : remote_keys) {
    call([&a, key] { (void)a.group->Get(Context::Background().WithTimeout(5s), key); });
    // A's server fetching from B for an outside client (the async path).
    call([&outside, &a, key] {
      (void)outside.ClientFor(a.url)->Get(Context::Background().WithTimeout(5s), "g", key);
    });
  }
  for (const auto& key : local_keys) {
    call([&a, key] { (void)a.group->Get(Context::Background().WithTimeout(5s), key); });
    call([&outside, &a, key] {
      (void)outside.ClientFor(a.url)->Get(Context::Background().WithTimeout(5s), "g", key);
    });
  }
  for (int i = 0; i < 6; ++i) {
    call([&a, &remote_keys, i] {
      (void)a.group->Set(Context::Background().WithTimeout(5s), remote_keys[static_cast<size_t>(i)],
                         "set", kNoExpiry, true);
    });
    call([&a, &remote_keys, i] {
      (void)a.group->Remove(Context::Background().WithTimeout(5s),
                            remote_keys[static_cast<size_t>(i) + 6]);
    });
  }
  std::this_thread::sleep_for(60ms);  // everything is under way

  // Stop A the way a node does: the pool goes while its picker stays set
  // (a Remove racing the stop still holds it).
  auto stopped = std::async(std::launch::async, [&a] {
    a.pool->Shutdown(200ms);
    a.pool.reset();
  });
  ASSERT_EQ(stopped.wait_for(20s), std::future_status::ready) << "Shutdown hung";
  for (auto& t : callers) t.join();
  EXPECT_EQ(returned.load(), static_cast<int>(callers.size()));

  // The same keys again, with no deadline: on B (alive) and on A's group,
  // whose pool is gone (its picker's clients now fail, so it loads here).
  for (const auto& key : remote_keys) {
    auto on_b = std::async(std::launch::async, [&b, key] { return b.group->Get({}, key); });
    auto on_a = std::async(std::launch::async, [&a, key] { return a.group->Get({}, key); });
    ASSERT_EQ(on_b.wait_for(10s), std::future_status::ready) << key << " stranded on B";
    ASSERT_EQ(on_a.wait_for(10s), std::future_status::ready) << key << " stranded on A";
    EXPECT_TRUE(on_b.get().ok());
    EXPECT_TRUE(on_a.get().ok());
  }
  for (const auto& key : local_keys) {
    auto on_a = std::async(std::launch::async, [&a, key] { return a.group->Get({}, key); });
    ASSERT_EQ(on_a.wait_for(10s), std::future_status::ready) << key << " stranded on A";
    EXPECT_TRUE(on_a.get().ok());
  }
  // A client made by the stopped pool's picker fails cleanly.
  auto client = a.registry->peer_picker()->PickPeer(remote_keys[0]);
  ASSERT_NE(client, nullptr);
  auto r = client->Get(Context::Background().WithTimeout(1s), "g", remote_keys[0]);
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(IoThreads, ShutdownIoTest, ::testing::Values(1, 2));

// With one I/O thread (the default) the pool's clients run on the
// server's thread, and a fetch's callback runs there too: a blocking call
// made from it would wait for its own thread. It fails at once instead.
TEST(ShutdownTest, ABlockingClientCallOnTheServersIoThreadFailsInsteadOfHanging) {
  Node a(testing::FreeLoopbackPort());
  Node b(testing::FreeLoopbackPort());
  std::vector<std::string> peers = {a.url, b.url};
  a.Start(peers);
  b.Start(peers);
  std::shared_ptr<PeerClient> to_b = a.pool->ClientFor(b.url);
  std::promise<Status> inner;
  to_b->GetAsync(
      Context::Background().WithTimeout(5s), "g", "first", [&](const Result<ByteView>& r) {
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        inner.set_value(to_b->Get(Context::Background().WithTimeout(5s), "g", "second").status());
      });
  auto result = inner.get_future();
  ASSERT_EQ(result.wait_for(10s), std::future_status::ready);
  Status s = result.get();
  EXPECT_EQ(s.code(), StatusCode::kInternal) << s.ToString();
  EXPECT_NE(s.message().find("own I/O thread"), std::string::npos) << s.ToString();
  // From any other thread the same call works, on the same connections.
  auto r = to_b->Get(Context::Background().WithTimeout(5s), "g", "second");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  // The pool goes first; its client, still held, refuses at once.
  a.pool.reset();
  auto late = to_b->Get(Context::Background().WithTimeout(1s), "g", "third");
  EXPECT_EQ(late.status().code(), StatusCode::kUnavailable) << late.status().ToString();
}

TEST(ShutdownTest, AClientPoolStoppedWithFetchesInFlightAnswersThemAll) {
  // A peer that accepts and never answers: every fetch hangs until the
  // client pool stops.
  int port = testing::FreeLoopbackPort();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 64), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(port);

  auto clients = std::make_unique<HttpClientPool>();
  std::shared_ptr<PeerClient> peer = clients->ClientFor(url);
  std::atomic<int> answered{0};
  std::vector<std::promise<Status>> results(16);
  for (int i = 0; i < 16; ++i) {
    peer->GetAsync({}, "g", "k" + std::to_string(i),
                   [&results, &answered, i](const Result<ByteView>& r) {
                     ++answered;
                     results[static_cast<size_t>(i)].set_value(r.status());
                   });
  }
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(answered.load(), 0);
  clients.reset();  // stops the I/O thread
  EXPECT_EQ(answered.load(), 16);
  for (auto& p : results) EXPECT_EQ(p.get_future().get().code(), StatusCode::kUnavailable);
  // The client outlives its pool and refuses at once.
  auto late = peer->Get({}, "g", "late");
  EXPECT_EQ(late.status().code(), StatusCode::kUnavailable);
  close(fd);
}

// Sends `request` (which says Connection: close) to 127.0.0.1:port; the
// status of the answer, 0 if none came before the server closed or 40 s.
int StatusOf(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = testing::LoopbackAddress(port);
  timeval limit{40, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  std::string got;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
      got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return got.size() >= 12 ? std::atoi(got.substr(9, 3).c_str()) : 0;
}

// Shutdown's timeout bounds it: a load or an API job still running when it
// passes is cancelled and its request answered 503, instead of being waited
// out to its own deadline (request_timeout here; an API ?timeout= allows
// up to 5 minutes).
TEST(ShutdownTest, WhatStillRunsAfterTheGracePeriodIsCancelledNotWaitedOut) {
  // A peer that takes connections into its backlog and never answers.
  testing::SilentListener hung;
  ASSERT_NE(hung.port(), 0);
  const std::string hung_url = "http://127.0.0.1:" + std::to_string(hung.port());

  Node a(testing::FreeLoopbackPort());
  a.group =
      *a.registry->NewGroup("slow", 1 << 20, [](const Context& ctx, std::string_view, Sink& d) {
        if (Status s = Slow(ctx, 30s); !s.ok()) return s;
        return d.SetString("late");
      });
  HttpPoolOptions options;
  options.worker_threads = 4;
  options.request_timeout = 30s;
  const int port = std::stoi(a.url.substr(17));
  auto started = HttpPool::Start(a.registry.get(), a.url, "127.0.0.1:" + a.url.substr(17), options);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  a.pool = std::move(*started);
  a.pool->SetPeers({a.url, hung_url});
  a.registry->SetPeerPicker(a.pool->picker());

  const std::vector<std::string> requests = {
      // A peer's GET waiting on a load here.
      "GET /_groupcache/slow/" + a.KeyOwnedBy(a.url, 0) + " HTTP/1.1\r\nHost: x\r\n",
      // A client's GET waiting on a load here, with a long timeout.
      "GET /api/v1/groups/slow/keys/" + a.KeyOwnedBy(a.url, 1) + "?timeout=60s HTTP/1.1\r\n",
      // A client's DELETE waiting on the owner, which never answers.
      "DELETE /api/v1/groups/slow/keys/" + a.KeyOwnedBy(hung_url, 0) + "?timeout=60s HTTP/1.1\r\n",
  };
  std::vector<std::future<int>> statuses;
  for (const std::string& r : requests) {
    statuses.push_back(std::async(std::launch::async, [port, r] {
      return StatusOf(port, r + "Host: x\r\nConnection: close\r\n\r\n");
    }));
  }
  std::this_thread::sleep_for(300ms);  // all three under way
  const auto t0 = Clock::now();
  auto stopped = std::async(std::launch::async, [&a] { a.pool->Shutdown(200ms); });
  ASSERT_EQ(stopped.wait_for(20s), std::future_status::ready) << "Shutdown hung";
  const auto took = Clock::now() - t0;
  EXPECT_LT(took, 2s) << "Shutdown(200ms) took "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                      << " ms";
  for (size_t i = 0; i < statuses.size(); ++i) EXPECT_EQ(statuses[i].get(), 503) << requests[i];
  a.pool.reset();
}

// Once Shutdown returns, nothing of the server is open though the pool
// object lives on (Node::Stop keeps it): an idle keep-alive connection is
// closed (a peer reusing it would otherwise wait out its deadline on a
// silent socket), and a new connection is refused.
TEST(ShutdownTest, AfterShutdownKeptConnectionsAreClosedAndConnectsRefused) {
  Node a(testing::FreeLoopbackPort());
  a.Start({a.url});
  const int port = std::stoi(a.url.substr(17));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = testing::LoopbackAddress(port);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string get = "GET /healthz-none HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, get.data(), get.size(), MSG_NOSIGNAL), static_cast<ssize_t>(get.size()));
  char buf[4096];
  ASSERT_GT(recv(fd, buf, sizeof buf, 0), 0);  // answered; the connection is kept
  a.pool->Shutdown(100ms);
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 2000), 1) << "the kept connection is still open, silent";
  EXPECT_EQ(recv(fd, buf, sizeof buf, 0), 0);  // an orderly close
  close(fd);
  int again = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_NE(connect(again, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(again);
}

// A GetAsync callback (on the pool's own I/O thread) that drops the last
// references to the pool and its client: the pool cannot join its own
// thread, and its io_context must outlive the run() it is inside.
TEST(ShutdownTest, AClientPoolDroppedFromItsOwnCallbackEndsCleanly) {
  std::string url = "http://127.0.0.1:" + std::to_string(testing::FreeLoopbackPort());  // refused
  for (int round = 0; round < 20; ++round) {
    auto clients = std::make_shared<HttpClientPool>();
    std::shared_ptr<PeerClient> peer = clients->ClientFor(url);
    PeerClient* raw = peer.get();
    std::promise<Status> result;
    std::atomic<bool> on_caller_thread{true};
    const auto caller = std::this_thread::get_id();
    struct Refs {
      std::shared_ptr<HttpClientPool> pool;
      std::shared_ptr<PeerClient> peer;
    };
    std::weak_ptr<PeerClient> watch = peer;
    auto refs = std::make_shared<Refs>(Refs{std::move(clients), std::move(peer)});
    raw->GetAsync({}, "g", "k", [&, refs](const Result<ByteView>& r) {
      on_caller_thread = std::this_thread::get_id() == caller;
      refs->pool.reset();  // the pool's last reference
      refs->peer.reset();  // the client's (its exchange still holds one)
      result.set_value(r.status());
    });
    refs.reset();
    auto f = result.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(f.get().code(), StatusCode::kUnavailable);
    EXPECT_FALSE(on_caller_thread) << "the callback was expected on the pool's I/O thread";
    // The exchange lets go of the client last; the detached I/O thread
    // then ends. Wait for the first, give the second a moment.
    for (int i = 0; i < 500 && !watch.expired(); ++i) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(watch.expired());
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace
}  // namespace groupcache
