// groupcached as a real process: its limit flags (refused bad values, an
// idle timeout that really closes connections), the load counts in
// /metrics, and a graceful stop (/readyz, the drain, JSON log lines).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cluster_fixture.h"

namespace groupcache::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Starts a one-node groupcached on a free port with `extra` flags.
std::unique_ptr<ChildProcess> StartDaemon(int port, const std::vector<std::string>& extra,
                                          const std::string& loader = "synthetic:16",
                                          const std::string& log_level = "warn") {
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> argv = {GROUPCACHE_GROUPCACHED,
                                   "--listen",
                                   "127.0.0.1:" + std::to_string(port),
                                   "--peers",
                                   url,
                                   "--group",
                                   "g",
                                   "--loader",
                                   loader,
                                   "--log-level",
                                   log_level};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::string log = std::string(::testing::TempDir()) + "daemon-" + std::to_string(port) + "-" +
                    std::to_string(getpid()) + ".log";
  return std::make_unique<ChildProcess>(argv, log);
}

// "a b c" -> {"a", "b", "c"}.
std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  return {std::istream_iterator<std::string>(in), std::istream_iterator<std::string>()};
}

// A value of `name` in Prometheus text, or -1.
int64_t Sample(const std::string& metrics, const std::string& name) {
  size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + name.size() + 2));
}

struct BadFlag {
  std::string flag;
  std::string value;
};

TEST(DaemonTest, BadLimitValuesExitWithStatus2NamingTheFlag) {
  const std::vector<BadFlag> bad = {
      {"--idle-timeout", "soon"},
      {"--idle-timeout", "0s"},
      {"--request-timeout", "-1s"},
      {"--header-timeout", "10"},
      {"--max-connections", "0"},
      {"--max-body-bytes", "-5"},
      {"--max-key-bytes", "1k"},
      {"--io-threads", "99999999999"},
      {"--worker-queue-limit", "-1"},
      {"--client-pool-size", "x"},
      {"--shutdown-timeout", "-2s"},
      {"--loads-max-keys", "-1"},
      {"--dir-max-file-bytes", "0"},
      {"--client-idle-timeout", "0"},
      {"--max-connections-per-peer", "0"},
      {"--max-body-bytes-in-flight", "0"},
      {"--max-header-bytes", ""},
      {"--worker-threads", "0"},
      {"--replicas", "0"},  // refused by CLI11 itself: the same status
  };
  for (const auto& [flag, value] : bad) {
    auto daemon = StartDaemon(FreePort(), {flag, value});
    EXPECT_EQ(daemon->Wait(), 2) << flag << " " << value;
    std::string log = daemon->Log();
    EXPECT_NE(log.find(flag + ":"), std::string::npos) << flag << " " << value << ": " << log;
  }
  auto missing = StartDaemon(FreePort(), {"--max-key-bytes"});  // no value at all
  EXPECT_EQ(missing->Wait(), 2);
  EXPECT_NE(missing->Log().find("--max-key-bytes"), std::string::npos) << missing->Log();
}

TEST(DaemonTest, GoodLimitValuesStartTheNode) {
  int port = FreePort();
  // A longer --client-idle-timeout than --idle-timeout is allowed.
  auto daemon = StartDaemon(
      port, Words("--max-key-bytes 1024 --max-body-bytes 1048576 --max-header-bytes 8192 "
                  "--max-body-bytes-in-flight 4194304 --max-connections 16 --idle-timeout 5s "
                  "--client-idle-timeout 10s --header-timeout 1s --request-timeout 1500ms "
                  "--client-pool-size 0 --max-connections-per-peer 4 --io-threads 2 "
                  "--worker-threads 2 --worker-queue-limit 0 --shutdown-timeout 0s "
                  "--loads-max-keys 0 --dir-max-file-bytes 1"));
  ASSERT_TRUE(daemon->WaitForPort(port)) << daemon->Log();
  EXPECT_EQ(HttpGet(port, "/_groupcache/g/k").status, 200);
  // A key over --max-key-bytes.
  EXPECT_EQ(HttpGet(port, "/_groupcache/g/" + std::string(2000, 'k')).status, 414);
}

// Opens a connection, sends nothing, and returns how long the server took
// to close it, or `limit` if it did not.
Clock::duration TimeUntilClosed(int port, Clock::duration limit) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return Clock::duration::zero();
  auto start = Clock::now();
  auto end = start + limit;
  Clock::duration took = limit;
  for (auto now = start; now < end; now = Clock::now()) {
    pollfd p{fd, POLLIN, 0};
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(end - now);
    if (poll(&p, 1, static_cast<int>(wait.count()) + 1) <= 0) continue;
    char byte = 0;
    if (recv(fd, &byte, 1, 0) <= 0) {  // EOF or reset: closed by the server
      took = Clock::now() - start;
      break;
    }
  }
  close(fd);
  return took;
}

TEST(DaemonTest, IdleTimeoutClosesAnIdleConnection) {
  int port = FreePort();
  auto daemon = StartDaemon(port, {"--idle-timeout", "1s"});
  ASSERT_TRUE(daemon->WaitForPort(port)) << daemon->Log();
  Clock::duration took = TimeUntilClosed(port, 3s);
  EXPECT_GT(took, 500ms) << "closed at once, not after the idle timeout";
  EXPECT_LT(took, 3s) << "an idle connection stayed open";
}

TEST(DaemonTest, MetricsCountLoadsBeyondLoadsMaxKeys) {
  int port = FreePort();
  auto daemon = StartDaemon(port, {"--loads-max-keys", "2"});
  ASSERT_TRUE(daemon->WaitForPort(port)) << daemon->Log();
  for (const char* key : {"a", "b", "c", "d"}) {
    RawResponse r = HttpGet(port, std::string("/_groupcache/g/") + key);
    ASSERT_EQ(r.status, 200) << key << ": " << r.body;
  }
  EXPECT_EQ(HttpGet(port, "/_groupcache/g/a").status, 200);  // a hit: no load

  ClusterNode node;
  node.port = port;
  std::map<std::string, int> loads = Loads(node);
  EXPECT_EQ(loads, (std::map<std::string, int>{{"a", 1}, {"b", 1}}));

  RawResponse metrics = HttpGet(port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("# TYPE groupcached_loads_total counter"), std::string::npos);
  EXPECT_NE(metrics.body.find("# TYPE groupcached_loads_untracked_total counter"),
            std::string::npos);
  EXPECT_EQ(Sample(metrics.body, "groupcached_loads_total"), 4) << metrics.body;
  EXPECT_EQ(Sample(metrics.body, "groupcached_loads_untracked_total"), 2) << metrics.body;
  EXPECT_EQ(Sample(metrics.body, "groupcache_peers"), 1);
}

// The dir: loader's refusals as the peer protocol answers them: 400 for a
// key it will not serve, and the file-size limit from its flag.
TEST(DaemonTest, DirLoaderRefusesDotfilesWith400AndLargeFiles) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(::testing::TempDir()) / ("daemon_test-dir-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "a") << "hello";
  std::ofstream(dir / ".env") << "secret";
  std::ofstream(dir / "big") << std::string(2000, 'x');
  int port = FreePort();
  auto daemon = StartDaemon(port, {"--dir-max-file-bytes", "1000"}, "dir:" + dir.string());
  ASSERT_TRUE(daemon->WaitForPort(port)) << daemon->Log();

  EXPECT_EQ(HttpGet(port, "/_groupcache/g/a").status, 200);
  EXPECT_EQ(HttpGet(port, "/_groupcache/g/.env").status, 400);
  EXPECT_EQ(HttpGet(port, "/_groupcache/g/%2E%2E%2Fetc%2Fpasswd").status, 400);
  EXPECT_EQ(HttpGet(port, "/_groupcache/g/missing").status, 404);
  RawResponse big = HttpGet(port, "/_groupcache/g/big");
  EXPECT_NE(big.status, 200);
  EXPECT_NE(big.body.find("2000 bytes"), std::string::npos) << big.body;
  ClusterNode node;
  node.port = port;
  // Refused keys are not loads.
  EXPECT_EQ(Loads(node), (std::map<std::string, int>{{"a", 1}, {"big", 1}, {"missing", 1}}));
  fs::remove_all(dir);
}

// Polls `done` every 10 ms until it holds; false after `timeout`.
template <typename Predicate>
bool WaitFor(Predicate done, Clock::duration timeout) {
  for (auto end = Clock::now() + timeout; Clock::now() < end;) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST(DaemonTest, BadLogFormatExitsWithStatus2) {
  auto daemon = StartDaemon(FreePort(), {"--log-format", "xml"});
  EXPECT_EQ(daemon->Wait(), 2);
  EXPECT_NE(daemon->Log().find("--log-format"), std::string::npos) << daemon->Log();
  // --check-config checks it too (it said "ok" to what --config refuses).
  const std::string file = std::string(::testing::TempDir()) + "logformat.yaml";
  std::ofstream(file) << "groups:\n  - name: g\n    loader: synthetic:8\n";
  ChildProcess check({GROUPCACHE_GROUPCACHED, "--check-config", file, "--listen", "127.0.0.1:1",
                      "--log-format", "xml"},
                     std::string(::testing::TempDir()) + "check-logformat.log");
  EXPECT_EQ(check.Wait(), 2) << check.Log();
  EXPECT_NE(check.Log().find("--log-format"), std::string::npos) << check.Log();
}

// With discovery, --listen [V6]:PORT binds that address (it was refused
// as "bad listen host '[::1]'", while the same flag worked without).
TEST(DaemonTest, ABracketedIpv6ListenWorksWithDiscovery) {
  int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 any{};
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_loopback;
  const bool v6 = probe >= 0 && bind(probe, reinterpret_cast<sockaddr*>(&any), sizeof any) == 0;
  if (probe >= 0) close(probe);
  if (!v6) GTEST_SKIP() << "no IPv6 loopback here";
  const int port = FreePort();
  const std::string p = std::to_string(port);
  ChildProcess daemon({"/usr/bin/env", "NODE_IP=::1", "GROUP_PORT=" + p, GROUPCACHE_GROUPCACHED,
                       "--discovery", "static", "--listen", "[::1]:" + p, "--peers", "[::1]:" + p,
                       "--group", "g", "--loader", "synthetic:8"},
                      std::string(::testing::TempDir()) + "v6-" + p + ".log");
  bool up =
      WaitFor([&] { return daemon.Log().find("listening on port") != std::string::npos; }, 5s);
  EXPECT_TRUE(up) << daemon.Log();
  EXPECT_NE(daemon.Log().find("http://[::1]:" + p), std::string::npos) << daemon.Log();
  daemon.Kill(SIGTERM);
  EXPECT_EQ(daemon.Wait(), 0) << daemon.Log();
}

// --peers and --self must be peer URLs, and a node listening on every
// address must say which URL is its own: accepted before, such a node
// reported ready and answered every key 400 ("unsupported peer URL"), or
// put 0.0.0.0 on its ring and fetched its own keys from itself.
TEST(DaemonTest, BadPeerUrlsAndAWildcardListenWithoutSelfExitWithStatus2) {
  const int port = FreePort();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  const std::string url = "http://" + listen;
  struct Case {
    std::vector<std::string> argv;
    const char* says;
  };
  const std::vector<Case> cases = {
      {{"--listen", listen, "--peers", listen + "," + "127.0.0.1:1"}, "--peers: '"},
      {{"--listen", listen, "--peers", url + "/cache"}, "a path after the port"},
      {{"--listen", listen, "--peers", "http://127.0.0.1:http"}, "not a number"},
      {{"--listen", "0.0.0.0:" + std::to_string(port), "--peers", url}, "give --self"},
      {{"--listen", listen, "--self", "127.0.0.1:1", "--peers", url}, "--self: "},
  };
  for (const Case& c : cases) {
    std::vector<std::string> argv = {GROUPCACHE_GROUPCACHED};
    argv.insert(argv.end(), c.argv.begin(), c.argv.end());
    for (const char* more : {"--group", "g", "--loader", "synthetic:8"}) argv.emplace_back(more);
    ChildProcess daemon(argv, std::string(::testing::TempDir()) + "badpeer.log");
    EXPECT_EQ(daemon.Wait(), 2) << c.says << "\n" << daemon.Log();
    EXPECT_NE(daemon.Log().find(c.says), std::string::npos) << daemon.Log();
  }
  // --check-config refuses them as a start would.
  const std::string file = std::string(::testing::TempDir()) + "badpeer.yaml";
  std::ofstream(file) << "node:\n  peers: [" << listen << "]\ngroups:\n  - name: g\n"
                      << "    loader: synthetic:8\n";
  ChildProcess check({GROUPCACHE_GROUPCACHED, "--check-config", file, "--listen", listen},
                     std::string(::testing::TempDir()) + "check-badpeer.log");
  EXPECT_EQ(check.Wait(), 2) << check.Log();
  EXPECT_NE(check.Log().find("--peers: '"), std::string::npos) << check.Log();
}

// SIGTERM with client API GETs in flight (each a 3 s load): /readyz turns
// 503 at once and the node still answers during the drain (2 s); the loads
// outlive the drain and finish within --shutdown-timeout; every request
// gets its 200, and the process exits 0. The log is JSON lines throughout.
TEST(DaemonTest, SigtermDrainsAndFinishesRequestsInFlight) {
  int port = FreePort();
  auto daemon = StartDaemon(port,
                            Words("--drain-timeout 2s --shutdown-timeout 5s --request-timeout 10s "
                                  "--log-format json"),
                            "synthetic:16:3000", "info");
  ASSERT_TRUE(daemon->WaitForPort(port)) << daemon->Log();
  // Static peers: ready as soon as it listens.
  RawResponse ready = HttpGet(port, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  ASSERT_EQ(HttpGet(port, "/api/v1/groups/g/keys/warm").status, 200);  // cached from now on

  ClusterNode node;
  node.port = port;
  constexpr int kInFlight = 3;
  std::vector<RawResponse> answers(kInFlight);
  std::vector<std::thread> clients;
  for (int i = 0; i < kInFlight; ++i) {
    clients.emplace_back([&answers, i, port] {
      answers[static_cast<size_t>(i)] =
          HttpGet(port, "/api/v1/groups/g/keys/slow" + std::to_string(i));
    });
  }
  // Every load has started (the loader counts a key as it begins).
  ASSERT_TRUE(WaitFor([&] { return Loads(node).size() == kInFlight + 1; }, 5s)) << daemon->Log();

  daemon->Kill(SIGTERM);
  const auto sigterm = Clock::now();
  RawResponse draining;
  ASSERT_TRUE(WaitFor(
      [&] {
        draining = HttpGet(port, "/readyz");
        return draining.status == 503;
      },
      1500ms))
      << draining.status << " " << daemon->Log();
  EXPECT_NE(draining.body.find("draining"), std::string::npos) << draining.body;
  // Still serving during the drain: a hit, and liveness.
  EXPECT_EQ(HttpGet(port, "/api/v1/groups/g/keys/warm").status, 200);
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  EXPECT_LT(Clock::now() - sigterm, 2s) << "the checks above must fall within the drain";

  for (auto& t : clients) t.join();
  for (int i = 0; i < kInFlight; ++i) {
    EXPECT_EQ(answers[static_cast<size_t>(i)].status, 200)
        << i << ": " << answers[static_cast<size_t>(i)].body;
    EXPECT_EQ(answers[static_cast<size_t>(i)].body.size(), 16U) << i;
  }
  EXPECT_EQ(daemon->Wait(), 0) << daemon->Log();
  // The drain lasted its 2 s (the loads alone took 3 s from before it).
  EXPECT_GE(Clock::now() - sigterm, 2s);

  std::istringstream log(daemon->Log());
  std::vector<std::string> messages;
  for (std::string line; std::getline(log, line);) {
    ASSERT_TRUE(nlohmann::json::accept(line)) << "not JSON: " << line;
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["logger"], "groupcached") << line;
    messages.push_back(j["msg"]);
  }
  EXPECT_NE(std::find(messages.begin(), messages.end(), "draining"), messages.end());
  EXPECT_NE(std::find(messages.begin(), messages.end(), "stopping"), messages.end());
}

}  // namespace
}  // namespace groupcache::testing
