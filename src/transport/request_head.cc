#include "request_head.h"

#include <algorithm>
#include <array>

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

// A method: upper-case letters (every method the server knows).
constexpr CharClass kUpperCase = [] {
  CharClass t{};
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  return t;
}();
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

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A Connection value that is a plain token list (token *(OWS "," OWS
// token)): whether it names "close" and "keep-alive". False if it is not
// such a list.
bool ReadConnection(std::string_view value, bool* close, bool* keep_alive) {
  while (true) {
    size_t comma = value.find(',');
    std::string_view token = TrimOws(value.substr(0, comma));
    if (token.empty() || !AllOf(token, kTokenChars)) return false;
    if (IEquals(token, "close")) *close = true;
    if (IEquals(token, "keep-alive")) *keep_alive = true;
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

// One pass over the bytes, each looked up in its class's table: the head
// of a peer GET is some 60 bytes, and searching it for line ends first and
// then checking each part cost twice as much.
std::optional<SimpleRequestHead> ParseSimpleRequestHead(std::string_view data, size_t max_bytes) {
  // A head that ends past here is at or over the limit (or not all in).
  const char* const end = data.data() + std::min(data.size(), max_bytes > 0 ? max_bytes - 1 : 0);
  const char* p = data.data();
  // The longest run of `chars` from p, stopping at `end`.
  auto span = [&p, end](const CharClass& chars) {
    const char* from = p;
    while (p != end && chars[static_cast<unsigned char>(*p)]) ++p;
    return std::string_view(from, static_cast<size_t>(p - from));
  };
  auto take = [&p, end](std::string_view s) {
    if (static_cast<size_t>(end - p) < s.size() || std::string_view(p, s.size()) != s) return false;
    p += s.size();
    return true;
  };

  // request-line = method SP request-target SP HTTP-version CRLF
  SimpleRequestHead r;
  r.method = span(kUpperCase);
  if (r.method.empty() || !take(" ")) return std::nullopt;
  r.target = span(kTargetChars);
  if (r.target.empty() || r.target.front() != '/' || !take(" ")) return std::nullopt;
  if (take("HTTP/1.1\r\n")) {
    r.version = 11;
  } else if (take("HTTP/1.0\r\n")) {
    r.version = 10;
  } else {
    return std::nullopt;
  }

  // field-line = field-name ":" OWS field-value OWS CRLF; a blank line ends
  bool connection_seen = false;
  bool close = false;
  bool keep_alive = false;
  while (!take(kCrlf)) {
    std::string_view name = span(kTokenChars);
    if (name.empty() || !take(":")) return std::nullopt;
    std::string_view value = span(kPlainValueChars);
    if (!take(kCrlf)) return std::nullopt;
    // A body of any length, even a declared empty one, goes the long way.
    if (IEquals(name, "content-length") || IEquals(name, "transfer-encoding")) return std::nullopt;
    if (IEquals(name, "connection")) {
      // Beast's keep_alive() reads the first Connection field only.
      if (connection_seen) return std::nullopt;
      connection_seen = true;
      if (!ReadConnection(value, &close, &keep_alive)) return std::nullopt;
    }
  }
  r.size = static_cast<size_t>(p - data.data());
  r.keep_alive = r.version == 11 ? !close : keep_alive;
  return r;
}

}  // namespace groupcache::internal
