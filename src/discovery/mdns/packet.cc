#include "packet.h"

#include <algorithm>
#include <string_view>
#include <utility>

namespace groupcache::discovery::mdns_internal {
namespace {

// The smallest question is the root name (1 byte), a type and a class; the
// smallest record adds a TTL and an rdlength. Counts are checked against
// these before anything is read or allocated, so that a 12-byte packet
// claiming 65535 records is refused at once rather than after 65535 tries.
constexpr size_t kMinQuestionSize = 1 + 2 + 2;
constexpr size_t kMinRecordSize = 1 + 2 + 2 + 4 + 2;
constexpr size_t kSrvFixedSize = 2 + 2 + 2;  // priority, weight, port

constexpr uint8_t kLabelTypeMask = 0xC0;
constexpr uint8_t kPointerType = 0xC0;
constexpr uint8_t kPointerHighBits = 0x3F;  // of the first byte of a pointer
constexpr uint16_t kCacheFlushBit = 0x8000;
constexpr uint16_t kResponseBit = 0x8000;

Status Malformed(std::string_view what, size_t offset) {
  std::string message = "mDNS message: ";
  message.append(what);
  message.append(" at offset ");
  message.append(std::to_string(offset));
  return InvalidArgumentError(std::move(message));
}

// Integers are assembled byte by byte: no unaligned loads, no aliasing, no
// dependence on the host's byte order.
// REQUIRES: at + 2 <= p.size() (resp. + 4); every caller checks first.
uint16_t Read16(std::span<const uint8_t> p, size_t at) {
  return static_cast<uint16_t>((p[at] << 8) | p[at + 1]);
}
uint32_t Read32(std::span<const uint8_t> p, size_t at) {
  return (static_cast<uint32_t>(Read16(p, at)) << 16) | Read16(p, at + 2);
}

// Reads the name that starts at `start` into `labels`.
//
// The name's own bytes, up to and including its root label or its first
// compression pointer, must end by `limit` (the end of the packet, or of
// the rdata that holds the name); `*end` is set just past them. Pointers
// may then lead anywhere earlier in the packet.
//
// Termination: every pointer must point strictly before the start of the
// run of bytes it was found in (RFC 1035 §4.1.4 only ever compresses
// against names already written). The offsets jumped to therefore strictly
// decrease, so a self-pointer or an A->B->A loop is an error, not a hang;
// kMaxPointerJumps bounds the work a chain of bare pointers can cause, and
// kMaxNameWireSize the labels collected.
Status ReadName(std::span<const uint8_t> p, size_t start, size_t limit,
                std::vector<std::string>* labels, size_t* end) {
  size_t pos = start;
  size_t run_start = start;  // where the bytes being read begin
  size_t run_limit = limit;  // the caller's limit until the first jump
  bool jumped = false;
  int jumps = 0;
  size_t wire_size = 1;  // the root label
  for (;;) {
    if (pos >= run_limit) return Malformed("name runs past the end", pos);
    const uint8_t length = p[pos];
    if (length == 0) {
      if (!jumped) *end = pos + 1;
      return Status::Ok();
    }
    const uint8_t label_type = length & kLabelTypeMask;
    if (label_type == kPointerType) {
      if (run_limit - pos < 2) return Malformed("compression pointer runs past the end", pos);
      const size_t target = (static_cast<size_t>(length & kPointerHighBits) << 8) | p[pos + 1];
      if (target >= run_start) {
        return Malformed("compression pointer to " + std::to_string(target) +
                             " does not point before its name (" + std::to_string(run_start) + ")",
                         pos);
      }
      if (target < kHeaderSize) {
        return Malformed("compression pointer into the header", pos);
      }
      if (++jumps > kMaxPointerJumps) return Malformed("too many compression pointers", pos);
      if (!jumped) {
        *end = pos + 2;
        jumped = true;
        run_limit = p.size();
      }
      pos = run_start = target;
      continue;
    }
    // 0x40 (extended labels, RFC 6891) and 0x80 are reserved. This is also
    // where a "label" of 64 to 191 bytes ends up: its length byte cannot
    // be told from those types, so a label is at most 63 bytes by
    // construction.
    if (label_type != 0) {
      return Malformed("reserved label type 0x" + std::string(label_type == 0x40 ? "40" : "80"),
                       pos);
    }
    if (run_limit - pos - 1 < length) return Malformed("label runs past the end", pos);
    wire_size += 1 + length;
    if (wire_size > kMaxNameWireSize) return Malformed("name longer than 255 bytes", pos);
    labels->emplace_back(reinterpret_cast<const char*>(p.data() + pos + 1), length);
    pos += 1 + length;
  }
}

// Reads one resource record at `*pos` and moves `*pos` past it.
Status ReadRecord(std::span<const uint8_t> p, size_t* pos, Record* record) {
  size_t at = *pos;
  Status status = ReadName(p, at, p.size(), &record->name, &at);
  if (!status.ok()) return status;
  if (p.size() - at < 10) return Malformed("record runs past the end", at);
  record->type = Read16(p, at);
  const uint16_t rrclass = Read16(p, at + 2);
  record->rrclass = static_cast<uint16_t>(rrclass & ~kCacheFlushBit);
  record->cache_flush = (rrclass & kCacheFlushBit) != 0;
  record->ttl = Read32(p, at + 4);
  const size_t rdlength = Read16(p, at + 8);
  const size_t rdata = at + 10;
  if (p.size() - rdata < rdlength) return Malformed("rdata runs past the end", at + 8);
  const size_t rdata_end = rdata + rdlength;
  // Only the names that goodbye detection needs are decoded. Bytes left
  // in the rdata after the name are tolerated; a name that does not fit
  // in its rdata is not.
  size_t name_end = 0;
  if (record->type == kTypePtr) {
    status = ReadName(p, rdata, rdata_end, &record->target, &name_end);
    if (!status.ok()) return status;
  } else if (record->type == kTypeSrv) {
    if (rdlength < kSrvFixedSize + 1) return Malformed("SRV rdata too short", rdata);
    record->port = Read16(p, rdata + 4);
    status = ReadName(p, rdata + kSrvFixedSize, rdata_end, &record->target, &name_end);
    if (!status.ok()) return status;
  }
  *pos = rdata_end;
  return Status::Ok();
}

// ASCII only (RFC 1035 §2.3.3, RFC 6762 §16): no locale (std::tolower of
// a negative char is undefined), and bytes >= 0x80 compare exactly.
char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool SameLabel(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

}  // namespace

Result<Message> ParseMessage(std::span<const uint8_t> packet) {
  if (packet.size() < kHeaderSize) {
    return Malformed(
        "message of " + std::to_string(packet.size()) + " bytes, shorter than its header", 0);
  }
  if (packet.size() > kMaxMessageSize) {
    return Malformed("message of " + std::to_string(packet.size()) + " bytes, longer than 9000", 0);
  }
  Message m;
  m.id = Read16(packet, 0);
  m.flags = Read16(packet, 2);
  m.response = (m.flags & kResponseBit) != 0;
  const size_t questions = Read16(packet, 4);
  m.answers = Read16(packet, 6);
  m.authority = Read16(packet, 8);
  const size_t records = size_t{Read16(packet, 6)} + Read16(packet, 8) + Read16(packet, 10);
  const size_t needed = questions * kMinQuestionSize + records * kMinRecordSize;
  if (needed > packet.size() - kHeaderSize) {
    return Malformed(std::to_string(questions) + " questions and " + std::to_string(records) +
                         " records need at least " + std::to_string(needed) + " bytes, " +
                         std::to_string(packet.size() - kHeaderSize) + " left",
                     4);
  }
  size_t pos = kHeaderSize;
  for (size_t i = 0; i < questions; ++i) {
    std::vector<std::string> name;
    Status status = ReadName(packet, pos, packet.size(), &name, &pos);
    if (!status.ok()) return status;
    if (packet.size() - pos < 4) return Malformed("question runs past the end", pos);
    pos += 4;
  }
  m.questions = static_cast<int>(questions);
  // Not reserved from the count: the loop stops at the first bad record,
  // and the count check above already bounds it by the packet's size.
  for (size_t i = 0; i < records; ++i) {
    Record record;
    Status status = ReadRecord(packet, &pos, &record);
    if (!status.ok()) return status;
    m.records.push_back(std::move(record));
  }
  return m;
}

bool SameName(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameLabel(a[i], b[i])) return false;
  }
  return true;
}

std::vector<std::string> Goodbyes(const Message& m, const std::vector<std::string>& service) {
  std::vector<std::string> instances;
  // A query's known-answer list (RFC 6762 §7.1) carries PTR records too, but
  // they say what the asker has cached, not that anyone leaves.
  if (!m.response) return instances;
  // What Avahi checks before it reads a response (avahi-core server.c).
  constexpr uint16_t kOpcode = 0x7800;
  constexpr uint16_t kRcode = 0x000f;
  if ((m.flags & (kOpcode | kRcode)) != 0 || m.questions != 0 || m.authority != 0) {
    return instances;
  }
  const size_t answers = std::min(m.records.size(), static_cast<size_t>(m.answers));
  for (size_t a = 0; a < answers; ++a) {
    const Record& r = m.records[a];
    if (r.type != kTypePtr || r.rrclass != kClassIn || r.ttl != 0) continue;
    if (!SameName(r.name, service) || r.target.size() != service.size() + 1) continue;
    bool under_service = true;
    for (size_t i = 0; i < service.size(); ++i) {
      under_service = under_service && SameLabel(r.target[i + 1], service[i]);
    }
    if (!under_service) continue;
    bool seen = false;
    for (const std::string& instance : instances) seen = seen || SameLabel(instance, r.target[0]);
    if (!seen) instances.push_back(r.target[0]);
  }
  return instances;
}

}  // namespace groupcache::discovery::mdns_internal
