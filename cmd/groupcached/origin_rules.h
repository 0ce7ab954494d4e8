// The rules of the http: loader without any I/O: what an origin URL
// template means, how a key becomes part of a request target, and how long
// an origin's response may be cached. Pure functions and a value type, so
// the tests need neither a server nor a clock.
//
// Example:
//   auto t = ParseOriginTemplate("https://origin.internal/images/{key}");
//   if (!t.ok()) return t.status();
//   auto target = t->Target("cats/tom & jerry.png");  // "/images/cats/tom%20%26%20jerry.png"
//   Time expire = OriginExpiry({.cache_control = "max-age=60"}, WallClock::now(), {});

#ifndef GROUPCACHE_CMD_GROUPCACHED_ORIGIN_RULES_H_
#define GROUPCACHE_CMD_GROUPCACHED_ORIGIN_RULES_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "groupcache/byte_view.h"
#include "groupcache/status.h"

namespace groupcache::daemon {

// An origin URL template: http[s]://HOST[:PORT]/PATH with exactly one
// "{key}" in its path or query. A value type.
struct OriginTemplate {
  bool tls = false;
  std::string host;  // a DNS name or an IP address, without brackets
  std::string port;  // decimal; 80 or 443 unless given
  // The Host header: HOST[:PORT], the port only if given (IPv6 in brackets).
  std::string authority;
  // The request target is prefix + EscapeKeyPath(key) + suffix.
  std::string prefix;
  std::string suffix;

  // The request target for `key`. Errors: InvalidArgument if the key is
  // empty or has a "." or ".." segment (an origin would resolve it against
  // the template's path, so a key could reach outside it).
  Result<std::string> Target(std::string_view key) const;
  // scheme://authority + target, for error messages.
  std::string Url(std::string_view target) const;
};

// Errors: InvalidArgument naming what is wrong: not http:// or https://, no
// host, a bad port, user info, a fragment, or not exactly one {key} (or one
// outside the path).
Result<OriginTemplate> ParseOriginTemplate(std::string_view text);

// Percent-encodes every byte outside RFC 3986's unreserved set
// (ALPHA DIGIT - . _ ~) and '/': a key's '/' separates sub-paths on the
// origin, as in the dir: loader. '%' itself is encoded, so a key is never
// decoded twice.
std::string EscapeKeyPath(std::string_view key);

// The response headers that decide an expiry (empty: absent).
struct OriginCacheHeaders {
  std::string_view cache_control;
  std::string_view expires;
  std::string_view date;
  std::string_view age;
};

// When a response received at `now` stops being fresh for a shared cache
// (RFC 9111):
//   - Cache-Control no-store, no-cache or private: `now`. The value answers
//     the load that fetched it but is never cached (a group does not cache
//     an already expired value). We cannot revalidate, so no-cache is
//     treated as no-store.
//   - s-maxage=N, else max-age=N: now + N - Age. An unparsable value is
//     treated as 0 (RFC 9111 4.2.1: invalid freshness means stale).
//   - else Expires, as an offset from Date when Date is present (so that
//     the origin's clock does not matter), else as an absolute time; an
//     invalid Expires (e.g. "0") means already expired.
//   - else `default_ttl` from now, or kNoExpiry if it is zero.
Time OriginExpiry(const OriginCacheHeaders& headers, Time now,
                  std::chrono::milliseconds default_ttl);

// An HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms),
// or nullopt.
std::optional<Time> ParseHttpDate(std::string_view text);

}  // namespace groupcache::daemon

#endif  // GROUPCACHE_CMD_GROUPCACHED_ORIGIN_RULES_H_
