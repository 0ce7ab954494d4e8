#include "groupcache/duration.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>

#include "text.h"

namespace groupcache {

using internal::Quote;
Result<Duration> ParseDuration(std::string_view text) {
  // Go's time.ParseDuration, accumulated in long double nanoseconds so that
  // "1.5h" and "0.1s" come out exact enough, then range-checked.
  auto bad = [&] {
    return InvalidArgumentError("bad duration " + Quote(text) +
                                " (want e.g. \"500ms\", \"2s\", \"1m30s\")");
  };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return bad();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    std::string_view number = s.substr(0, i);
    if (number.empty() || number == "." || number.find('.') != number.rfind('.')) return bad();
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && !((s[u] >= '0' && s[u] <= '9') || s[u] == '.')) ++u;
    std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    long double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {  // µs, μs
      scale = 1e3L;
    } else if (unit == "ms") {
      scale = 1e6L;
    } else if (unit == "s") {
      scale = 1e9L;
    } else if (unit == "m") {
      scale = 60e9L;
    } else if (unit == "h") {
      scale = 3600e9L;
    } else {
      return bad();
    }
    std::string digits(number);
    char* end = nullptr;
    errno = 0;
    long double value = std::strtold(digits.c_str(), &end);
    if (errno != 0 || end != digits.c_str() + digits.size()) return bad();
    total += value * scale;
  }
  if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) return bad();
  auto nanos = static_cast<int64_t>(std::llround(total));
  return Duration(negative ? -nanos : nanos);
}

Result<Duration> ParseTtl(std::string_view text) {
  Result<Duration> d = ParseDuration(text);
  if (!d.ok()) return d;
  if (*d <= Duration::zero() || *d > kMaxTtl) {
    return InvalidArgumentError("duration " + Quote(text) +
                                " is out of range (want above 0 and at most 100 years)");
  }
  return d;
}

std::string FormatDuration(Duration d) {
  // Go's Duration.String, simplified: sub-second values in the largest unit
  // that keeps them >= 1, longer ones as [h][m]s with a decimal fraction.
  int64_t ns = d.count();
  std::string sign = ns < 0 ? "-" : "";
  // The magnitude as unsigned, so that INT64_MIN does not overflow.
  uint64_t u = ns < 0 ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  if (u == 0) return "0s";
  auto fraction = [](uint64_t whole, uint64_t rest, uint64_t unit) {
    std::string out = std::to_string(whole);
    if (rest == 0) return out;
    std::string digits = std::to_string(unit + rest).substr(1);  // zero-padded
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    return out + "." + digits;
  };
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + fraction(u / 1000, u % 1000, 1000) + "us";
  if (u < 1000000000) return sign + fraction(u / 1000000, u % 1000000, 1000000) + "ms";
  uint64_t seconds = u / 1000000000;
  std::string s = fraction(seconds % 60, u % 1000000000, 1000000000) + "s";
  uint64_t minutes = seconds / 60;
  if (minutes == 0) return sign + s;
  s = std::to_string(minutes % 60) + "m" + s;
  uint64_t hours = minutes / 60;
  if (hours == 0) return sign + s;
  return sign + std::to_string(hours) + "h" + s;
}

}  // namespace groupcache
