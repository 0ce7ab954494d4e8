// Faults on the wire, in one process over real loopback sockets: a peer
// that dies in the middle of its reply, a peer that answers garbage, and
// oversized headers.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "groupcache/http_pool.h"
#include "groupcache/registry.h"
#include "process.h"

namespace groupcache {
namespace {

using namespace std::chrono_literals;

// A one-shot-per-connection fake peer: reads a request, writes `reply` as
// is (in the given parts, 20 ms apart), then closes the connection.
class FakePeer {
 public:
  explicit FakePeer(std::string reply) : FakePeer(std::vector<std::string>{std::move(reply)}) {}
  explicit FakePeer(std::vector<std::string> parts) : parts_(std::move(parts)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 16) != 0) {
      ADD_FAILURE() << "fake peer cannot listen";
    }
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakePeer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  FakePeer(const FakePeer&) = delete;
  FakePeer& operator=(const FakePeer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[4096];
      while (in.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      ++requests_;
      for (size_t i = 0; i < parts_.size(); ++i) {
        if (i > 0) std::this_thread::sleep_for(20ms);
        (void)send(c, parts_[i].data(), parts_[i].size(), MSG_NOSIGNAL);
      }
      close(c);
    }
  }

  std::vector<std::string> parts_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// A node whose ring holds itself and `other`, with a group that counts
// its loads.
struct Node {
  explicit Node(const std::string& other) {
    registry = std::make_unique<Registry>(RegistryOptions{NewNullLogger()});
    group =
        *registry->NewGroup("g", 1 << 20, [this](const Context&, std::string_view key, Sink& d) {
          ++loads;
          return d.SetString("local:" + std::string(key));
        });
    int port = testing::FreePort();
    self = "http://127.0.0.1:" + std::to_string(port);
    auto started = HttpPool::Start(registry.get(), self, "127.0.0.1:" + std::to_string(port), {});
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    pool = std::move(*started);
    pool->SetPeers({self, other});
    registry->SetPeerPicker(pool->picker());
  }
  ~Node() { registry->SetPeerPicker(nullptr); }
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  std::string KeyOwnedBy(const std::string& url) const {
    for (int i = 0;; ++i) {
      std::string k = "key-" + std::to_string(i);
      if (pool->Owner(k) == url) return k;
    }
  }

  std::unique_ptr<Registry> registry;
  std::shared_ptr<Group> group;
  std::unique_ptr<HttpPool> pool;
  std::string self;
  std::atomic<int> loads{0};
};

TEST(TransportFaultsTest, APeerDyingMidReplyIsAnErrorAndTheReadFallsBackLocally) {
  // Promises 100 bytes, sends 3, hangs up.
  FakePeer peer(
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
      "Content-Length: 100\r\n\r\nabc");
  HttpClientPool clients;
  auto direct = clients.ClientFor(peer.url())->Get(Context::Background().WithTimeout(5s), "g", "k");
  ASSERT_FALSE(direct.ok());
  EXPECT_EQ(direct.status().code(), StatusCode::kUnavailable) << direct.status().ToString();

  Node node(peer.url());
  std::string key = node.KeyOwnedBy(peer.url());
  std::string value;
  StringSink sink(&value);
  Status s = node.group->Get(Context::Background().WithTimeout(5s), key, sink);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(value, "local:" + key);
  EXPECT_EQ(node.loads.load(), 1);
  EXPECT_GE(peer.requests(), 1);
}

TEST(TransportFaultsTest, GarbageFromAPeerIsAnErrorNotAValue) {
  for (const std::string& reply :
       {std::string("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\xff\xff\xff\xff"),
        std::string("this is not http\r\n\r\n"), std::string("")}) {
    FakePeer peer(reply);
    HttpClientPool clients;
    auto r = clients.ClientFor(peer.url())->Get(Context::Background().WithTimeout(5s), "g", "k");
    ASSERT_FALSE(r.ok()) << "accepted: " << ::testing::PrintToString(reply);
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  }
}

// The client reads plain answers the short way and hands the rest to
// Beast (http_head.h): either way, and however the bytes arrive, the value
// and its expiry come out the same, and a body over the limit is refused.
TEST(TransportFaultsTest, AnswersReadEitherWayGiveTheSameValue) {
  // GetResponse{value: "hello", expire: 1700000000123456789}.
  const std::string message =
      std::string("\x0a\x05hello\x18") + "\x95\x9a\x97\xec\xe3\x9f\xe7\xcb\x17";
  const std::string length = std::to_string(message.size());
  const std::string plain =
      "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\n"
      "Content-Length: " +
      length + "\r\n\r\n";
  const std::vector<std::vector<std::string>> answers = {
      {plain + message},                                  // the short way
      {plain.substr(0, 20), plain.substr(20) + message},  // head cut: Beast
      {plain + message.substr(0, 3), message.substr(3)},  // body cut: short way
      {plain, message},                                   // body later
      {plain + message + "HTTP/1.1 200 OK\r\n"},          // bytes past the answer
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string("3\r\n") +
       message.substr(0, 3) + "\r\n" + "e\r\n" + message.substr(3) + "\r\n0\r\n\r\n"},
      {"HTTP/1.0 200 OK\r\nContent-Length: " + length + "\r\n\r\n" + message},
  };
  for (const auto& parts : answers) {
    FakePeer peer(parts);
    HttpClientPool clients;
    auto r = clients.ClientFor(peer.url())->Get(Context::Background().WithTimeout(5s), "g", "k");
    ASSERT_TRUE(r.ok()) << r.status().ToString() << " for " << ::testing::PrintToString(parts);
    EXPECT_EQ(r->view(), "hello");
    EXPECT_EQ(ToUnixNanos(r->expire()), 1700000000123456789);
  }
  // An error's text comes through either way too.
  for (const std::string& reply :
       {std::string("HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n"),
        std::string("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "a\r\nnot found\n\r\n0\r\n\r\n")}) {
    FakePeer peer(reply);
    HttpClientPool clients;
    auto r = clients.ClientFor(peer.url())->Get(Context::Background().WithTimeout(5s), "g", "k");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
    EXPECT_EQ(r.status().message(), "not found");
  }
  // Over the client's body limit, declared either way.
  HttpPoolOptions small;
  small.max_body_bytes = 4;
  for (const std::string& reply :
       {plain + message, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                             std::string("11\r\n") + message + "\r\n0\r\n\r\n"}) {
    FakePeer peer(reply);
    HttpClientPool clients(small);
    auto r = clients.ClientFor(peer.url())->Get(Context::Background().WithTimeout(5s), "g", "k");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
    EXPECT_NE(r.status().message().find("body limit"), std::string::npos) << r.status().ToString();
  }
}

// A pooled connection keeps its read buffer between answers (shrunk back
// after a large one): answers of every size in turn, over the same kept-
// alive connections, each come out whole and only themselves.
TEST(TransportFaultsTest, KeptConnectionsReadAnswersOfEverySizeInTurn) {
  Registry registry(RegistryOptions{NewNullLogger()});
  // "<n>-<tag>": n bytes, each the tag's first letter, the last one '$'.
  auto group = registry.NewGroup("g", 64 << 20, [](const Context&, std::string_view key, Sink& d) {
    size_t dash = key.find('-');
    std::string value(std::stoul(std::string(key.substr(0, dash))), key[dash + 1]);
    value.back() = '$';
    return d.SetString(std::move(value));
  });
  ASSERT_TRUE(group.ok()) << group.status().ToString();
  int port = testing::FreePort();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto server = HttpPool::Start(&registry, url, "127.0.0.1:" + std::to_string(port), {});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  HttpClientPool clients;
  std::shared_ptr<PeerClient> client = clients.ClientFor(url);
  const std::vector<size_t> sizes = {100, 300000, 10, 20000, 9000, 1, 1 << 20, 64, 16384, 5};
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < sizes.size(); ++i) {
      const char tag = static_cast<char>('a' + i);
      const std::string key = std::to_string(sizes[i]) + "-" + tag + std::to_string(round);
      auto r = client->Get(Context::Background().WithTimeout(5s), "g", key);
      ASSERT_TRUE(r.ok()) << key << ": " << r.status().ToString();
      ASSERT_EQ(r->size(), sizes[i]) << key;
      std::string want(sizes[i], tag);
      want.back() = '$';
      ASSERT_TRUE(r->view() == want) << key;
    }
  }
}

TEST(TransportFaultsTest, OversizedHeadersGet431AndTheServerGoesOn) {
  Node node("http://127.0.0.1:1");
  int port = node.pool->port();
  std::string huge(size_t{300} << 10, 'h');
  auto r = testing::RawHttp(port, "GET /_groupcache/g/k HTTP/1.1\r\nHost: x\r\nX-Big: " + huge +
                                      "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 431);
  auto ok = testing::HttpGet(port, "/_groupcache/g/" + node.KeyOwnedBy(node.self));
  EXPECT_EQ(ok.status, 200);
}

// The server's resident memory, from /proc.
int64_t RssBytes() {
  long pages = 0;
  long resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return int64_t{resident} * sysconf(_SC_PAGESIZE);
}

// Chunk framing that Beast does not bound itself (a chunk extension, a
// trailer field) is bounded by the connection's read buffer: refused with
// 431 as the buffer fills, not kept in memory until request_timeout.
TEST(TransportFaultsTest, AnEndlessChunkExtensionOrTrailerIsRefusedNotBuffered) {
  Node node("http://127.0.0.1:1");
  for (const std::string start : {"1;a=", "0\r\nX-Trailer: "}) {
    SCOPED_TRACE(start);
    int fd = testing::ConnectLoopback(node.pool->port());
    ASSERT_GE(fd, 0);
    timeval two_seconds{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &two_seconds, sizeof two_seconds);
    const std::string head =
        "PUT /_groupcache/g/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + start;
    ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
    const int64_t rss_before = RssBytes();
    const std::string filler(size_t{1} << 20, 'a');
    std::string answer;
    size_t sent = 0;
    // Up to 64 MiB, reading the answer as it comes (once the server closes,
    // a reset could take unread bytes with it).
    char buf[4096];
    while (sent < (size_t{64} << 20) && answer.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = send(fd, filler.data(), filler.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
      for (ssize_t r; (r = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0;) {
        answer.append(buf, static_cast<size_t>(r));
      }
    }
    for (auto end = std::chrono::steady_clock::now() + 3s;
         answer.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < end;) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r <= 0) break;
      answer.append(buf, static_cast<size_t>(r));
    }
    close(fd);
    EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 431")
        << answer.substr(0, 200) << " after " << sent << " bytes";
    EXPECT_LT(RssBytes() - rss_before, int64_t{32} << 20) << "after " << sent << " bytes";
  }
  auto ok = testing::HttpGet(node.pool->port(), "/_groupcache/g/" + node.KeyOwnedBy(node.self));
  EXPECT_EQ(ok.status, 200);
}

// A Transfer-Encoding the server would not frame by (anything but a final
// chunked, or any over HTTP/1.0) is refused, and the connection closed: the
// bytes after the head are never read as a second request.
TEST(TransportFaultsTest, ATransferEncodingOtherThanChunkedIsRefusedAndNothingElseRuns) {
  Node node("http://127.0.0.1:1");
  const int port = node.pool->port();
  const std::string key = node.KeyOwnedBy(node.self);
  ASSERT_EQ(testing::HttpGet(port, "/_groupcache/g/" + key).status, 200);
  ASSERT_EQ(node.loads, 1);
  const std::string smuggled = "DELETE /_groupcache/g/" + key + " HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string framing :
       {"HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"}) {
    SCOPED_TRACE(framing);
    std::string request = "GET /_groupcache/nosuch/a " + framing;
    request += smuggled;
    auto r = testing::RawHttp(port, request, 3s);
    EXPECT_EQ(r.status, 501);
    EXPECT_NE(r.headers.find("Connection: close"), std::string::npos) << r.headers;
    EXPECT_EQ(r.body.find("HTTP/1."), std::string::npos) << "a second answer: " << r.body;
  }
  // The key was never removed: still cached, not loaded again.
  EXPECT_EQ(testing::HttpGet(port, "/_groupcache/g/" + key).status, 200);
  EXPECT_EQ(node.loads, 1);
}

// A client that sends "Expect: 100-continue" (curl, for bodies over 1 MiB)
// waits for a go-ahead before its body: it gets one at once, not after its
// own timeout (about a second).
TEST(TransportFaultsTest, AnExpect100ContinueGetsItsGoAheadAtOnce) {
  Node node("http://127.0.0.1:1");
  int fd = testing::ConnectLoopback(node.pool->port());
  ASSERT_GE(fd, 0);
  const std::string head =
      "PUT /_groupcache/g/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Length: 5\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 500), 1) << "no 100 Continue within 500 ms";
  char buf[4096];
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_EQ(send(fd, "\x0a\x01k\x12\x00", 5, MSG_NOSIGNAL), 5);  // a SetRequest
  std::string answer;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  close(fd);
  EXPECT_EQ(answer.substr(0, 12), "HTTP/1.1 200") << answer;
}

}  // namespace
}  // namespace groupcache
