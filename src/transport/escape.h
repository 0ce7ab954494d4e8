// URL escaping exactly as Go's net/url does it, for the peer protocol's
// paths (which must match what Go nodes send and expect byte for byte).

#ifndef GROUPCACHE_SRC_TRANSPORT_ESCAPE_H_
#define GROUPCACHE_SRC_TRANSPORT_ESCAPE_H_

#include <optional>
#include <string>
#include <string_view>

namespace groupcache::internal {

// url.PathEscape: keeps A-Za-z0-9 -_.~ $&+:=@; escapes the rest as %XX
// (space as %20, '/' as %2F).
std::string PathEscape(std::string_view s);

// url.QueryEscape: keeps A-Za-z0-9 -_.~; space becomes '+'; the rest %XX.
std::string QueryEscape(std::string_view s);

// Decodes %XX escapes (and only them: '+' stays '+'), as Go's server does
// for request paths. nullopt for a malformed escape.
std::optional<std::string> PercentDecode(std::string_view s);

// PercentDecode without a copy where there is nothing to decode (the
// common case of a peer request): the decoded text is `s` itself, or else
// lives in *storage, which it overwrites.
std::optional<std::string_view> PercentDecodeView(std::string_view s, std::string* storage);

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_ESCAPE_H_
