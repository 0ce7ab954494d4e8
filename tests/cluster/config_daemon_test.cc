// groupcached with --config as a real process: two groups from the file,
// each with its own loader behind the client API, the command line beating
// the file, and --check-config's exit status.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cluster_fixture.h"

namespace groupcache::testing {
namespace {

namespace fs = std::filesystem;

fs::path TempPath(const std::string& name) {
  return fs::path(::testing::TempDir()) /
         ("config_daemon_test-" + std::to_string(getpid()) + "-" + name);
}

fs::path WriteFile(const std::string& name, const std::string& text) {
  fs::path path = TempPath(name);
  std::ofstream(path) << text;
  return path;
}

std::unique_ptr<ChildProcess> StartGroupcached(const std::string& name,
                                               std::vector<std::string> args) {
  args.insert(args.begin(), GROUPCACHE_GROUPCACHED);
  return std::make_unique<ChildProcess>(args, TempPath(name + ".log").string());
}

TEST(ConfigDaemonTest, ServesEveryGroupOfTheFileWithItsOwnLoader) {
  fs::path dir = TempPath("files");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "hello") << "hello from a file";
  int port = FreePort();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  // The file's listen address is taken; the command line's wins.
  fs::path config = WriteFile("two.yaml", "node:\n  listen: 127.0.0.1:1\n  peers: [" + url +
                                              "]\nlogging:\n  level: warn\n"
                                              "groups:\n"
                                              "  - name: numbers\n"
                                              "    loader: synthetic:12\n"
                                              "    cache_bytes: 1MiB\n"
                                              "  - name: files\n"
                                              "    loader: dir:" +
                                              dir.string() + "\n");
  auto daemon = StartGroupcached(
      "two", {"--config", config.string(), "--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(daemon->WaitForPort(port)) << daemon->Log();

  RawResponse number = HttpGet(port, "/api/v1/groups/numbers/keys/k1");
  EXPECT_EQ(number.status, 200) << number.body;
  EXPECT_EQ(number.body, Synthetic("k1", 12));
  RawResponse file = HttpGet(port, "/api/v1/groups/files/keys/hello");
  EXPECT_EQ(file.status, 200) << file.body;
  EXPECT_EQ(file.body, "hello from a file");
  // Each group has its own loader: no file "k1", no synthetic "hello" here.
  EXPECT_EQ(HttpGet(port, "/api/v1/groups/files/keys/k1").status, 404);
  EXPECT_EQ(HttpGet(port, "/api/v1/groups/other/keys/k1").status, 404);

  // With several groups /loads is keyed by group.
  RawResponse loads = HttpGet(port, "/loads");
  ASSERT_EQ(loads.status, 200);
  EXPECT_EQ(nlohmann::json::parse(loads.body),
            nlohmann::json::parse(R"({"files": {"hello": 1, "k1": 1}, "numbers": {"k1": 1}})"));
  RawResponse metrics = HttpGet(port, "/metrics");
  EXPECT_NE(metrics.body.find("groupcached_loads_total{group=\"numbers\"} 1"), std::string::npos)
      << metrics.body;
  fs::remove_all(dir);
}

TEST(ConfigDaemonTest, CheckConfigAcceptsTheExampleAndRefusesABadFile) {
  auto ok = StartGroupcached("check-ok", {"--check-config", GROUPCACHE_EXAMPLE_CONFIG});
  EXPECT_EQ(ok->Wait(), 0) << ok->Log();

  fs::path bad = WriteFile("bad.yaml",
                           "node:\n  listen: 127.0.0.1:0\ngroups:\n  - name: a\n"
                           "    loader: synthetic:1\n    cache_bytes: lots\n");
  auto refused = StartGroupcached("check-bad", {"--check-config", bad.string()});
  EXPECT_EQ(refused->Wait(), 2);
  EXPECT_NE(refused->Log().find(bad.string() + ":6: groups[0].cache_bytes: want a size"),
            std::string::npos)
      << refused->Log();

  // A loader that cannot be built is found too, without starting anything.
  fs::path missing = WriteFile("missing.yaml",
                               "node:\n  listen: 127.0.0.1:0\ngroups:\n  - name: a\n"
                               "    loader: dir:/nonexistent/dir\n");
  auto no_dir = StartGroupcached("check-dir", {"--check-config", missing.string()});
  EXPECT_EQ(no_dir->Wait(), 2);
  EXPECT_NE(no_dir->Log().find(missing.string() + ":4: groups[0]: "), std::string::npos)
      << no_dir->Log();
}

}  // namespace
}  // namespace groupcache::testing
