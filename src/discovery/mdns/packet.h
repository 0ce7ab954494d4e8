// A defensive parser for one mDNS (DNS) message, pure logic with no I/O, so
// that it is unit-tested and fuzzed on its own.
//
// Why the provider parses packets at all: Avahi follows RFC 6762 §10.1 and
// keeps a record for one second after its goodbye (TTL 0) before it reports
// the removal. The mDNS provider also listens on the mDNS socket and reads
// goodbyes itself, so that a node that leaves cleanly leaves the rings at
// once. Everything else (announcements, expiry, probing) stays Avahi's.
//
// The input is whatever arrived on a multicast socket, so every rule of
// RFC 1035 §4.1.4 and RFC 6762 §17/§18 is checked before a byte is read:
// sizes, label lengths, name lengths, compression pointers (which must point
// strictly backwards, so that no packet makes the parser loop), and section
// counts (checked against the bytes present before anything is allocated).
// No exceptions other than std::bad_alloc, no recursion.
// Stateless functions: safe to call from any thread.

#ifndef GROUPCACHE_SRC_DISCOVERY_MDNS_PACKET_H_
#define GROUPCACHE_SRC_DISCOVERY_MDNS_PACKET_H_

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "groupcache/status.h"

namespace groupcache::discovery::mdns_internal {

// Limits. 9000 bytes is the largest mDNS message RFC 6762 §17 allows (a
// jumbo-frame payload); a name is at most 255 bytes on the wire and a
// label at most 63 (RFC 1035 §2.3.4).
inline constexpr size_t kMaxMessageSize = 9000;
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxLabelSize = 63;
inline constexpr size_t kMaxNameWireSize = 255;
// Compression pointers followed while reading one name.
inline constexpr int kMaxPointerJumps = 128;

// Record types the provider looks at.
inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeTxt = 16;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeSrv = 33;
inline constexpr uint16_t kClassIn = 1;

// One resource record. Only what goodbye detection needs is decoded; the
// rest of the rdata is skipped.
struct Record {
  std::vector<std::string> name;  // labels as on the wire (case kept), no trailing root
  uint16_t type = 0;              // kTypePtr, kTypeSrv, ...
  uint16_t rrclass = 0;           // without the cache-flush bit
  bool cache_flush = false;       // top bit of the class (RFC 6762 §10.2)
  uint32_t ttl = 0;
  std::vector<std::string> target;  // PTR: the pointed-to name; SRV: the target host; else empty
  uint16_t port = 0;                // SRV only
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  bool response = false;        // the QR bit
  int questions = 0;            // parsed and skipped
  int answers = 0;              // the first `answers` records
  int authority = 0;            // then these; the rest are additional
  std::vector<Record> records;  // answers, then authority, then additional
};

// Parses one UDP payload. Bytes after the last record are ignored.
// Errors: InvalidArgument saying what is wrong and at which offset (a
// message shorter than the header or longer than kMaxMessageSize, section
// counts the bytes cannot hold, a label type other than 0 or 0xC0, a name
// longer than kMaxNameWireSize, a compression pointer that does not point
// strictly before the name it is in or is one jump too many, a record or a
// PTR/SRV rdata that runs past its end).
Result<Message> ParseMessage(std::span<const uint8_t> packet);

// Whether two names are equal as DNS compares them: label by label, ASCII
// letters case-insensitively, every other byte exactly.
bool SameName(const std::vector<std::string>& a, const std::vector<std::string>& b);

// The instances whose goodbye `m` carries: for each class-IN PTR record
// with TTL 0 whose name is `service` (e.g. {"_groupcache", "_tcp",
// "local"}) and whose target is <instance>.<service>, the instance label as
// on the wire, once each, in message order. Only answer records count, and
// only in a message Avahi would accept as a response (QR = 1, OPCODE 0,
// RCODE 0, no questions, no authority records): a goodbye inside anything
// else changes nothing in Avahi, and must change nothing here.
std::vector<std::string> Goodbyes(const Message& m, const std::vector<std::string>& service);

}  // namespace groupcache::discovery::mdns_internal

#endif  // GROUPCACHE_SRC_DISCOVERY_MDNS_PACKET_H_
