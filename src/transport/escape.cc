#include "escape.h"

namespace groupcache::internal {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";

bool Unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

// Go's shouldEscape for encodePathSegment: of the reserved characters only
// '/', ';', ',' and '?' are escaped.
bool KeptInPathSegment(unsigned char c) {
  return Unreserved(c) || c == '$' || c == '&' || c == '+' || c == ':' || c == '=' || c == '@';
}

void AppendEscaped(std::string& out, unsigned char c) {
  out.push_back('%');
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 15]);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Kept characters are copied in runs, not one by one: most keys have
// nothing to escape.
template <typename Kept>
std::string Escape(std::string_view s, Kept kept, bool space_as_plus) {
  std::string out;
  out.reserve(s.size());
  size_t from = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (kept(c)) continue;
    out.append(s.data() + from, i - from);
    if (c == ' ' && space_as_plus) {
      out.push_back('+');
    } else {
      AppendEscaped(out, c);
    }
    from = i + 1;
  }
  out.append(s.data() + from, s.size() - from);
  return out;
}

}  // namespace

std::string PathEscape(std::string_view s) { return Escape(s, KeptInPathSegment, false); }

std::string QueryEscape(std::string_view s) { return Escape(s, Unreserved, true); }

std::optional<std::string> PercentDecode(std::string_view s) {
  std::string out;
  std::optional<std::string_view> decoded = PercentDecodeView(s, &out);
  if (!decoded) return std::nullopt;
  // With an escape the result is `out` itself: hand it over, not a copy.
  if (decoded->data() == out.data()) return out;
  return std::string(*decoded);
}

std::optional<std::string_view> PercentDecodeView(std::string_view s, std::string* storage) {
  size_t pct = s.find('%');
  if (pct == std::string_view::npos) return s;
  storage->clear();
  storage->reserve(s.size());
  size_t from = 0;
  // Runs without an escape are copied whole; each escape is one byte.
  while (pct != std::string_view::npos) {
    if (pct + 2 >= s.size()) return std::nullopt;
    int hi = HexValue(s[pct + 1]);
    int lo = HexValue(s[pct + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    storage->append(s.data() + from, pct - from);
    storage->push_back(static_cast<char>(hi * 16 + lo));
    from = pct + 3;
    pct = s.find('%', from);
  }
  storage->append(s.data() + from, s.size() - from);
  return std::string_view(*storage);
}

}  // namespace groupcache::internal
