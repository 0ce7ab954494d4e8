// A program built only from the installed package.
#include <cstdio>
#include <string>

#include "groupcache.pb.h"
#include "groupcache/proto_sink.h"
#include "groupcache/registry.h"

int main() {
  groupcache::Registry registry(groupcache::RegistryOptions{groupcache::NewNullLogger()});
  auto group = registry.NewGroup(
      "consumer", 1 << 20,
      [](const groupcache::Context&, std::string_view key, groupcache::Sink& dest) {
        groupcachepb::GetRequest req;
        req.set_key(std::string(key));
        return groupcache::SetProto(dest, req);
      });
  if (!group.ok()) return 1;
  groupcachepb::GetRequest out;
  groupcache::ProtoSink sink(&out);
  if (!(*group)->Get({}, "hello", sink).ok() || out.key() != "hello") return 2;
  std::puts("consumer ok");
  return 0;
}
