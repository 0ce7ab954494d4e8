// The http: loader against a real origin: tests/common/origin_server.py on
// 127.0.0.1, one per test. Values, statuses, limits, timeouts, expiries,
// keep-alive reuse and the retry of a connection the origin closed, and
// HTTPS with a CA the test makes.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "groupcache/sink.h"
#include "loaders.h"
#include "origin_server.h"
#include "test_pki.h"

namespace groupcache::daemon {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::OriginServer;

// The origin's /bytes/N body.
std::string PatternBytes(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i * 31 + 7) % 256);
  return out;
}

struct Loaded {
  Status status;
  std::string value;
  Time expire;
};

Loaded Load(const Getter& getter, std::string_view key, const Context& ctx = {}) {
  Loaded out;
  StringSink sink(&out.value, &out.expire);
  out.status = getter(ctx, key, sink);
  return out;
}

// Within a second of each other.
bool Near(Time a, Time b) { return a - b < seconds(1) && b - a < seconds(1); }

class OriginLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto origin = OriginServer::Start();
    ASSERT_TRUE(origin.ok()) << origin.status().ToString();
    origin_ = std::move(*origin);
  }

  std::string Base() const { return "http://127.0.0.1:" + std::to_string(origin_->port()); }

  // A getter for Base() + path_template, counting into counter_ and stats_.
  Getter Make(const std::string& path_template, const LoaderOptions& options = {}) {
    auto getter = MakeLoader("http:" + Base() + path_template, options, &counter_, &stats_);
    EXPECT_TRUE(getter.ok()) << getter.status().ToString();
    return getter.ok() ? *getter : Getter();
  }

  // The origin's /_stats, through a loader of its own (the origin does not
  // count connections that asked for nothing else).
  nlohmann::json OriginCounts() {
    LoadCounter counter;
    auto getter = MakeLoader("http:" + Base() + "/{key}", {}, &counter);
    Loaded r = Load(*getter, "_stats");
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    return nlohmann::json::parse(r.value);
  }

  std::unique_ptr<OriginServer> origin_;
  LoadCounter counter_;
  OriginStats stats_;
};

TEST_F(OriginLoaderTest, ValueBytesAreTheOriginsAndEveryLoadIsCounted) {
  Getter getter = Make("/bytes/{key}");
  for (int i = 0; i < 2; ++i) {
    Loaded r = Load(getter, "300000/a");
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_TRUE(r.value == PatternBytes(300000));
    EXPECT_EQ(r.expire, kNoExpiry);
  }
  EXPECT_TRUE(Load(getter, "0/b").status.ok());
  EXPECT_EQ(nlohmann::json::parse(counter_.Json()), nlohmann::json({{"300000/a", 2}, {"0/b", 1}}));
  EXPECT_EQ(OriginCounts()["requests"]["/bytes/300000/a"], 2);
  EXPECT_EQ(stats_.statuses(), (std::map<int, int64_t>{{200, 3}}));
  EXPECT_EQ(stats_.errors(), 0);
}

TEST_F(OriginLoaderTest, KeyIsPercentEncodedKeepingSlashes) {
  Getter getter = Make("/echo/{key}");
  Loaded r = Load(getter, "a b/c?d#e%f&\xc3\xa9");
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.value, "/echo/a%20b/c%3Fd%23e%25f%26%C3%A9");
  Loaded dots = Load(getter, "a/../../admin");
  EXPECT_EQ(dots.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(counter_.total(), 1);  // the refused key is not counted
}

TEST_F(OriginLoaderTest, NotFoundFor404And410AndAnErrorNamingOtherStatuses) {
  Getter getter = Make("/status/{key}");
  EXPECT_EQ(Load(getter, "404/a").status.code(), StatusCode::kNotFound);
  EXPECT_EQ(Load(getter, "410/a").status.code(), StatusCode::kNotFound);
  Loaded r = Load(getter, "500/a");
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status.message().find(Base() + "/status/500/a"), std::string::npos)
      << r.status.message();
  EXPECT_NE(r.status.message().find("500"), std::string::npos);
  EXPECT_EQ(stats_.statuses(), (std::map<int, int64_t>{{404, 1}, {410, 1}, {500, 1}}));
  std::string metrics = stats_.Prometheus();
  EXPECT_NE(metrics.find("# TYPE groupcached_origin_requests_total counter\n"), std::string::npos);
  EXPECT_NE(metrics.find("\ngroupcached_origin_requests_total{code=\"410\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("\ngroupcached_origin_requests_total{code=\"error\"} 0\n"),
            std::string::npos);
  // Error statuses leave the connection usable.
  EXPECT_EQ(OriginCounts()["connections"], 1);
}

TEST_F(OriginLoaderTest, OriginTimeoutBoundsTheLoad) {
  LoaderOptions options;
  options.origin_timeout = milliseconds(300);
  Getter getter = Make("/slow/{key}", options);
  auto start = Clock::now();
  Loaded r = Load(getter, "5000/a");
  auto took = Clock::now() - start;
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
  EXPECT_NE(r.status.message().find("timed out"), std::string::npos) << r.status.message();
  EXPECT_GE(took, milliseconds(250));
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_EQ(stats_.errors(), 1);
  // The timed-out connection is not reused: the next load works.
  EXPECT_TRUE(Load(getter, "0/b").status.ok());
}

TEST_F(OriginLoaderTest, CallersDeadlineBoundsTheLoad) {
  Getter getter = Make("/slow/{key}");  // origin_timeout 10 s
  auto start = Clock::now();
  Loaded r = Load(getter, "5000/a", Context().WithTimeout(milliseconds(300)));
  auto took = Clock::now() - start;
  EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded) << r.status.ToString();
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_EQ(stats_.errors(), 0);  // the caller gave up, not the origin
}

TEST_F(OriginLoaderTest, CancellationEndsTheLoad) {
  Getter getter = Make("/slow/{key}");
  CancelSource cancel;
  std::thread canceller([&cancel] {
    // Whenever it lands (before or during the request) the load is Cancelled.
    std::this_thread::sleep_for(milliseconds(200));
    cancel.Cancel();
  });
  auto start = Clock::now();
  Loaded r = Load(getter, "5000/a", cancel.context());
  canceller.join();
  EXPECT_EQ(r.status.code(), StatusCode::kCancelled) << r.status.ToString();
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
  EXPECT_TRUE(Load(getter, "0/b").status.ok());
}

TEST_F(OriginLoaderTest, BodyOverTheLimitIsResourceExhausted) {
  LoaderOptions options;
  options.origin_max_bytes = 100000;
  Getter bytes = Make("/bytes/{key}", options);
  EXPECT_TRUE(Load(bytes, "100000/a").status.ok());
  Loaded over = Load(bytes, "100001/a");
  EXPECT_EQ(over.status.code(), StatusCode::kResourceExhausted) << over.status.ToString();
  Getter chunked = Make("/chunked/{key}", options);
  EXPECT_TRUE(Load(chunked, "100000/a").status.ok());
  EXPECT_EQ(Load(chunked, "5000000/a").status.code(), StatusCode::kResourceExhausted);
}

TEST_F(OriginLoaderTest, CacheControlAndExpiresSetTheExpiry) {
  Getter cc = Make("/cache-control/{key}");
  Loaded max_age = Load(cc, "max-age=60/a");
  ASSERT_TRUE(max_age.status.ok()) << max_age.status.ToString();
  EXPECT_TRUE(Near(max_age.expire, WallClock::now() + seconds(60)));
  Loaded s_maxage = Load(cc, "max-age=60, s-maxage=120/a");
  EXPECT_TRUE(Near(s_maxage.expire, WallClock::now() + seconds(120)));
  Loaded no_store = Load(cc, "no-store/a");
  ASSERT_TRUE(no_store.status.ok());
  EXPECT_EQ(no_store.value, "cc");
  EXPECT_NE(no_store.expire, kNoExpiry);
  EXPECT_LE(no_store.expire, WallClock::now());

  // The origin's clock is an hour behind: Expires counts from its Date.
  Getter expires = Make("/expires/{key}");
  Loaded skewed = Load(expires, "300/-3600/a");
  ASSERT_TRUE(skewed.status.ok()) << skewed.status.ToString();
  EXPECT_TRUE(Near(skewed.expire, WallClock::now() + seconds(300)));

  LoaderOptions options;
  options.origin_default_ttl = seconds(5);
  Getter plain = Make("/echo/{key}", options);
  EXPECT_TRUE(Near(Load(plain, "a").expire, WallClock::now() + seconds(5)));
}

TEST_F(OriginLoaderTest, KeepAliveConnectionIsReused) {
  Getter getter = Make("/echo/{key}");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Load(getter, "k" + std::to_string(i)).status.ok());
  EXPECT_EQ(OriginCounts()["connections"], 1);
}

TEST_F(OriginLoaderTest, ConnectionClosedByTheOriginIsReplacedTransparently) {
  Getter getter = Make("/{key}");
  // Closed while idle, after the response.
  ASSERT_TRUE(Load(getter, "close-after/a").status.ok());
  Loaded next = Load(getter, "echo/b");
  ASSERT_TRUE(next.status.ok()) << next.status.ToString();
  EXPECT_EQ(next.value, "/echo/b");
  // Closed as the next request arrives, nothing answered: sent again.
  ASSERT_TRUE(Load(getter, "drop-next/c").status.ok());
  Loaded retried = Load(getter, "echo/d");
  ASSERT_TRUE(retried.status.ok()) << retried.status.ToString();
  EXPECT_EQ(retried.value, "/echo/d");
  nlohmann::json counts = OriginCounts();
  EXPECT_EQ(counts["requests"]["/echo/d"], 2);  // the dropped one and the retry
  EXPECT_EQ(counts["connections"], 3);
  EXPECT_EQ(stats_.errors(), 0);
  EXPECT_EQ(counter_.total(), 4);
}

TEST_F(OriginLoaderTest, ResponseCutShortIsAnErrorAndNotRetried) {
  Getter getter = Make("/{key}");
  ASSERT_TRUE(Load(getter, "echo/warm").status.ok());  // a reused connection next
  Loaded r = Load(getter, "close-mid-body/a");
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable) << r.status.ToString();
  EXPECT_EQ(OriginCounts()["requests"]["/close-mid-body/a"], 1);
}

TEST_F(OriginLoaderTest, ConcurrentLoadsShareThePool) {
  Getter getter = Make("/bytes/{key}");
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&getter, &good, t] {
      for (int i = 0; i < 20; ++i) {
        Loaded r = Load(getter, "1000/" + std::to_string(t) + "-" + std::to_string(i));
        if (r.status.ok() && r.value == PatternBytes(1000)) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 160);
  EXPECT_LE(OriginCounts()["connections"].get<int>(), 8 + 8);
  EXPECT_EQ(stats_.statuses()[200], 160);
}

TEST(OriginLoaderErrorsTest, RefusedConnectionIsUnavailableNamingTheUrl) {
  // A port that was free a moment ago: bind, read it, close.
  auto origin = OriginServer::Start();
  ASSERT_TRUE(origin.ok());
  int port = (*origin)->port();
  origin->reset();
  LoadCounter counter;
  OriginStats stats;
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  auto getter = MakeLoader("http:" + url + "/{key}", {}, &counter, &stats);
  ASSERT_TRUE(getter.ok());
  Loaded r = Load(*getter, "a");
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status.message().find(url + "/a"), std::string::npos) << r.status.message();
  EXPECT_EQ(stats.errors(), 1);
}

TEST(OriginLoaderErrorsTest, BadSpecsAreRefused) {
  LoadCounter counter;
  for (const char* spec : {"http:ftp://h/{key}", "http:http://h/x", "http:http://h/{key}{key}",
                           "http:http://{key}/x", "http:http://h:70000/{key}", "http:"}) {
    auto getter = MakeLoader(spec, {}, &counter);
    EXPECT_EQ(getter.status().code(), StatusCode::kInvalidArgument) << spec;
    EXPECT_NE(getter.status().message().find("--loader http:"), std::string::npos)
        << getter.status().message();
  }
  LoaderOptions with_ca;
  with_ca.origin_ca = "/no/such/ca.pem";
  EXPECT_EQ(MakeLoader("http:http://h/{key}", with_ca, &counter).status().code(),
            StatusCode::kInvalidArgument);
  auto missing = MakeLoader("http:https://h/{key}", with_ca, &counter);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("/no/such/ca.pem"), std::string::npos);
  LoaderOptions zero;
  zero.origin_timeout = milliseconds(0);
  EXPECT_EQ(MakeLoader("http:http://h/{key}", zero, &counter).status().code(),
            StatusCode::kInvalidArgument);
}

// An https origin with a certificate for 127.0.0.1 (IP SAN only) from a CA
// the test makes.
class OriginLoaderTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("origin_tls_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    auto pki = groupcache::testing::MakeTestPki(dir_.string());
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = *pki;
    auto origin = OriginServer::Start({"--tls-cert", pki_.node_cert, "--tls-key", pki_.node_key});
    ASSERT_TRUE(origin.ok()) << origin.status().ToString();
    origin_ = std::move(*origin);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Result<Getter> Make(const std::string& host, const std::string& ca) {
    LoaderOptions options;
    options.origin_ca = ca;
    return MakeLoader("http:https://" + host + ":" + std::to_string(origin_->port()) + "/{key}",
                      options, &counter_);
  }

  std::filesystem::path dir_;
  groupcache::testing::TestPki pki_;
  std::unique_ptr<OriginServer> origin_;
  LoadCounter counter_;
};

TEST_F(OriginLoaderTlsTest, VerifiesAgainstOriginCa) {
  auto getter = Make("127.0.0.1", pki_.ca_cert);
  ASSERT_TRUE(getter.ok()) << getter.status().ToString();
  for (int i = 0; i < 3; ++i) {
    Loaded r = Load(*getter, "echo/over tls");
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.value, "/echo/over%20tls");
  }
}

TEST_F(OriginLoaderTlsTest, RefusesAHostNameTheCertificateDoesNotCarry) {
  auto getter = Make("localhost", pki_.ca_cert);
  ASSERT_TRUE(getter.ok()) << getter.status().ToString();
  Loaded r = Load(*getter, "a");
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status.message().find("hostname mismatch"), std::string::npos) << r.status.message();
}

TEST_F(OriginLoaderTlsTest, RefusesACaNotTrusted) {
  auto getter = Make("127.0.0.1", pki_.other_ca_cert);
  ASSERT_TRUE(getter.ok()) << getter.status().ToString();
  Loaded r = Load(*getter, "a");
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status.message().find("TLS handshake"), std::string::npos) << r.status.message();
}

}  // namespace
}  // namespace groupcache::daemon
