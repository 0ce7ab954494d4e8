// The mDNS provider's packet parser and goodbye rule, on packets built
// byte by byte: well-formed ones as Avahi sends them, and every malformation
// RFC 1035 §4.1.4 and RFC 6762 §18 warn about.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "mdns/packet.h"

namespace groupcache::discovery::mdns_internal {
namespace {

using Name = std::vector<std::string>;
using Bytes = std::vector<uint8_t>;

const Name kService = {"_groupcache", "_tcp", "local"};

Name Instance(const std::string& instance, const Name& service = kService) {
  Name name = {instance};
  name.insert(name.end(), service.begin(), service.end());
  return name;
}

// Writes a DNS message as a compressing responder does: sections in order,
// every name compressed against the longest suffix already written (matched
// exactly, so that a test decides what is compressed by the case it uses).
class PacketBuilder {
 public:
  enum Section { kAnswer = 1, kAuthority = 2, kAdditional = 3 };

  explicit PacketBuilder(uint16_t flags = 0x8400, uint16_t id = 0) {
    U16(id);
    U16(flags);
    for (int i = 0; i < 4; ++i) U16(0);
  }

  PacketBuilder& Question(const Name& name, uint16_t type, uint16_t rrclass = kClassIn) {
    WriteName(name);
    U16(type);
    U16(rrclass);
    Count(0);
    return *this;
  }
  PacketBuilder& In(Section section) {
    section_ = section;
    return *this;
  }
  PacketBuilder& Ptr(const Name& name, uint32_t ttl, const Name& target) {
    size_t rdata = RecordHead(name, kTypePtr, kClassIn, ttl);
    WriteName(target);
    return RecordTail(rdata);
  }
  PacketBuilder& Srv(const Name& name, uint32_t ttl, uint16_t port, const Name& host) {
    size_t rdata = RecordHead(name, kTypeSrv, kClassIn | 0x8000, ttl);
    U16(0);  // priority
    U16(0);  // weight
    U16(port);
    WriteName(host);
    return RecordTail(rdata);
  }
  PacketBuilder& Txt(const Name& name, uint32_t ttl, const std::vector<std::string>& strings) {
    size_t rdata = RecordHead(name, kTypeTxt, kClassIn | 0x8000, ttl);
    for (const std::string& s : strings) {
      bytes_.push_back(static_cast<uint8_t>(s.size()));
      bytes_.insert(bytes_.end(), s.begin(), s.end());
    }
    return RecordTail(rdata);
  }
  PacketBuilder& A(const Name& name, uint32_t ttl, std::array<uint8_t, 4> address) {
    size_t rdata = RecordHead(name, kTypeA, kClassIn | 0x8000, ttl);
    bytes_.insert(bytes_.end(), address.begin(), address.end());
    return RecordTail(rdata);
  }
  // A record of any type with the given rdata, written as is.
  PacketBuilder& Raw(const Name& name, uint16_t type, uint32_t ttl, const Bytes& rdata) {
    size_t start = RecordHead(name, type, kClassIn, ttl);
    bytes_.insert(bytes_.end(), rdata.begin(), rdata.end());
    return RecordTail(start);
  }

  Bytes bytes() const { return bytes_; }
  size_t size() const { return bytes_.size(); }

 private:
  void U16(uint16_t v) {
    bytes_.push_back(static_cast<uint8_t>(v >> 8));
    bytes_.push_back(static_cast<uint8_t>(v));
  }
  void U32(uint32_t v) {
    U16(static_cast<uint16_t>(v >> 16));
    U16(static_cast<uint16_t>(v));
  }
  void Count(int index) {
    size_t at = 4 + 2 * static_cast<size_t>(index);
    uint16_t count = static_cast<uint16_t>((bytes_[at] << 8 | bytes_[at + 1]) + 1);
    bytes_[at] = static_cast<uint8_t>(count >> 8);
    bytes_[at + 1] = static_cast<uint8_t>(count);
  }
  // Writes the labels up to the longest suffix seen before, then a pointer
  // to it.
  void WriteName(const Name& name) {
    for (size_t i = 0; i < name.size(); ++i) {
      Name suffix(name.begin() + static_cast<std::ptrdiff_t>(i), name.end());
      auto it = suffixes_.find(suffix);
      if (it != suffixes_.end()) {
        U16(static_cast<uint16_t>(0xC000 | it->second));
        return;
      }
      suffixes_[suffix] = bytes_.size();
      bytes_.push_back(static_cast<uint8_t>(name[i].size()));
      bytes_.insert(bytes_.end(), name[i].begin(), name[i].end());
    }
    bytes_.push_back(0);
  }
  size_t RecordHead(const Name& name, uint16_t type, uint16_t rrclass, uint32_t ttl) {
    WriteName(name);
    U16(type);
    U16(rrclass);
    U32(ttl);
    U16(0);  // rdlength, patched by RecordTail
    Count(section_);
    return bytes_.size();
  }
  PacketBuilder& RecordTail(size_t rdata) {
    size_t length = bytes_.size() - rdata;
    bytes_[rdata - 2] = static_cast<uint8_t>(length >> 8);
    bytes_[rdata - 1] = static_cast<uint8_t>(length);
    return *this;
  }

  Bytes bytes_;
  Section section_ = kAnswer;
  std::map<Name, size_t> suffixes_;
};

// Captured from Avahi 0.8 (Debian 12's libavahi-core7) publishing and then
// withdrawing "node-1" of _groupcache._tcp on host-1.local, 10.77.0.1:8080
// (the same bytes are seeds in fuzz/corpus/mdns_packet/).
// The goodbye: six answers, the two PTRs, SRV and TXT with TTL 0 and the
// host's addresses, still valid (TTL 120); compressed, with pointers to
// pointers ("node-1" -> "_groupcache._tcp" -> "local").
constexpr uint8_t kAvahiGoodbye[] = {
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x09, 0x5f, 0x73, 0x65,
    0x72, 0x76, 0x69, 0x63, 0x65, 0x73, 0x07, 0x5f, 0x64, 0x6e, 0x73, 0x2d, 0x73, 0x64, 0x04, 0x5f,
    0x75, 0x64, 0x70, 0x05, 0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x13, 0x0b, 0x5f, 0x67, 0x72, 0x6f, 0x75, 0x70, 0x63, 0x61, 0x63, 0x68, 0x65,
    0x04, 0x5f, 0x74, 0x63, 0x70, 0xc0, 0x23, 0xc0, 0x34, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x09, 0x06, 0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x31, 0xc0, 0x34, 0xc0, 0x53, 0x00, 0x21,
    0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x90, 0x06, 0x68,
    0x6f, 0x73, 0x74, 0x2d, 0x31, 0xc0, 0x23, 0xc0, 0x6e, 0x00, 0x1c, 0x80, 0x01, 0x00, 0x00, 0x00,
    0x78, 0x00, 0x10, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x88, 0xd6, 0x24, 0xff, 0xfe,
    0x41, 0x2b, 0xaf, 0xc0, 0x6e, 0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00, 0x78, 0x00, 0x04, 0x0a,
    0x4d, 0x00, 0x01, 0xc0, 0x53, 0x00, 0x10, 0x80, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x0b,
    0x6e, 0x61, 0x6d, 0x65, 0x3d, 0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x31, 0x09, 0x76, 0x65, 0x72, 0x73,
    0x69, 0x6f, 0x6e, 0x3d, 0x31,
};
// A browser's query for _groupcache._tcp.local PTR, with node-1 as known
// answer (RFC 6762 §7.1).
constexpr uint8_t kAvahiBrowseQuery[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x5f, 0x67, 0x72,
    0x6f, 0x75, 0x70, 0x63, 0x61, 0x63, 0x68, 0x65, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x6c, 0x6f,
    0x63, 0x61, 0x6c, 0x00, 0x00, 0x0c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00,
    0x11, 0x94, 0x00, 0x09, 0x06, 0x6e, 0x6f, 0x64, 0x65, 0x2d, 0x31, 0xc0, 0x0c,
};

// A service's announcement (TTL 120/4500) or goodbye (TTL 0) with the
// records Avahi sends (SRV, TXT, the two PTRs, the host's address), the
// address as an additional record so that all sections are exercised.
Bytes Announcement(const std::string& instance, uint32_t ttl, uint32_t host_ttl = 120) {
  return PacketBuilder()
      .Srv(Instance(instance), ttl == 0 ? 0 : host_ttl, 8080, {"host-1", "local"})
      .Txt(Instance(instance), ttl == 0 ? 0 : ttl, {"name=" + instance})
      .Ptr({"_services", "_dns-sd", "_udp", "local"}, ttl, kService)
      .Ptr(kService, ttl, Instance(instance))
      .In(PacketBuilder::kAdditional)
      .A({"host-1", "local"}, host_ttl, {10, 0, 0, 1})
      .bytes();
}

Bytes Header(uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar, uint16_t flags = 0x8400) {
  return {0,
          0,
          static_cast<uint8_t>(flags >> 8),
          static_cast<uint8_t>(flags),
          static_cast<uint8_t>(qd >> 8),
          static_cast<uint8_t>(qd),
          static_cast<uint8_t>(an >> 8),
          static_cast<uint8_t>(an),
          static_cast<uint8_t>(ns >> 8),
          static_cast<uint8_t>(ns),
          static_cast<uint8_t>(ar >> 8),
          static_cast<uint8_t>(ar)};
}

Bytes Concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Bytes Label(size_t length, char fill = 'x') {
  Bytes out = {static_cast<uint8_t>(length)};
  out.insert(out.end(), length, static_cast<uint8_t>(fill));
  return out;
}

// The message of a failed parse, or "" with a test failure when it parsed.
std::string Error(const Bytes& packet) {
  auto m = ParseMessage(packet);
  EXPECT_FALSE(m.ok());
  if (m.ok()) return "";
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  return m.status().message();
}

Message Parse(const Bytes& packet) {
  auto m = ParseMessage(packet);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : Message{};
}

TEST(MdnsPacketTest, ARealAvahiGoodbye) {
  Message m = Parse(Bytes(std::begin(kAvahiGoodbye), std::end(kAvahiGoodbye)));
  EXPECT_TRUE(m.response);
  ASSERT_EQ(m.records.size(), 6U);
  EXPECT_EQ(m.records[1].name, kService);
  EXPECT_EQ(m.records[1].target, Instance("node-1"));
  EXPECT_EQ(m.records[1].ttl, 0U);
  EXPECT_EQ(m.records[2].type, kTypeSrv);
  EXPECT_EQ(m.records[2].port, 8080);
  EXPECT_EQ(m.records[2].target, (Name{"host-1", "local"}));
  EXPECT_EQ(Goodbyes(m, kService), (std::vector<std::string>{"node-1"}));
  EXPECT_TRUE(Goodbyes(m, {"_http", "_tcp", "local"}).empty());
}

TEST(MdnsPacketTest, ARealAvahiQueryIsNeverAGoodbye) {
  Message m = Parse(Bytes(std::begin(kAvahiBrowseQuery), std::end(kAvahiBrowseQuery)));
  EXPECT_FALSE(m.response);
  EXPECT_EQ(m.questions, 1);
  ASSERT_EQ(m.records.size(), 1U);
  EXPECT_EQ(m.records[0].target, Instance("node-1"));
  m.records[0].ttl = 0;  // even a known answer with TTL 0
  EXPECT_TRUE(Goodbyes(m, kService).empty());
}

TEST(MdnsPacketTest, ParsesAnAvahiAnnouncementWithCompression) {
  Bytes packet = Announcement("node-1", 4500);
  // Compressed: each suffix is written once.
  EXPECT_LT(packet.size(), 190U);
  Message m = Parse(packet);
  EXPECT_TRUE(m.response);
  EXPECT_EQ(m.flags, 0x8400);
  EXPECT_EQ(m.questions, 0);
  ASSERT_EQ(m.records.size(), 5U);

  const Record& srv = m.records[0];
  EXPECT_EQ(srv.type, kTypeSrv);
  EXPECT_EQ(srv.name, Instance("node-1"));
  EXPECT_EQ(srv.rrclass, kClassIn);
  EXPECT_TRUE(srv.cache_flush);
  EXPECT_EQ(srv.ttl, 120U);
  EXPECT_EQ(srv.port, 8080);
  EXPECT_EQ(srv.target, (Name{"host-1", "local"}));

  const Record& txt = m.records[1];
  EXPECT_EQ(txt.type, kTypeTxt);
  EXPECT_EQ(txt.name, Instance("node-1"));  // a bare pointer to the SRV's name
  EXPECT_TRUE(txt.target.empty());

  EXPECT_EQ(m.records[2].type, kTypePtr);
  EXPECT_EQ(m.records[2].name, (Name{"_services", "_dns-sd", "_udp", "local"}));
  EXPECT_EQ(m.records[2].target, kService);

  const Record& ptr = m.records[3];
  EXPECT_EQ(ptr.type, kTypePtr);
  EXPECT_EQ(ptr.name, kService);
  EXPECT_FALSE(ptr.cache_flush);  // shared records never set it
  EXPECT_EQ(ptr.ttl, 4500U);
  EXPECT_EQ(ptr.target, Instance("node-1"));

  const Record& a = m.records[4];
  EXPECT_EQ(a.type, kTypeA);
  EXPECT_EQ(a.name, (Name{"host-1", "local"}));
  EXPECT_TRUE(a.cache_flush);

  EXPECT_TRUE(Goodbyes(m, kService).empty());
}

TEST(MdnsPacketTest, ParsesAQuery) {
  Bytes packet = PacketBuilder(0x0000, 7)
                     .Question(kService, kTypePtr)
                     .Question(Instance("node-1"), kTypeSrv, kClassIn | 0x8000)  // QU
                     .bytes();
  Message m = Parse(packet);
  EXPECT_FALSE(m.response);
  EXPECT_EQ(m.id, 7);
  EXPECT_EQ(m.questions, 2);
  EXPECT_TRUE(m.records.empty());
}

TEST(MdnsPacketTest, AHeaderAloneIsAnEmptyMessage) {
  Message m = Parse(Header(0, 0, 0, 0));
  EXPECT_EQ(m.questions, 0);
  EXPECT_TRUE(m.records.empty());
}

TEST(MdnsPacketTest, GoodbyeNamesTheInstance) {
  Message m = Parse(Announcement("node-1", 0));
  EXPECT_EQ(Goodbyes(m, kService), (std::vector<std::string>{"node-1"}));
}

TEST(MdnsPacketTest, GoodbyeComparesNamesCaseInsensitively) {
  Bytes packet =
      PacketBuilder()
          .Ptr({"_GroupCache", "_TCP", "Local"}, 0, {"Node-1", "_groupcache", "_tcp", "LOCAL"})
          .bytes();
  // The instance keeps its case: it names the node as it announced itself.
  EXPECT_EQ(Goodbyes(Parse(packet), kService), (std::vector<std::string>{"Node-1"}));
}

TEST(MdnsPacketTest, GoodbyesListEachInstanceOnce) {
  Bytes packet = PacketBuilder()
                     .Ptr(kService, 0, Instance("a"))
                     .Ptr(kService, 0, Instance("b"))
                     .In(PacketBuilder::kAdditional)
                     .Ptr(kService, 0, Instance("A"))
                     .bytes();
  EXPECT_EQ(Goodbyes(Parse(packet), kService), (std::vector<std::string>{"a", "b"}));
}

TEST(MdnsPacketTest, WhatIsNotAGoodbye) {
  struct Case {
    const char* why;
    Bytes packet;
  };
  const Name http = {"_http", "_tcp", "local"};
  std::vector<Case> cases = {
      {"a TTL above 0", PacketBuilder().Ptr(kService, 1, Instance("a")).bytes()},
      {"another service", PacketBuilder().Ptr(http, 0, Instance("a", http)).bytes()},
      {"a target under another service",
       PacketBuilder().Ptr(kService, 0, Instance("a", http)).bytes()},
      {"a target two labels under the service",
       PacketBuilder().Ptr(kService, 0, {"x", "a", "_groupcache", "_tcp", "local"}).bytes()},
      {"the service itself as target", PacketBuilder().Ptr(kService, 0, kService).bytes()},
      {"an SRV with TTL 0", PacketBuilder().Srv(Instance("a"), 0, 1, {"h", "local"}).bytes()},
      {"a query's known answer",
       PacketBuilder(0x0000).Question(kService, kTypePtr).Ptr(kService, 0, Instance("a")).bytes()},
      // Responses Avahi throws away whole: no goodbye in them may count.
      {"a response with a question",
       PacketBuilder().Question(kService, kTypePtr).Ptr(kService, 0, Instance("a")).bytes()},
      {"a response with OPCODE 2", PacketBuilder(0x9400).Ptr(kService, 0, Instance("a")).bytes()},
      {"a response with RCODE 3", PacketBuilder(0x8403).Ptr(kService, 0, Instance("a")).bytes()},
      {"a response with an authority record", PacketBuilder()
                                                  .Ptr(kService, 0, Instance("a"))
                                                  .In(PacketBuilder::kAuthority)
                                                  .Ptr(kService, 120, Instance("b"))
                                                  .bytes()},
      {"a goodbye in the additional section only",
       PacketBuilder().In(PacketBuilder::kAdditional).Ptr(kService, 0, Instance("a")).bytes()},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(Goodbyes(Parse(c.packet), kService).empty()) << c.why;
  }
  // Another class than IN.
  Message m = Parse(PacketBuilder().Ptr(kService, 0, Instance("a")).bytes());
  ASSERT_EQ(m.records.size(), 1U);
  m.records[0].rrclass = 3;
  EXPECT_TRUE(Goodbyes(m, kService).empty());
}

TEST(MdnsPacketTest, SameNameIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(SameName({"AbC", "local"}, {"aBc", "LOCAL"}));
  EXPECT_TRUE(SameName({}, {}));
  EXPECT_FALSE(SameName({"abc"}, {"abd"}));
  EXPECT_FALSE(SameName({"abc"}, {"abc", "local"}));
  EXPECT_FALSE(SameName({"ab", "c"}, {"a", "bc"}));
  // Non-ASCII bytes compare exactly: 0xC3 0x89 ("É") is not "é".
  EXPECT_FALSE(SameName({"\xC3\x89"}, {"\xC3\xA9"}));
  EXPECT_FALSE(SameName({"@"}, {"`"}));  // just outside A-Z and a-z
}

TEST(MdnsPacketTest, EveryTruncationIsAnError) {
  for (const Bytes& packet :
       {Announcement("node-1", 0), PacketBuilder(0).Question(kService, kTypePtr).bytes()}) {
    ASSERT_TRUE(ParseMessage(packet).ok());
    for (size_t n = 0; n < packet.size(); ++n) {
      Bytes cut(packet.begin(), packet.begin() + static_cast<std::ptrdiff_t>(n));
      auto m = ParseMessage(cut);
      EXPECT_FALSE(m.ok()) << "truncated to " << n << " bytes";
      if (!m.ok()) {
        EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST(MdnsPacketTest, TrailingBytesAreIgnored) {
  Bytes packet = Concat(Announcement("node-1", 0), {1, 2, 3, 0xC0});
  EXPECT_EQ(Parse(packet).records.size(), 5U);
}

TEST(MdnsPacketTest, SizeLimits) {
  EXPECT_NE(Error({}).find("shorter than its header"), std::string::npos);
  EXPECT_NE(Error(Bytes(11, 0)).find("shorter than its header"), std::string::npos);
  // The largest message is fine (with trailing zeros), one byte more is not.
  Bytes largest = Header(0, 0, 0, 0);
  largest.resize(kMaxMessageSize);
  Parse(largest);
  largest.push_back(0);
  EXPECT_NE(Error(largest).find("longer than 9000"), std::string::npos);
}

TEST(MdnsPacketTest, CountsThatCannotFitAreRefusedUpFront) {
  EXPECT_NE(Error(Header(65535, 0, 0, 0)).find("at offset 4"), std::string::npos);
  Error(Header(0, 65535, 0, 0));
  Error(Header(0, 0, 65535, 0));
  Error(Header(0, 0, 0, 65535));
  Error(Header(65535, 65535, 65535, 65535));
  // Even with a full 9000 bytes: 65535 records need more.
  Bytes big = Header(0, 65535, 0, 0);
  big.resize(kMaxMessageSize);
  EXPECT_NE(Error(big).find("need at least"), std::string::npos);
  // The minimum sizes are exact: 5 bytes per root question, 11 per record.
  Parse(Concat(Header(1, 0, 0, 0), {0, 0, 1, 0, 1}));
  Error(Concat(Header(1, 0, 0, 0), {0, 0, 1, 0}));
  Parse(Concat(Header(0, 1, 0, 0), {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0}));
  Error(Concat(Header(0, 1, 0, 0), {0, 0, 1, 0, 1, 0, 0, 0, 0, 0}));
}

TEST(MdnsPacketTest, SelfPointer) {
  // A question whose name is a pointer to itself, at offset 12.
  EXPECT_NE(Error(Concat(Header(1, 0, 0, 0), {0xC0, 12, 0, 1, 0, 1})).find("does not point before"),
            std::string::npos);
}

TEST(MdnsPacketTest, ForwardPointer) {
  // Points at a well-formed name that follows it.
  Bytes packet = Concat(Header(2, 0, 0, 0), {0xC0, 18, 0, 1, 0, 1, 1, 'a', 0, 0, 1, 0, 1});
  std::string error = Error(packet);
  EXPECT_NE(error.find("compression pointer to 18 does not point before its name (12)"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("at offset 12"), std::string::npos) << error;
}

TEST(MdnsPacketTest, PointerLoop) {
  // A TXT record's rdata hides two names that point at each other, A at 25
  // -> B at 29 -> A; the second record's name points into B. The parser
  // reads B, follows B's pointer back to A, and refuses A's pointer forward.
  Bytes packet =
      Concat(Header(0, 2, 0, 0), {
                                     1,    'r', 0,                           // 12: "r"
                                     0,    16,  0,    1,  0, 0, 0, 0,        // 15: TXT IN 0
                                     0,    8,                                // 23: rdlength
                                     1,    'a', 0xC0, 29,                    // 25: A
                                     1,    'b', 0xC0, 25,                    // 29: B
                                     0xC0, 29,                               // 33: -> B
                                     0,    1,   0,    1,  0, 0, 0, 0, 0, 0,  // A IN 0, no rdata
                                 });
  std::string error = Error(packet);
  EXPECT_NE(
      error.find("compression pointer to 29 does not point before its name (25) at offset 27"),
      std::string::npos)
      << error;
}

TEST(MdnsPacketTest, PointerIntoTheHeader) {
  EXPECT_NE(Error(Concat(Header(1, 0, 0, 0), {1, 'a', 0xC0, 4, 0, 1, 0, 1})).find("header"),
            std::string::npos);
}

TEST(MdnsPacketTest, PointerChainsAreBounded) {
  // A TXT rdata holding a root label and then a chain of bare pointers, each
  // to the one before; a second record's name points at the last of them.
  // kMaxPointerJumps jumps are fine, one more is not.
  for (int chain : {kMaxPointerJumps - 1, kMaxPointerJumps}) {
    Bytes rdata = {0};
    const size_t rdata_at = 12 + 3 + 10;  // after the header, "r" and the fixed fields
    for (int i = 0; i < chain; ++i) {
      size_t previous = rdata_at + (i == 0 ? 0 : 1 + 2 * static_cast<size_t>(i - 1));
      rdata.push_back(static_cast<uint8_t>(0xC0 | previous >> 8));
      rdata.push_back(static_cast<uint8_t>(previous));
    }
    Bytes packet = PacketBuilder().Raw({"r"}, kTypeTxt, 0, rdata).bytes();
    const size_t last = rdata_at + 1 + 2 * static_cast<size_t>(chain - 1);
    packet = Concat(packet, {static_cast<uint8_t>(0xC0 | last >> 8), static_cast<uint8_t>(last), 0,
                             1, 0, 1, 0, 0, 0, 0, 0, 0});
    packet[7] = 2;  // two answers
    // The name of record 2 is one jump to `last`, then chain - 1 more.
    if (chain + 1 <= kMaxPointerJumps) {
      Message m = Parse(packet);
      ASSERT_EQ(m.records.size(), 2U);
      EXPECT_TRUE(m.records[1].name.empty());
    } else {
      EXPECT_NE(Error(packet).find("too many compression pointers"), std::string::npos);
    }
  }
}

TEST(MdnsPacketTest, LabelLengths) {
  // 63 bytes is the longest label; a length byte of 64 is label type 0x40.
  Parse(Concat(Concat(Header(1, 0, 0, 0), Label(63)), {0, 0, 1, 0, 1}));
  std::string error = Error(Concat(Concat(Header(1, 0, 0, 0), Label(64)), {0, 0, 1, 0, 1}));
  EXPECT_NE(error.find("reserved label type 0x40 at offset 12"), std::string::npos) << error;
}

TEST(MdnsPacketTest, ReservedLabelTypes) {
  EXPECT_NE(Error(Concat(Header(1, 0, 0, 0), {0x41, 0, 0, 1, 0, 1})).find("0x40"),
            std::string::npos);
  EXPECT_NE(Error(Concat(Header(1, 0, 0, 0), {0x80, 0, 0, 1, 0, 1})).find("0x80"),
            std::string::npos);
  EXPECT_NE(Error(Concat(Header(1, 0, 0, 0), {1, 'a', 0xBF, 0, 0, 1, 0, 1})).find("0x80"),
            std::string::npos);
}

TEST(MdnsPacketTest, NamesLongerThan255BytesThroughPointers) {
  // Question 1: three 63-byte labels (193 bytes on the wire with the root).
  // Question 2: one label, then a pointer to question 1. 61 bytes make 255.
  for (size_t second : {61, 62}) {
    Bytes packet = Header(2, 0, 0, 0);
    for (int i = 0; i < 3; ++i) packet = Concat(packet, Label(63, static_cast<char>('a' + i)));
    packet = Concat(packet, {0, 0, 1, 0, 1});
    packet = Concat(packet, Label(second));
    packet = Concat(packet, {0xC0, 12, 0, 1, 0, 1});
    if (second == 61) {
      Parse(packet);
    } else {
      EXPECT_NE(Error(packet).find("name longer than 255 bytes"), std::string::npos);
    }
  }
}

TEST(MdnsPacketTest, RdlengthPastTheEnd) {
  Bytes packet = PacketBuilder().A({"h", "local"}, 120, {10, 0, 0, 1}).bytes();
  Parse(packet);
  packet[packet.size() - 5] = 5;  // rdlength 4 -> 5
  EXPECT_NE(Error(packet).find("rdata runs past the end"), std::string::npos);
  packet[packet.size() - 6] = 0xFF;
  packet[packet.size() - 5] = 0xFF;
  EXPECT_NE(Error(packet).find("rdata runs past the end"), std::string::npos);
}

TEST(MdnsPacketTest, NamesInRdataMustFitTheirRdlength) {
  // A PTR whose target ("abc", 5 bytes) is given an rdlength of 3, and the
  // packet goes on so that only the rdlength stops the read.
  Bytes ptr = PacketBuilder().Raw({"p"}, kTypePtr, 0, {3, 'a', 'b', 'c', 0}).bytes();
  Parse(ptr);
  Bytes short_ptr = ptr;
  short_ptr[short_ptr.size() - 6] = 3;
  EXPECT_NE(Error(short_ptr).find("runs past the end"), std::string::npos);
  // Bytes after the name, inside the rdata, are tolerated.
  Bytes padded = PacketBuilder().Raw({"p"}, kTypePtr, 0, {1, 'a', 0, 9, 9}).bytes();
  EXPECT_EQ(Parse(padded).records[0].target, Name{"a"});

  // SRV: the fixed fields and at least the root label.
  Error(PacketBuilder().Raw({"s"}, kTypeSrv, 0, {0, 0, 0, 0, 0, 80}).bytes());
  Message srv = Parse(PacketBuilder().Raw({"s"}, kTypeSrv, 0, {0, 0, 0, 0, 0, 80, 0}).bytes());
  EXPECT_EQ(srv.records[0].port, 80);
  EXPECT_TRUE(srv.records[0].target.empty());
  Bytes long_srv = PacketBuilder().Raw({"s"}, kTypeSrv, 0, {0, 0, 0, 0, 0, 80, 1, 'h', 0}).bytes();
  long_srv = Concat(long_srv, {0, 0, 0});
  long_srv[long_srv.size() - 3 - 9 - 1] = 8;  // the name's root byte falls outside
  EXPECT_NE(Error(long_srv).find("runs past the end"), std::string::npos);

  // A pointer's second byte outside the rdata.
  Bytes pointer = PacketBuilder().Raw({"p"}, kTypePtr, 0, {0xC0, 12}).bytes();
  EXPECT_EQ(Parse(pointer).records[0].target, Name{"p"});
  pointer[pointer.size() - 3] = 1;
  EXPECT_NE(Error(pointer).find("compression pointer runs past the end"), std::string::npos);
}

TEST(MdnsPacketTest, ErrorsSayWhere) {
  Bytes packet = Announcement("node-1", 0);
  packet.resize(packet.size() - 1);
  std::string error = Error(packet);
  EXPECT_EQ(error.rfind("mDNS message: ", 0), 0U) << error;
  EXPECT_NE(error.find(" at offset "), std::string::npos) << error;
}

}  // namespace
}  // namespace groupcache::discovery::mdns_internal
