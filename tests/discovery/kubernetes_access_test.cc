// Where the Kubernetes provider finds the API server and its credentials:
// in-cluster files and kubeconfig files, without a server.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "access.h"

namespace groupcache::discovery::kubernetes_internal {
namespace {

namespace fs = std::filesystem;

class KubernetesAccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("k8s-access-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(KubernetesAccessTest, ServerUrls) {
  ApiAccess a;
  ASSERT_TRUE(ParseServerUrl("https://10.0.0.1:6443", &a).ok());
  EXPECT_EQ(a.host, "10.0.0.1");
  EXPECT_EQ(a.port, "6443");
  ASSERT_TRUE(ParseServerUrl("https://kubernetes.default.svc/", &a).ok());
  EXPECT_EQ(a.host, "kubernetes.default.svc");
  EXPECT_EQ(a.port, "443");
  ASSERT_TRUE(ParseServerUrl("https://[fd00::1]:6443", &a).ok());
  EXPECT_EQ(a.host, "fd00::1");
  EXPECT_EQ(a.port, "6443");
  for (const char* bad : {"http://10.0.0.1:6443", "https://h:0", "https://h:70000",
                          "https://h:6443/api", "https://", "https://[::1", "https://h:x"}) {
    EXPECT_FALSE(ParseServerUrl(bad, &a).ok()) << bad;
  }
}

TEST_F(KubernetesAccessTest, InClusterReadsTheServiceAccountFiles) {
  Write("sa/token", " tok-123\r\n");  // blanks and line ends around it go
  Write("sa/ca.crt", "-----BEGIN CERTIFICATE-----\n");
  Write("sa/namespace", "shop \n");
  auto a = InClusterAccess((dir_ / "sa").string(), "10.96.0.1", "443");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "10.96.0.1");
  EXPECT_EQ(a->port, "443");
  EXPECT_EQ(a->token, "tok-123");
  EXPECT_EQ(a->token_file, (dir_ / "sa" / "token").string());
  EXPECT_EQ(a->ca_file, (dir_ / "sa" / "ca.crt").string());
  EXPECT_EQ(a->namespace_name, "shop");
  EXPECT_EQ(a->source, "in-cluster");

  auto v6 = InClusterAccess((dir_ / "sa").string(), "fd00::1", "6443");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "fd00::1");

  auto no_env = InClusterAccess((dir_ / "sa").string(), "", "");
  EXPECT_NE(no_env.status().message().find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  auto no_token = InClusterAccess((dir_ / "none").string(), "10.96.0.1", "443");
  EXPECT_NE(no_token.status().message().find("token"), std::string::npos);
}

constexpr char kKubeconfig[] = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: other
  cluster: {server: "https://10.9.9.9:6443"}
- name: dev-cluster
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: certs/ca.pem
users:
- name: dev-user
  user:
    tokenFile: token.txt
- name: data-user
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
contexts:
- name: dev
  context: {cluster: dev-cluster, user: dev-user, namespace: shop}
- name: data
  context: {cluster: other, user: data-user}
)";

TEST_F(KubernetesAccessTest, KubeconfigCurrentContext) {
  Write("token.txt", "from-file\n");
  std::string path = Write("kubeconfig", kKubeconfig);
  auto a = KubeconfigAccess(path);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, "6443");
  EXPECT_EQ(a->ca_file, (dir_ / "certs" / "ca.pem").string());  // relative to the file
  EXPECT_EQ(a->token, "from-file");
  EXPECT_EQ(a->token_file, (dir_ / "token.txt").string());
  EXPECT_EQ(a->namespace_name, "shop");
  EXPECT_EQ(a->source, path);

  std::string data = kKubeconfig;
  data.replace(data.find("current-context: dev"), 20, "current-context: data");
  auto d = KubeconfigAccess(Write("kubeconfig-data", data));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->client_cert_pem, "cert");
  EXPECT_EQ(d->client_key_pem, "key");
  EXPECT_EQ(d->host, "10.9.9.9");
  EXPECT_TRUE(d->namespace_name.empty());
}

TEST_F(KubernetesAccessTest, KubeconfigErrorsNameTheFileAndTheEntry) {
  struct Case {
    std::string text;
    std::string says;
  };
  std::string base = kKubeconfig;
  auto with = [&base](const std::string& from, const std::string& to) {
    std::string s = base;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  std::vector<Case> cases = {
      {with("current-context: dev", "current-context: nope"), "no context named 'nope'"},
      {with("current-context: dev\n", ""), "no current-context"},
      {with("cluster: dev-cluster,", "cluster: missing,"), "no cluster named 'missing'"},
      {with("https://127.0.0.1:6443", "http://127.0.0.1:6443"), "not an https:// URL"},
      {with("tokenFile: token.txt", "tokenFile: absent.txt"), "tokenFile"},
      {with("    tokenFile: token.txt", "    username: x"), "no token, tokenFile or client"},
      {"clusters: [", "line"},
      {"- just\n- a list\n", "not a YAML map"},
  };
  Write("token.txt", "t");
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string path = Write("bad-" + std::to_string(i), cases[i].text);
    auto a = KubeconfigAccess(path);
    ASSERT_FALSE(a.ok()) << cases[i].says;
    EXPECT_NE(a.status().message().find(cases[i].says), std::string::npos) << a.status().message();
    EXPECT_NE(a.status().message().find(path), std::string::npos) << a.status().message();
  }
  auto missing = KubeconfigAccess((dir_ / "absent").string());
  EXPECT_NE(missing.status().message().find("cannot be read"), std::string::npos);
  std::string bad64 = kKubeconfig;
  bad64.replace(bad64.find("current-context: dev"), 20, "current-context: data");
  bad64.replace(bad64.find("Y2VydA=="), 8, "Y2V!dA==");
  EXPECT_FALSE(KubeconfigAccess(Write("bad64", bad64)).ok());
}

}  // namespace
}  // namespace groupcache::discovery::kubernetes_internal
