// groupcache-cli owner agrees with the Go ring on every test vector.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

// Single-quotes for /bin/sh.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string RunCommand(const std::string& cmd, int* status) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

TEST(CliOwnerTest, MatchesGoVectors) {
  std::ifstream in(std::string(GROUPCACHE_TEST_DATA_DIR) + "/ring_vectors.json");
  auto v = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& c : v["cases"]) {
    std::string algo = c["algorithm"] == "golang-crc32" ? "golang" : "mailgun";
    std::string peers;
    for (const auto& p : c["peers"]) peers += (peers.empty() ? "" : ",") + p.get<std::string>();
    std::string cmd = std::string(GROUPCACHE_CLI) + " owner --hash " + algo + " --replicas " +
                      std::to_string(c["replicas"].get<int>()) + " --peers " + Quote(peers);
    std::vector<std::string> keys;
    for (auto& [key, owner] : c["owners"].items()) {
      // The CLI reads keys as arguments; a leading '-' would be an option.
      if (key.empty() || key[0] == '-') continue;
      keys.push_back(key);
      cmd += " " + Quote(key);
    }
    int status = 0;
    std::istringstream out(RunCommand(cmd, &status));
    ASSERT_EQ(status, 0) << cmd;
    std::string line;
    size_t i = 0;
    while (std::getline(out, line)) {
      auto tab = line.find('\t');
      ASSERT_NE(tab, std::string::npos) << line;
      ASSERT_LT(i, keys.size());
      EXPECT_EQ(line.substr(0, tab), keys[i]);
      EXPECT_EQ(line.substr(tab + 1), c["owners"][keys[i]].get<std::string>()) << keys[i];
      ++i;
      ++checked;
    }
    EXPECT_EQ(i, keys.size());
  }
  EXPECT_GT(checked, 2000);
}

TEST(CliOwnerTest, RejectsBadHash) {
  int status = 0;
  RunCommand(std::string(GROUPCACHE_CLI) + " owner --hash fnv --peers http://a k 2>/dev/null",
             &status);
  EXPECT_NE(status, 0);
}

}  // namespace

TEST(CliOwnerTest, BalancedSharesTheDemosKeysOutWhereMailgunLeavesAPeerNone) {
  const std::string peers = "http://127.0.0.1:55135,http://127.0.0.1:53795,http://127.0.0.1:57191";
  std::string keys;
  for (int i = 0; i < 2000; ++i) keys += " key-" + std::to_string(i);
  for (std::string algo : {"mailgun", "balanced"}) {
    std::string cmd = GROUPCACHE_CLI;
    cmd.append(" owner --hash ").append(algo).append(" --peers ").append(peers).append(keys);
    int status = 0;
    std::istringstream out(RunCommand(cmd, &status));
    ASSERT_EQ(status, 0) << algo;
    std::map<std::string, int> counts;
    std::string line;
    while (std::getline(out, line)) ++counts[line.substr(line.find('\t') + 1)];
    if (algo == "mailgun") {
      EXPECT_EQ(counts.size(), 2U);  // the Go ring's placement: one peer owns none
    } else {
      ASSERT_EQ(counts.size(), 3U);
      for (const auto& [peer, n] : counts) EXPECT_GT(n, 600) << peer;
    }
  }
}
