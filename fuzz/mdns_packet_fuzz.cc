// libFuzzer target for the mDNS provider's packet parser: whatever arrives
// on the multicast socket must parse or be refused, never crash, hang or
// produce a name the limits forbid. Also built without libFuzzer, with
// replay_main.cc, to replay the corpus as a unit test.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mdns/packet.h"

namespace {

namespace mdns = groupcache::discovery::mdns_internal;

// Every label 1..63 bytes, the whole at most 255 bytes on the wire.
bool NameWithinLimits(const std::vector<std::string>& name) {
  size_t wire_size = 1;  // the root label
  for (const std::string& label : name) {
    if (label.empty() || label.size() > mdns::kMaxLabelSize) return false;
    wire_size += 1 + label.size();
  }
  return wire_size <= mdns::kMaxNameWireSize;
}

void Check(bool invariant) {
  if (!invariant) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> packet(data, size);
  auto parsed = mdns::ParseMessage(packet);
  if (!parsed.ok()) {
    Check(parsed.status().code() == groupcache::StatusCode::kInvalidArgument);
    Check(!parsed.status().message().empty());
    return 0;
  }
  const mdns::Message& m = *parsed;
  Check(size >= mdns::kHeaderSize && size <= mdns::kMaxMessageSize);
  // Nothing is made from nothing: each question and record took its bytes.
  const size_t body = size - mdns::kHeaderSize;
  Check(m.questions >= 0 && static_cast<size_t>(m.questions) <= body / 5);
  Check(m.records.size() <= body / 11);
  Check(m.response == ((m.flags & 0x8000) != 0));
  for (const mdns::Record& r : m.records) {
    Check(NameWithinLimits(r.name));
    Check(NameWithinLimits(r.target));
    Check(mdns::SameName(r.name, r.name));
    Check(r.rrclass <= 0x7FFF);
    if (r.type != mdns::kTypePtr && r.type != mdns::kTypeSrv) Check(r.target.empty());
    if (r.type != mdns::kTypeSrv) Check(r.port == 0);
  }

  const std::vector<std::string> service = {"_groupcache", "_tcp", "local"};
  const std::vector<std::string> goodbyes = mdns::Goodbyes(m, service);
  Check(m.response || goodbyes.empty());
  Check(goodbyes.size() <= m.records.size());
  for (const std::string& instance : goodbyes) {
    Check(!instance.empty() && instance.size() <= mdns::kMaxLabelSize);
  }
  return 0;
}
