// The Kubernetes provider's checks of its config keys, without a server:
// each bad key is named in the wording every provider uses.

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "groupcache/discovery/kubernetes_provider.h"
#include "groupcache/logger.h"

namespace groupcache::discovery {
namespace {

Config Valid() {
  Config c;
  c.SetString(std::string(KubernetesProvider::kAppName), "shop");
  return c;
}

std::string ErrorOf(const Config& config) {
  KubernetesProvider p(NewNullLogger());
  return p.SetConfig(config).ToString();
}

TEST(KubernetesConfigTest, EachBadKeyIsNamed) {
  KubernetesProvider p(NewNullLogger());
  EXPECT_TRUE(p.SetConfig(Valid()).ok());

  EXPECT_EQ(ErrorOf(Config{}), "InvalidArgument: discovery config: key \"app_name\" is required");
  Config zero = Valid();
  zero.SetDuration(std::string(KubernetesProvider::kRequestTimeout), Duration{0});
  EXPECT_EQ(ErrorOf(zero),
            "InvalidArgument: discovery config: key \"request-timeout\" must be at least 1ms");
  Config short_watch = Valid();
  short_watch.SetDuration(std::string(KubernetesProvider::kWatchTimeout),
                          std::chrono::milliseconds(500));
  EXPECT_EQ(ErrorOf(short_watch),
            "InvalidArgument: discovery config: key \"watch-timeout\" must be at least 1s");
  Config small = Valid();
  small.SetInt(std::string(KubernetesProvider::kMaxListBytes), 1000);
  EXPECT_EQ(ErrorOf(small),
            "InvalidArgument: discovery config: key \"max-list-bytes\" must be at least 1024");
}

}  // namespace
}  // namespace groupcache::discovery
