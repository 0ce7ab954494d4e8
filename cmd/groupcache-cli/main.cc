// groupcache-cli: operator commands for a groupcache cluster.
//
//   groupcache-cli owner --hash mailgun|golang --replicas N --peers URL[,URL...] KEY...
//     prints KEY<TAB>OWNER for each key, placing keys exactly as the Go ring
//     does for the same peer list.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "groupcache/hash_ring.h"

namespace {

int RunOwner(const std::string& hash, int replicas, const std::vector<std::string>& peers,
             const std::vector<std::string>& keys) {
  groupcache::RingOptions options;
  if (!groupcache::ParseRingAlgorithm(hash, &options.algorithm)) {
    std::cerr << "groupcache-cli: --hash must be mailgun or golang, not '" << hash << "'\n";
    return 2;
  }
  options.replicas = replicas;
  groupcache::HashRing ring(options, peers);
  for (const std::string& key : keys) std::cout << key << '\t' << ring.Get(key) << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"groupcache-cli: inspect and drive a groupcache cluster"};
  app.require_subcommand(1);

  std::string hash = "mailgun";
  int replicas = groupcache::HashRing::kDefaultReplicas;
  std::vector<std::string> peers;
  std::vector<std::string> keys;
  CLI::App* owner = app.add_subcommand("owner", "print the peer that owns each key");
  owner->add_option("--hash", hash, "ring algorithm: mailgun (default) or golang")
      ->check(CLI::IsMember({"mailgun", "golang"}));
  owner->add_option("--replicas", replicas, "points per peer on the ring")
      ->check(CLI::PositiveNumber);
  owner->add_option("--peers", peers, "peer URLs, e.g. http://10.0.0.1:8080")
      ->required()
      ->delimiter(',')
      ->allow_extra_args(false);  // keys follow; do not swallow them
  owner->add_option("keys", keys, "keys to place")->required();

  CLI11_PARSE(app, argc, argv);
  if (owner->parsed()) return RunOwner(hash, replicas, peers, keys);
  return 2;
}
