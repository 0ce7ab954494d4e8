// groupcached's loaders: the bounded load counter, and the dir: loader's
// refusals (dotfiles, escapes, oversized files) next to a normal read.

#include "loaders.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "groupcache/sink.h"

namespace groupcache::daemon {
namespace {

namespace fs = std::filesystem;

TEST(LoadersCounterTest, TracksAtMostMaxKeysAndCountsTheRestAsUntracked) {
  constexpr size_t kMax = 5;
  LoadCounter counter(kMax);
  for (size_t i = 0; i < kMax + 10; ++i) counter.Record("key-" + std::to_string(i));
  counter.Record("key-0");   // tracked: counted on
  counter.Record("key-14");  // untracked: still not in the table

  auto json = nlohmann::json::parse(counter.Json());
  ASSERT_TRUE(json.is_object());
  EXPECT_EQ(json.size(), kMax);
  EXPECT_EQ(json["key-0"], 2);
  EXPECT_EQ(json["key-4"], 1);
  EXPECT_FALSE(json.contains("key-5"));
  EXPECT_EQ(counter.total(), 17);
  EXPECT_EQ(counter.untracked(), 11);

  std::string metrics = counter.Prometheus();
  EXPECT_NE(metrics.find("# TYPE groupcached_loads_total counter\n"), std::string::npos);
  EXPECT_NE(metrics.find("\ngroupcached_loads_total 17\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("# TYPE groupcached_loads_untracked_total counter\n"), std::string::npos);
  EXPECT_NE(metrics.find("\ngroupcached_loads_untracked_total 11\n"), std::string::npos);
}

TEST(LoadersCounterTest, ZeroMaxKeysCountsOnlyTotals) {
  LoadCounter counter(0);
  counter.Record("a");
  EXPECT_EQ(counter.Json(), "{}");
  EXPECT_EQ(counter.total(), 1);
  EXPECT_EQ(counter.untracked(), 1);
}

TEST(LoadersCounterTest, JsonStaysValidForKeysThatAreNotUtf8) {
  LoadCounter counter;
  counter.Record(std::string("\xff\xfe\"\\", 4));
  EXPECT_FALSE(nlohmann::json::parse(counter.Json(), nullptr, false).is_discarded());
}

TEST(LoadersSyntheticTest, MakesTheValueAndRecordsTheKey) {
  LoadCounter counter;
  auto getter = MakeLoader("synthetic:7", {}, &counter);
  ASSERT_TRUE(getter.ok()) << getter.status().ToString();
  std::string value;
  StringSink sink(&value);
  ASSERT_TRUE((*getter)(Context::Background(), "ab", sink).ok());
  EXPECT_EQ(value, "ab:ab:a");
  EXPECT_EQ(counter.Json(), R"({"ab":1})");
}

// The Go node's definition, byte by byte (bench/go/gonode), for every
// relation of key and value size.
TEST(LoadersSyntheticTest, ValuesAreTheGoNodesByteForByte) {
  for (const std::string& key :
       std::vector<std::string>{"", "k", "ab", "warm", std::string(40, 'q') + "/x"}) {
    for (size_t size : std::vector<size_t>{0, 1, 2, 3, 4, 5, 7, 41, 42, 43, 100, 1024, 1031}) {
      const std::string seed = key + ":";
      std::string want(size, '\0');
      for (size_t i = 0; i < size; ++i) want[i] = seed[i % seed.size()];
      EXPECT_EQ(SyntheticValue(key, size), want) << "key '" << key << "', size " << size;
    }
  }
}

TEST(LoadersSpecTest, OnlySyntheticValuesWithoutADelayNeverBlock) {
  EXPECT_TRUE(LoaderNeverBlocks("synthetic:1024"));
  EXPECT_TRUE(LoaderNeverBlocks("synthetic:8:0"));
  EXPECT_FALSE(LoaderNeverBlocks("synthetic:8:50"));
  EXPECT_FALSE(LoaderNeverBlocks("synthetic:8:x"));
  EXPECT_FALSE(LoaderNeverBlocks("dir:/srv"));
  EXPECT_FALSE(LoaderNeverBlocks("http:http://origin/{key}"));
}

TEST(LoadersSpecTest, RefusesBadSpecs) {
  LoadCounter counter;
  EXPECT_EQ(MakeLoader("synthetic:x", {}, &counter).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLoader("dir:/no/such/dir", {}, &counter).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLoader("ftp:x", {}, &counter).status().code(), StatusCode::kInvalidArgument);
}

// A directory of files, and a file outside it, removed at the end.
class LoadersDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::path(::testing::TempDir()) /
            ("loaders_test-" + std::to_string(getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "root";
    fs::create_directories(root_ / "sub");
    fs::create_directories(root_ / ".git");
    Write(root_ / "a.txt", "hello");
    Write(root_ / "sub" / "b.txt", "nested");
    Write(root_ / ".secret", "dot");
    Write(root_ / "sub" / ".hidden", "dot");
    Write(root_ / ".git" / "config", "dot");
    Write(root_ / "exact", std::string(kMax, 'x'));
    Write(root_ / "big", std::string(kMax + 1, 'x'));
    Write(base_ / "outside", "secret");
    fs::create_symlink(base_ / "outside", root_ / "out");
    fs::create_symlink(".secret", root_ / "to-dotfile");
    fs::create_symlink("a.txt", root_ / "alias");
  }
  void TearDown() override { fs::remove_all(base_); }

  static void Write(const fs::path& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
  }

  // Runs the dir: loader for `key`; the value goes to *value.
  Status Load(std::string_view key, std::string* value = nullptr) {
    std::string ignored;
    auto getter = MakeLoader("dir:" + root_.string(), LoaderOptions{kMax}, &counter_);
    if (!getter.ok()) return getter.status();
    StringSink sink(value != nullptr ? value : &ignored);
    return (*getter)(Context::Background(), key, sink);
  }

  static constexpr size_t kMax = 64;
  fs::path base_;
  fs::path root_;
  LoadCounter counter_;
};

TEST_F(LoadersDirTest, ReadsFilesBelowTheDirectory) {
  std::string value;
  ASSERT_TRUE(Load("a.txt", &value).ok());
  EXPECT_EQ(value, "hello");
  ASSERT_TRUE(Load("sub/b.txt", &value).ok());
  EXPECT_EQ(value, "nested");
  ASSERT_TRUE(Load("alias", &value).ok());  // a symlink inside is fine
  EXPECT_EQ(value, "hello");
  ASSERT_TRUE(Load("exact", &value).ok());  // exactly the limit
  EXPECT_EQ(value.size(), kMax);
  EXPECT_EQ(Load("missing").code(), StatusCode::kNotFound);
  EXPECT_EQ(Load("sub").code(), StatusCode::kNotFound);  // a directory
}

TEST_F(LoadersDirTest, RefusesDotfilesAndKeysThatLeaveTheDirectory) {
  for (std::string key :
       {".secret", "sub/.hidden", ".git/config", ".", "..", "./a.txt", "sub/./b.txt", "../outside",
        "sub/../a.txt", "/etc/passwd", "", "out", "to-dotfile"}) {
    Status s = Load(key);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "'" << key << "': " << s.ToString();
  }
  EXPECT_EQ(Load(std::string("a.txt\0x", 7)).code(), StatusCode::kInvalidArgument);
  // Refused keys are not loads.
  EXPECT_EQ(counter_.Json(), "{}");
  EXPECT_EQ(counter_.total(), 0);
}

TEST_F(LoadersDirTest, RefusesFilesOverTheLimitNamingSizeAndLimit) {
  Status s = Load("big");
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find(std::to_string(kMax + 1)), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("limit of " + std::to_string(kMax)), std::string::npos)
      << s.ToString();
  EXPECT_EQ(counter_.Json(), R"({"big":1})");
}

// A file longer than its size said is cut off at the limit, not read whole:
// /proc files report size 0 and have content.
TEST(LoadersDirReadTest, ReadsNoMoreThanTheLimitWhateverTheSizeSaid) {
  ASSERT_EQ(fs::file_size("/proc/self/status"), 0U) << "needs Linux /proc";
  LoadCounter counter;
  auto small = MakeLoader("dir:/proc/self", LoaderOptions{16}, &counter);
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  std::string value;
  StringSink sink(&value);
  Status s = (*small)(Context::Background(), "status", sink);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("limit of 16"), std::string::npos) << s.ToString();

  auto large = MakeLoader("dir:/proc/self", LoaderOptions{1 << 20}, &counter);
  ASSERT_TRUE(large.ok());
  StringSink sink2(&value);
  ASSERT_TRUE((*large)(Context::Background(), "status", sink2).ok());
  EXPECT_EQ(value.substr(0, 5), "Name:");
}

}  // namespace
}  // namespace groupcache::daemon
