// discovery_nats_member: one NATS discovery provider in a process of its
// own, so that a test can kill it with SIGKILL (a node that never gets to
// deregister). Arguments are config entries, key=value, e.g.
//   discovery_nats_member nats-server=nats://127.0.0.1:4222 nats-subject=s
//       app_name=t self-host=127.0.0.1 self-port=9001 heartbeat=200ms
// It registers and then waits to be killed. Exit 2 on a setup error.

#include <unistd.h>

#include <cstdio>
#include <string>

#include "groupcache/discovery/nats_provider.h"

int main(int argc, char** argv) {
  using groupcache::discovery::Config;
  Config config;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    size_t eq = arg.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "usage: %s key=value...\n", argv[0]);
      return 2;
    }
    config.SetString(arg.substr(0, eq), arg.substr(eq + 1));
  }
  groupcache::discovery::NatsProvider provider(
      groupcache::NewDefaultLogger(groupcache::LogLevel::kInfo, "member"));
  groupcache::Status s = provider.SetConfig(config);
  if (s.ok()) s = provider.Initialize();
  if (s.ok()) s = provider.Register();
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 2;
  }
  while (true) pause();
}
