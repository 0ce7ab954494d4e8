// The server's short way through a request head: most peer requests are a
// GET of one line and a few plain header fields, and Beast's general parser
// (its field table, an allocation per field, the target copied out of the
// read buffer) cost more than the rest of a cache hit.
//
// The short way accepts only what it can judge completely: a head that is
// all in the buffer, under the size limit, in the plainest form of HTTP/1.0
// or 1.1, without a body. Everything else (a body or a Content-Length at
// all, Transfer-Encoding, an odd character, a second Connection field, an
// incomplete head) it declines, and the caller hands the bytes to Beast as
// before, which then answers or refuses them as it always did. So the two
// must agree on what the short way accepts: where the head ends, method,
// target, version and keep-alive. fuzz/request_head_fuzz.cc holds the
// short way to that against Beast's own parser on arbitrary bytes.

#ifndef GROUPCACHE_SRC_TRANSPORT_REQUEST_HEAD_H_
#define GROUPCACHE_SRC_TRANSPORT_REQUEST_HEAD_H_

#include <cstddef>
#include <optional>
#include <string_view>

namespace groupcache::internal {

struct SimpleRequestHead {
  std::string_view method;  // e.g. "GET"; upper-case letters only
  std::string_view target;  // origin-form: starts with '/'
  int version = 11;         // 10 or 11
  bool keep_alive = true;   // as Beast's message::keep_alive() says
  size_t size = 0;          // bytes of the head, through its blank line
};

// The head at the start of `data` if it is simple (see above) and its size
// is under `max_bytes`; nullopt otherwise. The views point into `data`.
std::optional<SimpleRequestHead> ParseSimpleRequestHead(std::string_view data, size_t max_bytes);

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_REQUEST_HEAD_H_
