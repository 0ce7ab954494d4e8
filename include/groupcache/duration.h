// Durations as users write them: Go's syntax, one parser for the daemon's
// flags, the discovery config, the client API's ?ttl= and ?timeout=, and
// the CLI's --ttl.

#ifndef GROUPCACHE_DURATION_H_
#define GROUPCACHE_DURATION_H_

#include <chrono>
#include <string>
#include <string_view>

#include "groupcache/status.h"

namespace groupcache {

using Duration = std::chrono::nanoseconds;

// Go's time.ParseDuration: a sequence of decimal numbers, each with an
// optional fraction and a unit ("ns", "us", "µs", "ms", "s", "m", "h"),
// optionally signed: "1s", "500ms", "1m30s", "1.5h"; "0" needs no unit.
// Errors: InvalidArgument quoting the text (also beyond int64 nanoseconds).
Result<Duration> ParseDuration(std::string_view text);

// The longest TTL or timeout ParseTtl accepts: 100 years, so that now plus
// it still fits a Time (int64 nanoseconds since 1970 end in 2262).
inline constexpr Duration kMaxTtl = std::chrono::hours(24 * 365 * 100);

// A TTL or timeout given by a user: ParseDuration, then above zero and at
// most kMaxTtl. Errors: InvalidArgument quoting the text.
Result<Duration> ParseTtl(std::string_view text);

// Formats a duration the way Go prints one ("1.5s", "200ms", "1m0s"), for
// log lines and error messages.
std::string FormatDuration(Duration d);

}  // namespace groupcache

#endif  // GROUPCACHE_DURATION_H_
