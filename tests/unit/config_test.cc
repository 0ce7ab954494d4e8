// groupcached's config file: parsing, every kind of error with its line,
// the merge with the command line, and the example in deploy/.

#include "config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "flags.h"

namespace groupcache::daemon {
namespace {

using std::chrono::milliseconds;

constexpr const char* kFull = R"(node:
  listen: 127.0.0.1:8080
  self: http://127.0.0.1:8080
  peers: [http://127.0.0.1:8080, http://127.0.0.1:8081]
  name: a
  ip: 10.0.0.1
  group_port: 8080
  hash: golang
  replicas: 7
discovery:
  kind: nats
  app_name: app
  timeout: 2s
  nats:
    server: [nats://a:4222, nats://b:4222]
    subject: subj
    heartbeat: 500ms
    node_ttl: 2s
  kubernetes: {namespace: ns, kubeconfig: /k, watch_timeout: 30s, backoff_max: 10s}
  mdns:
    name: n
    service: _g._tcp
    domain: local.
    ipv6: true
    interfaces: eth0
    ttl: 10s
tls: {cert: c.pem, key: k.pem, ca: ca.pem, client_cert: cc.pem, client_key: ck.pem,
      require_client_cert: true}
limits:
  max_key_bytes: 1KiB
  max_body_bytes: 2MiB
  idle_timeout: 1m
  worker_threads: 8
  origin_ca: /ca.pem
logging: {level: debug, format: json}
groups:
  - name: images
    loader: http:http://origin/{key}
    cache_bytes: 1GiB
    cache_shards: 2
    origin_timeout: 2s
    origin_default_ttl: 1m
    origin_max_bytes: 1MiB
  - name: files
    loader: dir:/srv
    dir_max_file_bytes: 4096
)";

std::vector<std::string> Values(const Config& config, std::string_view flag) {
  const FlagSetting* setting = config.Find(flag);
  return setting == nullptr ? std::vector<std::string>{} : setting->values;
}

TEST(ConfigTest, FullFile) {
  Result<Config> config = ParseConfig(kFull, "f.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(Values(*config, "--listen"), std::vector<std::string>{"127.0.0.1:8080"});
  EXPECT_EQ(Values(*config, "--peers"),
            (std::vector<std::string>{"http://127.0.0.1:8080", "http://127.0.0.1:8081"}));
  EXPECT_EQ(Values(*config, "--hash"), std::vector<std::string>{"golang"});
  EXPECT_EQ(Values(*config, "--group-port"), std::vector<std::string>{"8080"});
  EXPECT_EQ(Values(*config, "--nats-server"),
            std::vector<std::string>{"nats://a:4222,nats://b:4222"});
  EXPECT_EQ(Values(*config, "--kube-namespace"), std::vector<std::string>{"ns"});
  EXPECT_EQ(Values(*config, "--mdns-ipv6"), std::vector<std::string>{"true"});
  EXPECT_EQ(Values(*config, "--mdns-interface"), std::vector<std::string>{"eth0"});
  EXPECT_EQ(Values(*config, "--tls-require-client-cert"), std::vector<std::string>{"true"});
  EXPECT_EQ(Values(*config, "--max-key-bytes"), std::vector<std::string>{"1024"});
  EXPECT_EQ(Values(*config, "--max-body-bytes"), std::vector<std::string>{"2097152"});
  EXPECT_EQ(Values(*config, "--idle-timeout"), std::vector<std::string>{"1m"});
  EXPECT_EQ(Values(*config, "--log-format"), std::vector<std::string>{"json"});
  EXPECT_EQ(config->Find("--listen")->line, 2);
  EXPECT_EQ(config->Find("--log-level")->line, 35);

  ASSERT_EQ(config->groups.size(), 2u);
  const GroupConfig& images = config->groups[0];
  EXPECT_EQ(images.name, "images");
  EXPECT_EQ(images.loader, "http:http://origin/{key}");
  EXPECT_EQ(images.cache_bytes, int64_t{1} << 30);
  EXPECT_EQ(images.cache_shards, 2);
  EXPECT_EQ(images.origin_timeout, milliseconds(2000));
  EXPECT_EQ(images.origin_default_ttl, milliseconds(60000));
  EXPECT_EQ(images.origin_max_bytes, size_t{1} << 20);
  EXPECT_FALSE(images.dir_max_file_bytes.has_value());
  EXPECT_EQ(images.line, 37);
  EXPECT_EQ(config->groups[1].cache_bytes, int64_t{64} << 20);
  EXPECT_EQ(config->groups[1].dir_max_file_bytes, size_t{4096});
}

TEST(ConfigTest, EmptyFileSetsNothing) {
  Result<Config> config = ParseConfig("", "f.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_TRUE(config->flags.empty());
  EXPECT_TRUE(config->groups.empty());
}

struct BadCase {
  std::string yaml;
  std::string error;  // the whole message
};

TEST(ConfigTest, EachErrorNamesLineAndKey) {
  const std::vector<BadCase> cases = {
      {"groups:\n  - name: a\n    loader: synthetic:1\n  - name: b\n    loader: synthetic:1\n"
       "    cache_bytes: lots\n",
       "f.yaml:6: groups[1].cache_bytes: want a size like 64MiB (bytes, KiB, MiB or GiB), got "
       "\"lots\""},
      {"node:\n  lisen: x\n",
       "f.yaml:2: node.lisen: unknown key (want one of listen, self, peers, name, ip, "
       "group_port, hash, replicas)"},
      {"nodes: {}\n",
       "f.yaml:1: nodes: unknown key (want one of node, discovery, tls, limits, logging, "
       "groups)"},
      {"groups:\n  - name: a\n    loader: synthetic:1\n    cache_byte: 1\n",
       "f.yaml:4: groups[0].cache_byte: unknown key (want one of name, loader, cache_bytes, "
       "cache_shards, dir_max_file_bytes, origin_timeout, origin_ca, origin_default_ttl, "
       "origin_max_bytes, eviction)"},
      {"groups:\n  - name: a\n    loader: synthetic:1\n    eviction: arc\n",
       "f.yaml:4: groups[0].eviction: want s3fifo or lru, got \"arc\""},
      {"node:\n  replicas: 0\n",
       "f.yaml:2: node.replicas: want an integer from 1 to "
       "2147483647, got \"0\""},
      {"node:\n  group_port: 70000\n",
       "f.yaml:2: node.group_port: want an integer from 1 to 65535, got \"70000\""},
      {"node:\n  hash: md5\n",
       "f.yaml:2: node.hash: want one of mailgun|golang|balanced, got \"md5\""},
      {"node:\n  peers: {a: b}\n", "f.yaml:2: node.peers: want a list of strings, got a map"},
      {"node:\n  listen:\n", "f.yaml:2: node.listen: want a string, got nothing"},
      {"discovery:\n  mdns:\n    ipv6: maybe\n",
       "f.yaml:3: discovery.mdns.ipv6: want true or false, got \"maybe\""},
      {"discovery:\n  nats:\n    heartbeat: 5 seconds\n",
       "f.yaml:3: discovery.nats.heartbeat: want a duration like 500ms, 2s or 1m, got "
       "\"5 seconds\""},
      {"limits:\n  max_connections: 0\n",
       "f.yaml:2: limits.max_connections: want an integer from 1 to 2147483647, not '0'"},
      {"limits:\n  idle_timeout: soon\n",
       "f.yaml:2: limits.idle_timeout: want a duration of at least 1ms and at most 100 years "
       "(e.g. 500ms, 2s, 1m), not 'soon'"},
      {"limits:\n  max_body_bytes: 0\n",
       "f.yaml:2: limits.max_body_bytes: want an integer from 1 to 9223372036854775807, not "
       "'0'"},
      {"groups:\n  - loader: synthetic:1\n", "f.yaml:2: groups[0]: missing key name"},
      {"groups:\n  - name: a\n",
       "f.yaml:2: groups[0]: missing key loader (synthetic:SIZE[:DELAY_MS], dir:PATH or "
       "http:URL_TEMPLATE)"},
      {"groups:\n  - name: a/b\n    loader: synthetic:1\n",
       "f.yaml:2: groups[0].name: want a name without '/', got \"a/b\""},
      {"groups:\n  - name: a\n    loader: ftp://x\n",
       "f.yaml:3: groups[0].loader: want synthetic:SIZE[:DELAY_MS], dir:PATH or "
       "http:URL_TEMPLATE, got \"ftp://x\""},
      {"groups:\n  - name: a\n    loader: synthetic:1\n  - name: a\n    loader: synthetic:2\n",
       "f.yaml:4: groups[1].name: \"a\" is the name of the group at line 2 too"},
      {"groups:\n  - name: a\n    loader: synthetic:1\n    origin_timeout: 0s\n",
       "f.yaml:4: groups[0].origin_timeout: want a duration of at least 1ms and at most 100 "
       "years (e.g. 500ms, 2s, 1m), not '0s'"},
      {"groups: []\n",
       "f.yaml:1: groups: want a list of at least one group (name, loader, ...), got a list"},
      {"groups:\n  - just-a-name\n",
       "f.yaml:2: groups[0]: want a map with name, loader, ..., got \"just-a-name\""},
      {"node:\n  listen: a\n  listen: b\n", "f.yaml:3: node.listen: given twice"},
      {"- a\n- b\n",
       "f.yaml:1: (top level): want a map of node, discovery, tls, limits, logging, groups, "
       "got a list"},
      {"node:\n  listen: [a\n", "f.yaml:3: end of sequence flow not found"},
  };
  for (const BadCase& c : cases) {
    Result<Config> config = ParseConfig(c.yaml, "f.yaml");
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(config.status().message(), c.error) << c.yaml;
  }
}

TEST(ConfigTest, ReportsEveryErrorAtOnce) {
  Result<Config> config =
      ParseConfig("node:\n  replicas: x\n  hash: y\nlimits:\n  io_threads: 0\n", "f.yaml");
  ASSERT_FALSE(config.ok());
  const std::string message = config.status().message();
  EXPECT_NE(message.find("f.yaml:2: node.replicas:"), std::string::npos) << message;
  EXPECT_NE(message.find("\nf.yaml:3: node.hash:"), std::string::npos) << message;
  EXPECT_NE(message.find("\nf.yaml:5: limits.io_threads:"), std::string::npos) << message;
}

TEST(ConfigTest, Sizes) {
  EXPECT_EQ(*ParseSize("0"), 0);
  EXPECT_EQ(*ParseSize("123"), 123);
  EXPECT_EQ(*ParseSize("512KiB"), 512 << 10);
  EXPECT_EQ(*ParseSize("64 MiB"), 64 << 20);
  EXPECT_EQ(*ParseSize("2GiB"), int64_t{2} << 30);
  for (const char* bad : {"", "lots", "-1", "1.5MiB", "1MB", "1 KiB ", "99999999999GiB"}) {
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatSize(int64_t{64} << 20), "64MiB");
  EXPECT_EQ(FormatSize(1000), "1000");
  EXPECT_EQ(FormatSize(int64_t{3} << 30), "3GiB");
}

// The flags of main() that the tests below use, bound like main() does.
struct App {
  CLI::App app;
  std::string listen;
  std::vector<std::string> peers;
  int replicas = 50;
  bool ipv6 = false;
  std::string group = "default";
  int64_t cache_bytes = 64 << 20;
  std::string loader;
  std::string eviction = "s3fifo";
  LimitFlags limits;

  App() {
    app.add_option("--listen", listen);
    app.add_option("--peers", peers)->delimiter(',');
    app.add_option("--replicas", replicas)->check(CLI::PositiveNumber);
    app.add_flag("--mdns-ipv6", ipv6);
    app.add_option("--group", group);
    app.add_option("--cache-bytes", cache_bytes);
    app.add_option("--loader", loader);
    app.add_option("--eviction", eviction);
    limits.AddTo(&app);
  }
  void Parse(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(args);
  }
  CommandLineGroup Group() const {
    return {group, cache_bytes, loader, ParseEviction(eviction).value_or(Eviction::kS3Fifo)};
  }
};

TEST(ConfigTest, FlagsOverrideTheFile) {
  Result<Config> config = ParseConfig(
      "node:\n  listen: file:1\n  replicas: 9\n  peers: [a, b]\n"
      "discovery:\n  mdns:\n    ipv6: true\nlimits:\n  idle_timeout: 10s\n  io_threads: 3\n",
      "f.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  App app;
  app.Parse({"--listen", "cli:2", "--io-threads", "5"});
  FlagSources from_file;
  ASSERT_TRUE(ApplyConfig(*config, &app.app, &from_file).ok());
  EXPECT_EQ(app.listen, "cli:2");
  EXPECT_EQ(app.replicas, 9);
  EXPECT_EQ(app.peers, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(app.ipv6);
  EXPECT_EQ(from_file, (FlagSources{"--idle-timeout", "--mdns-ipv6", "--peers", "--replicas"}));

  // The limits go through LimitFlags as if given: io_threads from the
  // command line, idle_timeout from the file (with its client default).
  HttpPoolOptions options;
  DaemonLimits limits;
  ASSERT_TRUE(app.limits.Apply(&options, &limits).ok());
  EXPECT_EQ(options.io_threads, 5);
  EXPECT_EQ(options.idle_timeout, milliseconds(10000));
  EXPECT_EQ(options.client_idle_timeout, milliseconds(5000));
}

// The TLS pairs are checked on what the file and the command line give
// together: a pair may be split between them (both forms were refused),
// and a lone setting is named where it came from.
TEST(ConfigTest, TlsPairsMayBeSplitBetweenTheFileAndTheCommandLine) {
  struct Case {
    std::string file;
    std::vector<std::string> args;
    std::string error;  // "" for none
  };
  const std::vector<Case> cases = {
      {"tls: {cert: c.pem, key: k.pem, ca: ca.pem}\n", {"--tls-require-client-cert"}, ""},
      {"tls: {require_client_cert: true}\n",
       {"--tls-cert", "c", "--tls-key", "k", "--tls-ca", "a"},
       ""},
      {"tls: {cert: c.pem}\n", {"--tls-key", "k"}, ""},
      {"tls: {require_client_cert: false}\n", {}, ""},
      {"\ntls:\n  cert: c.pem\n", {}, "f.yaml:3: tls.cert: needs --tls-key (tls.key)"},
      {"",
       {"--tls-client-key", "k"},
       "--tls-client-key: needs --tls-client-cert (tls.client_cert)"},
      {"tls: {cert: c.pem, key: k.pem}\n",
       {"--tls-require-client-cert"},
       "--tls-require-client-cert: needs --tls-ca (tls.ca)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file + " with " + std::to_string(c.args.size()) + " args");
    Result<Config> config = ParseConfig(c.file, "f.yaml");
    ASSERT_TRUE(config.ok()) << config.status().message();
    App app;
    std::string cert, key, ca, client_cert, client_key;
    bool require = false;
    app.app.add_option("--tls-cert", cert);
    app.app.add_option("--tls-key", key);
    app.app.add_option("--tls-ca", ca);
    app.app.add_option("--tls-client-cert", client_cert);
    app.app.add_option("--tls-client-key", client_key);
    app.app.add_flag("--tls-require-client-cert", require);
    app.Parse(c.args);
    FlagSources from_file;
    ASSERT_TRUE(ApplyConfig(*config, &app.app, &from_file).ok());
    Status s = CheckTlsPairs(app.app, &*config, from_file);
    EXPECT_EQ(s.message(), c.error);
  }
}

TEST(ConfigTest, ApplyRefusesAFlagTheAppLacks) {
  Result<Config> config = ParseConfig("\n\ntls:\n  ca: ca.pem\n", "f.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  App app;
  app.Parse({});
  FlagSources from_file;
  Status s = ApplyConfig(*config, &app.app, &from_file);
  EXPECT_EQ(s.message(), "f.yaml:4: tls.ca: this groupcached has no --tls-ca");
}

TEST(ConfigTest, GroupsFromTheCommandLineWithoutGroupsInTheFile) {
  App app;
  app.Parse({"--loader", "synthetic:8", "--group", "g"});
  auto plans = PlanGroups(nullptr, app.app, {}, app.Group(), LoaderOptions{});
  ASSERT_TRUE(plans.ok()) << plans.status().message();
  ASSERT_EQ(plans->size(), 1u);
  EXPECT_EQ((*plans)[0].name, "g");
  EXPECT_EQ((*plans)[0].loader, "synthetic:8");
  EXPECT_EQ((*plans)[0].cache_bytes, 64 << 20);

  App none;
  none.Parse({});
  EXPECT_EQ(PlanGroups(nullptr, none.app, {}, none.Group(), LoaderOptions{}).status().message(),
            "--loader is required (or groups: in a --config file)");
}

TEST(ConfigTest, GroupSettingsBeatLimitsButNotFlags) {
  Result<Config> config = ParseConfig(
      "limits:\n  origin_timeout: 3s\n  origin_max_bytes: 1KiB\n"
      "groups:\n  - name: a\n    loader: http:http://o/{key}\n    origin_timeout: 1s\n"
      "    origin_max_bytes: 2KiB\n  - name: b\n    loader: synthetic:1\n",
      "f.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  App app;
  app.Parse({"--origin-max-bytes", "5000"});
  FlagSources from_file;
  ASSERT_TRUE(ApplyConfig(*config, &app.app, &from_file).ok());
  HttpPoolOptions options;
  DaemonLimits limits;
  ASSERT_TRUE(app.limits.Apply(&options, &limits).ok());
  auto plans = PlanGroups(&*config, app.app, from_file, app.Group(), limits.loader);
  ASSERT_TRUE(plans.ok()) << plans.status().message();
  ASSERT_EQ(plans->size(), 2u);
  EXPECT_EQ((*plans)[0].loader_options.origin_timeout, milliseconds(1000));  // the group's
  EXPECT_EQ((*plans)[0].loader_options.origin_max_bytes, 5000u);             // the flag's
  EXPECT_EQ((*plans)[1].loader_options.origin_timeout, milliseconds(3000));  // limits:
  EXPECT_EQ((*plans)[0].where, "f.yaml:5: groups[0]");
  EXPECT_EQ(DescribeGroups(*plans),
            "2 groups: a (http:http://o/{key}, 64MiB), b (synthetic:1, 64MiB)");
}

TEST(ConfigTest, EvictionComesFromTheGroupTheFlagOrTheDefault) {
  Result<Config> config = ParseConfig(
      "groups:\n  - {name: a, loader: synthetic:1, eviction: lru}\n"
      "  - {name: b, loader: synthetic:1}\n",
      "f.yaml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  App app;
  app.Parse({});
  auto plans = PlanGroups(&*config, app.app, {}, app.Group(), LoaderOptions{});
  ASSERT_TRUE(plans.ok()) << plans.status().message();
  EXPECT_EQ((*plans)[0].eviction, Eviction::kLru);
  EXPECT_EQ((*plans)[1].eviction, Eviction::kS3Fifo);
  App flag;
  flag.Parse({"--eviction", "lru"});
  plans = PlanGroups(&*config, flag.app, {}, flag.Group(), LoaderOptions{});
  ASSERT_TRUE(plans.ok()) << plans.status().message();
  EXPECT_EQ((*plans)[1].eviction, Eviction::kLru);
  App flag2;
  flag2.Parse({"--eviction", "s3fifo"});
  plans = PlanGroups(&*config, flag2.app, {}, flag2.Group(), LoaderOptions{});
  ASSERT_TRUE(plans.ok()) << plans.status().message();
  EXPECT_EQ((*plans)[0].eviction, Eviction::kS3Fifo);  // the flag wins
}

TEST(ConfigTest, GroupFlagsOverrideTheOnlyGroupAndAreRefusedForSeveral) {
  Result<Config> one =
      ParseConfig("groups:\n  - name: a\n    loader: synthetic:1\n    cache_shards: 3\n", "f.yaml");
  ASSERT_TRUE(one.ok()) << one.status().message();
  App app;
  app.Parse({"--loader", "synthetic:2", "--cache-bytes", "100"});
  auto plans = PlanGroups(&*one, app.app, {}, app.Group(), LoaderOptions{});
  ASSERT_TRUE(plans.ok()) << plans.status().message();
  ASSERT_EQ(plans->size(), 1u);
  EXPECT_EQ((*plans)[0].name, "a");
  EXPECT_EQ((*plans)[0].loader, "synthetic:2");
  EXPECT_EQ((*plans)[0].cache_bytes, 100);
  EXPECT_EQ((*plans)[0].cache_shards, 3);

  Result<Config> two = ParseConfig(
      "groups:\n  - {name: a, loader: synthetic:1}\n  - {name: b, loader: synthetic:1}\n",
      "f.yaml");
  ASSERT_TRUE(two.ok()) << two.status().message();
  auto refused = PlanGroups(&*two, app.app, {}, app.Group(), LoaderOptions{});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("f.yaml declares 2"), std::string::npos)
      << refused.status().message();
}

TEST(ConfigTest, TheExampleFileIsValid) {
  Result<Config> config = ReadConfig(GROUPCACHE_EXAMPLE_CONFIG);
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_GE(config->groups.size(), 2u);
  App app;
  app.Parse({});
  FlagSources from_file;
  // The example sets flags this App lacks (--hash, ...): check the groups.
  HttpPoolOptions options;
  DaemonLimits limits;
  ASSERT_TRUE(app.limits.Apply(&options, &limits).ok());
  auto plans = PlanGroups(&*config, app.app, from_file, app.Group(), limits.loader);
  ASSERT_TRUE(plans.ok()) << plans.status().message();
  for (const GroupPlan& plan : *plans) {
    LoadCounter counter(0);
    auto getter = MakeLoader(plan.loader, plan.loader_options, &counter);
    EXPECT_TRUE(getter.ok()) << plan.where << ": " << getter.status().message();
  }
}

// A directory (a mounted ConfigMap given instead of the file in it) reads
// as empty: refused, not taken as a file that sets nothing.
TEST(ConfigTest, ADirectoryIsAnError) {
  Result<Config> config = ReadConfig(::testing::TempDir());
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("is a directory"), std::string::npos)
      << config.status().message();
}

// Go's duration syntax reaches 2562047h; a deadline or expiry that far
// ahead wraps the clock, so a duration flag stops at 100 years.
TEST(ConfigTest, DurationFlagsStopAtAHundredYears) {
  for (const char* flag : {"--request-timeout", "--origin-default-ttl", "--shutdown-timeout"}) {
    SCOPED_TRACE(flag);
    EXPECT_TRUE(LimitFlags::Check(flag, "876000h").ok());
    Status s = LimitFlags::Check(flag, "2562047h");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("at most 100 years"), std::string::npos) << s.message();
  }
}

TEST(ConfigTest, AMissingFileIsAnError) {
  Result<Config> config = ReadConfig("/nonexistent/groupcached.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "/nonexistent/groupcached.yaml: cannot read the config file");
}

}  // namespace
}  // namespace groupcache::daemon
