#include "origin_rules.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>

#include "groupcache/duration.h"

namespace groupcache::daemon {
namespace {

constexpr std::string_view kKey = "{key}";

Status BadTemplate(std::string_view text, const std::string& what) {
  return InvalidArgumentError("--loader http: '" + std::string(text) + "' " + what +
                              " (want http[s]://HOST[:PORT]/PATH with one {key})");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// RFC 9111 1.2.2: delta-seconds; a value past 2^31 means 2^31. nullopt if
// not all digits.
std::optional<int64_t> DeltaSeconds(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);  // tolerated, though not in the grammar
  }
  if (text.empty()) return std::nullopt;
  constexpr int64_t kMax = int64_t{1} << 31;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = std::min(kMax, v * 10 + (c - '0'));
  }
  return v;
}

// What Cache-Control says for a shared cache.
struct Directives {
  bool uncacheable = false;  // no-store, no-cache or private
  std::optional<int64_t> max_age;
  std::optional<int64_t> s_maxage;
};

Directives ParseCacheControl(std::string_view header) {
  Directives d;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = Trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    size_t eq = item.find('=');
    std::string_view name = Trim(item.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? "" : Trim(item.substr(eq + 1));
    if (EqualsIgnoreCase(name, "no-store") || EqualsIgnoreCase(name, "no-cache") ||
        EqualsIgnoreCase(name, "private")) {
      d.uncacheable = true;
    } else if (EqualsIgnoreCase(name, "max-age")) {
      d.max_age = DeltaSeconds(value).value_or(0);
    } else if (EqualsIgnoreCase(name, "s-maxage")) {
      d.s_maxage = DeltaSeconds(value).value_or(0);
    }
  }
  return d;
}

}  // namespace

std::string EscapeKeyPath(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    auto b = static_cast<unsigned char>(c);
    if (std::isalnum(b) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out;
}

Result<std::string> OriginTemplate::Target(std::string_view key) const {
  if (key.empty()) return InvalidArgumentError("empty key");
  std::string_view rest = key;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment == "." || segment == "..") {
      return InvalidArgumentError("key has a '" + std::string(segment) + "' segment");
    }
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return prefix + EscapeKeyPath(key) + suffix;
}

std::string OriginTemplate::Url(std::string_view target) const {
  return (tls ? "https://" : "http://") + authority + std::string(target);
}

Result<OriginTemplate> ParseOriginTemplate(std::string_view text) {
  OriginTemplate t;
  std::string_view rest;
  if (text.substr(0, 7) == "http://") {
    rest = text.substr(7);
  } else if (text.substr(0, 8) == "https://") {
    t.tls = true;
    rest = text.substr(8);
  } else {
    return BadTemplate(text, "is not an http:// or https:// URL");
  }
  if (std::any_of(text.begin(), text.end(), [](char c) {
        auto b = static_cast<unsigned char>(c);
        return b <= 0x20 || b == 0x7f;
      })) {
    return BadTemplate(text, "holds a space or a control character");
  }
  if (text.find('#') != std::string_view::npos) return BadTemplate(text, "has a fragment");
  size_t path_start = std::min(rest.find('/'), rest.find('?'));
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (authority.find(kKey) != std::string_view::npos) {
    return BadTemplate(text, "has {key} in the host; it must be in the path");
  }
  if (authority.find('@') != std::string_view::npos) return BadTemplate(text, "has user info");
  std::string_view host = authority;
  std::string_view port;
  if (host.substr(0, 1) == "[") {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return BadTemplate(text, "has an unclosed '['");
    std::string_view after = host.substr(close + 1);
    host = host.substr(1, close - 1);
    if (!after.empty()) {
      if (after[0] != ':') return BadTemplate(text, "has junk after the IPv6 address");
      port = after.substr(1);
    }
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.empty()) return BadTemplate(text, "has no host");
  if (port.data() != nullptr) {
    bool digits =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
      return BadTemplate(text, "has a bad port '" + std::string(port) + "'");
    }
  }
  size_t key_at = path.find(kKey);
  if (key_at == std::string_view::npos) return BadTemplate(text, "has no {key}");
  if (path.find(kKey, key_at + 1) != std::string_view::npos) {
    return BadTemplate(text, "has more than one {key}");
  }
  t.host = std::string(host);
  t.port = port.empty() ? (t.tls ? "443" : "80") : std::string(port);
  t.authority = std::string(authority);
  t.prefix = path[0] == '/' ? "" : "/";  // "http://h?k={key}" asks for "/?k=..."
  t.prefix += std::string(path.substr(0, key_at));
  t.suffix = std::string(path.substr(key_at + kKey.size()));
  return t;
}

std::optional<Time> ParseHttpDate(std::string_view text) {
  // RFC 9110 5.6.7: IMF-fixdate, and the obsolete forms a recipient must
  // still accept. strptime matches names in the C locale, as HTTP wants.
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // Sun, 06 Nov 1994 08:49:37 GMT
      "%A, %d-%b-%y %H:%M:%S GMT",  // Sunday, 06-Nov-94 08:49:37 GMT
      "%a %b %e %H:%M:%S %Y",       // Sun Nov  6 08:49:37 1994
  };
  std::string s(Trim(text));
  for (const char* format : kFormats) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') {
      // Years up to 9999 parse; beyond 2262 the clock's nanoseconds would
      // wrap. Such a date is "far ahead" (or behind): half the range.
      constexpr std::time_t kFar =
          std::chrono::duration_cast<std::chrono::seconds>(WallClock::duration::max()).count() / 2;
      return WallClock::from_time_t(std::clamp<std::time_t>(timegm(&tm), -kFar, kFar));
    }
  }
  return std::nullopt;
}

Time OriginExpiry(const OriginCacheHeaders& headers, Time now,
                  std::chrono::milliseconds default_ttl) {
  using std::chrono::seconds;
  // Never before `now`: an expiry in the past (or at the epoch, which is
  // kNoExpiry) must still read as "already expired". Never past kMaxTtl
  // (as a Set's TTL): a far date must not wrap the clock.
  auto at_least_now = [now](Time t) { return std::clamp(t, now, now + kMaxTtl); };
  Directives d = ParseCacheControl(headers.cache_control);
  if (d.uncacheable) return now;
  if (std::optional<int64_t> lifetime = d.s_maxage ? d.s_maxage : d.max_age) {
    int64_t age = DeltaSeconds(Trim(headers.age)).value_or(0);
    return at_least_now(now + seconds(*lifetime - age));
  }
  if (!headers.expires.empty()) {
    std::optional<Time> expires = ParseHttpDate(headers.expires);
    if (!expires) return now;
    std::optional<Time> date = ParseHttpDate(headers.date);
    if (!date) return at_least_now(*expires);
    // Both dates are within half the clock's range, so their difference
    // fits; added to now it might not.
    const WallClock::duration lifetime =
        std::clamp<WallClock::duration>(*expires - *date, -kMaxTtl, kMaxTtl);
    return at_least_now(now + lifetime);
  }
  if (default_ttl > std::chrono::milliseconds::zero()) {
    return now + std::min<WallClock::duration>(default_ttl, kMaxTtl);
  }
  return kNoExpiry;
}

}  // namespace groupcache::daemon
