// HttpPools over TLS on loopback, in this process: a CA, node and client
// certificates are made afresh for each test (test_pki.h). Nodes serving
// each other over mutual TLS, verification failures (CA, host name,
// missing client certificate), plain HTTP against TLS, pooled TLS
// connections, deadlines during the handshake, bad settings at start, and
// Nodes whose discovered peers are reached over https://.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../common/loopback.h"
#include "groupcache/discovery/static_provider.h"
#include "groupcache/http_pool.h"
#include "groupcache/node.h"
#include "groupcache/registry.h"
#include "test_pki.h"

namespace groupcache::testing {
namespace {

using namespace std::chrono_literals;

struct TlsNode {
  std::unique_ptr<Registry> registry;
  std::shared_ptr<Group> group;
  std::atomic<int> loads{0};
  std::unique_ptr<HttpPool> pool;
  std::string url;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/groupcache-tls-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    auto pki = MakeTestPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
  }

  void TearDown() override {
    for (auto& n : nodes_) n->registry->SetPeerPicker(nullptr);
    nodes_.clear();
    std::filesystem::remove_all(dir_);
  }

  // A node's options: it presents the node certificate, as a server and as
  // a client, and trusts the test CA on both sides.
  HttpPoolOptions TlsPoolOptions() const {
    HttpPoolOptions options;
    options.server_tls.cert_file = pki_.node_cert;
    options.server_tls.key_file = pki_.node_key;
    options.client_tls.ca_file = pki_.ca_cert;
    options.client_tls.cert_file = pki_.node_cert;
    options.client_tls.key_file = pki_.node_key;
    return options;
  }

  // A node with group "g" (values "loaded:KEY") serving TLS on a free
  // loopback port, as https://127.0.0.1:PORT.
  TlsNode* StartNode(const HttpPoolOptions& options) {
    auto node = std::make_unique<TlsNode>();
    node->registry = std::make_unique<Registry>(RegistryOptions{NewNullLogger()});
    TlsNode* raw = node.get();
    node->group = *node->registry->NewGroup("g", 1 << 20,
                                            [raw](const Context&, std::string_view key, Sink& d) {
                                              ++raw->loads;
                                              return d.SetString("loaded:" + std::string(key));
                                            });
    // The port is known only once bound; `self` must name it, so bind
    // again on the same port.
    auto probe =
        HttpPool::Start(node->registry.get(), "https://127.0.0.1:0", "127.0.0.1:0", options);
    EXPECT_TRUE(probe.ok()) << probe.status().ToString();
    if (!probe.ok()) return nullptr;
    std::string port = std::to_string((*probe)->port());
    probe->reset();
    node->url = "https://127.0.0.1:" + port;
    if (!Restart(node.get(), options)) return nullptr;
    nodes_.push_back(std::move(node));
    return raw;
  }

  // Replaces the node's pool by a new one on the same port.
  bool Restart(TlsNode* node, const HttpPoolOptions& options) {
    node->registry->SetPeerPicker(nullptr);
    node->pool.reset();
    std::string port = node->url.substr(node->url.rfind(':') + 1);
    auto pool = HttpPool::Start(node->registry.get(), node->url, "127.0.0.1:" + port, options);
    EXPECT_TRUE(pool.ok()) << pool.status().ToString();
    if (!pool.ok()) return false;
    node->pool = std::move(*pool);
    return true;
  }

  static Result<ByteView> GetVia(HttpClientPool& clients, const std::string& url,
                                 const std::string& key) {
    return clients.ClientFor(url)->Get(Context::Background().WithTimeout(5s), "g", key);
  }

  std::string dir_;
  TestPki pki_;
  std::vector<std::unique_ptr<TlsNode>> nodes_;
};

TEST_F(TlsTest, TwoNodesServeEachOtherOverMutualTls) {
  HttpPoolOptions options = TlsPoolOptions();
  options.server_tls.client_ca_file = pki_.ca_cert;
  options.server_tls.require_client_cert = true;
  TlsNode* a = StartNode(options);
  TlsNode* b = StartNode(options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  for (TlsNode* n : {a, b}) {
    n->pool->SetPeers({a->url, b->url});
    n->registry->SetPeerPicker(n->pool->picker());
  }
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    if (a->pool->Owner("k" + std::to_string(i)) == b->url) key = "k" + std::to_string(i);
  }
  auto ctx = Context::Background().WithTimeout(5s);
  for (int i = 0; i < 3; ++i) {
    auto r = a->group->Get(ctx, key);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, "loaded:" + key);
  }
  auto r = b->group->Get(ctx, key);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(a->loads.load(), 0);
  EXPECT_EQ(b->loads.load(), 1);  // loaded once, on its owner
}

TEST_F(TlsTest, ClientWithAnotherCaRejectsTheServerCertificate) {
  TlsNode* node = StartNode(TlsPoolOptions());
  ASSERT_NE(node, nullptr);
  HttpPoolOptions options;
  options.client_tls.ca_file = pki_.other_ca_cert;
  HttpClientPool clients(options);
  auto r = GetVia(clients, node->url, "k");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("certificate"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(node->loads.load(), 0);
}

TEST_F(TlsTest, ClientChecksTheServerName) {
  TlsNode* node = StartNode(TlsPoolOptions());
  ASSERT_NE(node, nullptr);
  // The node certificate names 127.0.0.1 only: "localhost" reaches the
  // same server but is not in the certificate.
  std::string by_name = "https://localhost:" + node->url.substr(node->url.rfind(':') + 1);
  HttpPoolOptions options;
  options.client_tls.ca_file = pki_.ca_cert;
  HttpClientPool clients(options);
  auto r = GetVia(clients, by_name, "k");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("certificate"), std::string::npos) << r.status().ToString();
  auto ok = GetVia(clients, node->url, "k");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "loaded:k");

  // Without verification anything goes, even a certificate from a CA the
  // client does not know.
  options.client_tls.ca_file = pki_.other_ca_cert;
  options.client_tls.verify_peer = false;
  HttpClientPool unverified(options);
  auto any = GetVia(unverified, by_name, "k");
  ASSERT_TRUE(any.ok()) << any.status().ToString();
}

TEST_F(TlsTest, PlainHttpAgainstTlsFailsAndTheServerKeepsServing) {
  TlsNode* node = StartNode(TlsPoolOptions());
  ASSERT_NE(node, nullptr);
  std::string plain_url = "http://" + node->url.substr(std::string("https://").size());
  HttpClientPool plain;
  auto start = Clock::now();
  auto r = GetVia(plain, plain_url, "k");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, 3s);  // refused at once, not timed out

  HttpPoolOptions options;
  options.client_tls.ca_file = pki_.ca_cert;
  HttpClientPool tls(options);
  auto ok = GetVia(tls, node->url, "k");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "loaded:k");

  // And the other way round: TLS against a plain HTTP server.
  Registry registry(RegistryOptions{NewNullLogger()});
  auto server = HttpPool::Start(&registry, "http://127.0.0.1:0", "127.0.0.1:0", {});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto wrong = GetVia(tls, "https://127.0.0.1:" + std::to_string((*server)->port()), "k");
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnavailable) << wrong.status().ToString();
}

TEST_F(TlsTest, MutualTlsServerRequiresAClientCertificateFromItsCa) {
  HttpPoolOptions server_options = TlsPoolOptions();
  server_options.server_tls.client_ca_file = pki_.ca_cert;
  server_options.server_tls.require_client_cert = true;
  TlsNode* node = StartNode(server_options);
  ASSERT_NE(node, nullptr);

  HttpPoolOptions options;
  options.client_tls.ca_file = pki_.ca_cert;
  HttpClientPool anonymous(options);
  auto r = GetVia(anonymous, node->url, "k");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();

  options.client_tls.cert_file = pki_.other_client_cert;
  options.client_tls.key_file = pki_.other_client_key;
  HttpClientPool stranger(options);
  auto s = GetVia(stranger, node->url, "k");
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable) << s.status().ToString();
  EXPECT_EQ(node->loads.load(), 0);

  options.client_tls.cert_file = pki_.client_cert;
  options.client_tls.key_file = pki_.client_key;
  HttpClientPool member(options);
  auto ok = GetVia(member, node->url, "k");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, "loaded:k");
}

TEST_F(TlsTest, PooledConnectionToARestartedServerIsRetried) {
  TlsNode* node = StartNode(TlsPoolOptions());
  ASSERT_NE(node, nullptr);
  HttpPoolOptions options;
  options.client_tls.ca_file = pki_.ca_cert;
  HttpClientPool clients(options);
  auto client = clients.ClientFor(node->url);
  auto ctx = Context::Background().WithTimeout(5s);
  ASSERT_TRUE(client->Get(ctx, "g", "k1").ok());
  // The kept-alive connection dies with the old server; the next request
  // finds it dead and must retry once on a new one.
  ASSERT_TRUE(Restart(node, TlsPoolOptions()));
  auto r = client->Get(ctx, "g", "k2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, "loaded:k2");
}

TEST_F(TlsTest, BadSettingsAreRejectedAtStartNamingTheFile) {
  Registry registry(RegistryOptions{NewNullLogger()});
  auto start = [&](const HttpPoolOptions& options,
                   const std::string& self = "https://127.0.0.1:0") {
    auto pool = HttpPool::Start(&registry, self, "127.0.0.1:0", options);
    return pool.ok() ? Status() : pool.status();
  };
  auto expect_invalid = [](const Status& s, const std::string& mention) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find(mention), std::string::npos)
        << "'" << s.message() << "' does not mention '" << mention << "'";
  };
  const std::string missing = dir_ + "/missing.pem";

  HttpPoolOptions o = TlsPoolOptions();
  o.server_tls.cert_file = missing;
  expect_invalid(start(o), "server_tls.cert_file '" + missing + "'");

  o = TlsPoolOptions();
  o.server_tls.key_file = missing;
  expect_invalid(start(o), "server_tls.key_file '" + missing + "'");

  o = TlsPoolOptions();
  o.server_tls.key_file = pki_.client_key;  // another certificate's key
  expect_invalid(start(o), "does not match");

  o = TlsPoolOptions();
  o.server_tls.key_file = pki_.node_cert;  // not a key
  expect_invalid(start(o), "server_tls.key_file '" + pki_.node_cert + "'");

  o = TlsPoolOptions();
  o.server_tls.cert_file = pki_.node_key;  // not a certificate
  expect_invalid(start(o), "server_tls.cert_file '" + pki_.node_key + "'");

  o = TlsPoolOptions();
  o.server_tls.key_file.clear();
  expect_invalid(start(o), "server_tls.key_file");

  o = TlsPoolOptions();
  o.server_tls.require_client_cert = true;
  expect_invalid(start(o), "client_ca_file");

  o = TlsPoolOptions();
  o.server_tls.client_ca_file = missing;
  expect_invalid(start(o), "server_tls.client_ca_file '" + missing + "'");

  o = TlsPoolOptions();
  o.client_tls.ca_file = missing;
  expect_invalid(start(o), "client_tls.ca_file '" + missing + "'");

  o = TlsPoolOptions();
  o.client_tls.key_file = pki_.client_key;  // the node certificate's key is expected
  expect_invalid(start(o), "does not match");

  expect_invalid(start(TlsPoolOptions(), "http://127.0.0.1:0"), "https://");
  expect_invalid(start(HttpPoolOptions{}), "http://");

  // A standalone client reports it up front, and on https:// requests.
  o = HttpPoolOptions{};
  o.client_tls.ca_file = missing;
  HttpClientPool clients(o);
  expect_invalid(clients.tls_status(), missing);
  auto r = clients.ClientFor("https://127.0.0.1:1")->Get(Context::Background(), "g", "k");
  expect_invalid(r.status(), missing);
}

TEST_F(TlsTest, HandshakeHonoursDeadlineAndCancellation) {
  // The TCP connection completes in the backlog and the handshake is never
  // answered.
  SilentListener silent;
  ASSERT_NE(silent.port(), 0);
  std::string url = "https://127.0.0.1:" + std::to_string(silent.port());

  HttpPoolOptions options;
  options.client_tls.ca_file = pki_.ca_cert;
  HttpClientPool clients(options);
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
}

TEST_F(TlsTest, NodesWithServerTlsReachTheirDiscoveredPeersOverHttps) {
  int p1 = FreeLoopbackPort();
  int p2 = FreeLoopbackPort();
  // Discovery knows host:port only; the scheme comes from the TLS setting.
  std::string peers = "127.0.0.1:" + std::to_string(p1) + ",127.0.0.1:" + std::to_string(p2);
  std::vector<std::unique_ptr<Node>> nodes;
  std::atomic<int> loads{0};
  std::vector<std::shared_ptr<Group>> groups;
  for (int port : {p1, p2}) {
    NodeOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.logger = NewNullLogger();
    options.shutdown_timeout = 1s;
    options.pool = TlsPoolOptions();
    discovery::Config config;
    config.SetString("peers", peers);
    auto node = Node::Start(options, std::make_unique<discovery::ServiceDiscovery>(
                                         std::make_unique<discovery::StaticProvider>(), config));
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    EXPECT_EQ((*node)->url(), "https://127.0.0.1:" + std::to_string(port));
    auto group = (*node)->registry().NewGroup(
        "g", 1 << 20, [&loads](const Context&, std::string_view key, Sink& d) {
          ++loads;
          return d.SetString("v:" + std::string(key));
        });
    ASSERT_TRUE(group.ok());
    groups.push_back(*group);
    nodes.push_back(std::move(*node));
  }
  std::vector<std::string> want = {"https://127.0.0.1:" + std::to_string(p1),
                                   "https://127.0.0.1:" + std::to_string(p2)};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(nodes[0]->Peers(), want);
  for (int i = 0; i < 20; ++i) {
    std::string key = "key-" + std::to_string(i);
    for (auto& g : groups) {
      auto r = g->Get(Context::Background().WithTimeout(5s), key);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(*r, "v:" + key);
    }
  }
  EXPECT_EQ(loads.load(), 20);  // once per key: the peer fetches went through
  for (auto& n : nodes) EXPECT_TRUE(n->Stop().ok());
}

}  // namespace
}  // namespace groupcache::testing
