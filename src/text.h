// Small text helpers the core, the transport and the discovery providers
// share, so that an error message quotes a value, and a list item or a
// header value is trimmed, the same way everywhere.

#ifndef GROUPCACHE_SRC_TEXT_H_
#define GROUPCACHE_SRC_TEXT_H_

#include <string>
#include <string_view>

namespace groupcache::internal {

// "text", for error messages (no escaping: the values quoted are names,
// URLs and durations as the user wrote them).
inline std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Without leading and trailing spaces and tabs: HTTP's optional white
// space (RFC 9110 OWS) and the blanks around a comma-separated item.
inline std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Without leading and trailing white space, line ends included: a value
// read from a file (a token, a namespace) or an error body ended by "\n".
inline std::string_view TrimSpace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TEXT_H_
