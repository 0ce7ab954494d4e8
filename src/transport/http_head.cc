#include "http_head.h"

#include <algorithm>
#include <array>

#include "../text.h"

namespace groupcache::internal {
namespace {

constexpr std::string_view kCrlf = "\r\n";

using CharClass = std::array<bool, 256>;

// Letters, digits and `extra`.
constexpr CharClass AlnumAnd(std::string_view extra) {
  CharClass t{};
  for (int c = 0; c < 256; ++c) {
    t[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  }
  for (char c : extra) t[static_cast<unsigned char>(c)] = true;
  return t;
}

// The characters from `first` to `last`.
constexpr CharClass Range(int first, int last) {
  CharClass t{};
  for (int c = first; c <= last; ++c) t[c] = true;
  return t;
}

// A method: upper-case letters (every method the server knows).
constexpr CharClass kUpperCase = Range('A', 'Z');
constexpr CharClass kDigits = Range('0', '9');
// RFC 9110 §5.6.2 tchar.
constexpr CharClass kTokenChars = AlnumAnd("!#$%&'*+-.^_`|~");
// RFC 3986's path and query characters (unreserved, sub-delims, ':', '@',
// '/', '?', and the '%' of an escape). Stricter than HTTP requires: a
// target with anything else goes the long way.
constexpr CharClass kTargetChars = AlnumAnd("-._~!$&'()*+,;=:@/?%");
// A field value's characters: visible ASCII, space and tab. obs-text and
// every other control go the long way.
constexpr CharClass kPlainValueChars = [] {
  CharClass t{};
  for (int c = 0x21; c <= 0x7e; ++c) t[c] = true;
  t[' '] = t['\t'] = true;
  return t;
}();

bool AllOf(std::string_view s, const CharClass& chars) {
  return std::all_of(s.begin(), s.end(),
                     [&chars](char c) { return chars[static_cast<unsigned char>(c)]; });
}

// ASCII case-insensitive equality with a lower-case literal.
bool IEquals(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// A Connection value that is a plain token list (token *(OWS "," OWS
// token)): whether it names "close" and "keep-alive". False if it is not
// such a list.
bool ReadConnection(std::string_view value, bool* close, bool* keep_alive) {
  while (true) {
    size_t comma = value.find(',');
    std::string_view token = TrimBlanks(value.substr(0, comma));
    if (token.empty() || !AllOf(token, kTokenChars)) return false;
    if (IEquals(token, "close")) *close = true;
    if (IEquals(token, "keep-alive")) *keep_alive = true;
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

// The bytes of a head, read front to back, up to a bound: the size limit
// or the data's end, whichever comes first.
class Cursor {
 public:
  Cursor(std::string_view data, size_t max_bytes)
      // A head that ends past here is at or over the limit (or not all in).
      : begin_(data.data()),
        p_(data.data()),
        end_(data.data() + std::min(data.size(), max_bytes > 0 ? max_bytes - 1 : 0)) {}

  // The longest run of `chars` from here.
  std::string_view Span(const CharClass& chars) {
    const char* from = p_;
    while (p_ != end_ && chars[static_cast<unsigned char>(*p_)]) ++p_;
    return {from, static_cast<size_t>(p_ - from)};
  }
  // Steps over `s` if it comes next.
  bool Take(std::string_view s) {
    if (static_cast<size_t>(end_ - p_) < s.size() || std::string_view(p_, s.size()) != s) {
      return false;
    }
    p_ += s.size();
    return true;
  }
  size_t consumed() const { return static_cast<size_t>(p_ - begin_); }

 private:
  const char* begin_;
  const char* p_;
  const char* end_;
};

// What the field lines of a head said, as far as a short way cares.
struct Fields {
  bool close = false;       // Connection names "close"
  bool keep_alive = false;  // Connection names "keep-alive"
  std::optional<uint64_t> content_length;
};

// The longest Content-Length taken: 19 digits cannot overflow 64 bits.
constexpr size_t kMaxLengthDigits = 19;

// The field lines and the blank line that ends them. False (decline) for
// anything not plain: Transfer-Encoding, a second Connection field, a
// Content-Length unless `content_length` allows one (then only a single
// plain decimal one). Inlined into both callers: a call takes the cursor's
// address, which keeps its position in memory instead of a register for
// the whole parse, and a peer GET's head took a hundred instructions more
// (a fifth of its parse).
[[gnu::always_inline]] inline bool ReadFields(Cursor& c, bool content_length, Fields* f) {
  // field-line = field-name ":" OWS field-value OWS CRLF; a blank line ends
  bool connection_seen = false;
  while (!c.Take(kCrlf)) {
    std::string_view name = c.Span(kTokenChars);
    if (name.empty() || !c.Take(":")) return false;
    std::string_view value = c.Span(kPlainValueChars);
    if (!c.Take(kCrlf)) return false;
    if (IEquals(name, "transfer-encoding")) return false;
    if (IEquals(name, "content-length")) {
      if (!content_length || f->content_length) return false;
      std::string_view digits = TrimBlanks(value);
      if (digits.empty() || digits.size() > kMaxLengthDigits || !AllOf(digits, kDigits)) {
        return false;
      }
      uint64_t n = 0;
      for (char d : digits) n = n * 10 + static_cast<uint64_t>(d - '0');
      f->content_length = n;
    } else if (IEquals(name, "connection")) {
      // Beast's keep_alive() reads the first Connection field only.
      if (connection_seen) return false;
      connection_seen = true;
      if (!ReadConnection(value, &f->close, &f->keep_alive)) return false;
    }
  }
  return true;
}

// "HTTP/1.1" or "HTTP/1.0" followed by `then`: 11, 10, or 0 for neither.
// Inlined, as ReadFields.
[[gnu::always_inline]] inline int ReadVersion(Cursor& c, std::string_view then) {
  int version = 0;
  if (c.Take("HTTP/1.1")) {
    version = 11;
  } else if (c.Take("HTTP/1.0")) {
    version = 10;
  }
  return version != 0 && c.Take(then) ? version : 0;
}

bool KeepAlive(int version, const Fields& f) { return version == 11 ? !f.close : f.keep_alive; }

}  // namespace

// One pass over the bytes, each looked up in its class's table: the head
// of a peer GET is some 60 bytes, and searching it for line ends first and
// then checking each part cost twice as much.
std::optional<SimpleRequestHead> ParseSimpleRequestHead(std::string_view data, size_t max_bytes) {
  Cursor c(data, max_bytes);
  // request-line = method SP request-target SP HTTP-version CRLF
  SimpleRequestHead r;
  r.method = c.Span(kUpperCase);
  if (r.method.empty() || !c.Take(" ")) return std::nullopt;
  r.target = c.Span(kTargetChars);
  if (r.target.empty() || r.target.front() != '/' || !c.Take(" ")) return std::nullopt;
  r.version = ReadVersion(c, kCrlf);
  if (r.version == 0) return std::nullopt;
  // A body of any length, even a declared empty one, goes the long way.
  Fields f;
  if (!ReadFields(c, /*content_length=*/false, &f)) return std::nullopt;
  r.size = c.consumed();
  r.keep_alive = KeepAlive(r.version, f);
  return r;
}

std::optional<SimpleResponseHead> ParseSimpleResponseHead(std::string_view data, size_t max_bytes) {
  Cursor c(data, max_bytes);
  // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] CRLF
  SimpleResponseHead r;
  r.version = ReadVersion(c, " ");
  if (r.version == 0) return std::nullopt;
  std::string_view code = c.Span(kDigits);
  if (code.size() != 3 || !c.Take(" ")) return std::nullopt;
  r.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  // 1xx, 204 and 304 have no body whatever the fields say.
  if (r.status < 200 || r.status > 599 || r.status == 204 || r.status == 304) return std::nullopt;
  c.Span(kPlainValueChars);  // the reason phrase, which nothing reads
  if (!c.Take(kCrlf)) return std::nullopt;
  // Without a Content-Length the body would run to the connection's end.
  Fields f;
  if (!ReadFields(c, /*content_length=*/true, &f) || !f.content_length) return std::nullopt;
  r.content_length = *f.content_length;
  r.size = c.consumed();
  r.keep_alive = KeepAlive(r.version, f);
  return r;
}

}  // namespace groupcache::internal
