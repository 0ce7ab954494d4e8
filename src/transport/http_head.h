// Short ways through HTTP heads. The server's, through a request head:
// most peer requests are a GET of one line and a few plain header fields,
// and Beast's general parser (its field table, an allocation per field, the
// target copied out of the read buffer) cost more than the rest of a cache
// hit. The client's, through a response head: a peer's answer is a status
// line, a Content-Length and a few plain fields, and Beast's parser (with
// the body copied out into a string of its own) was most of the client's
// work on a peer fetch.
//
// A short way accepts only what it can judge completely: a head that is
// all in the buffer, under the size limit, in the plainest form of HTTP/1.0
// or 1.1. Everything else (for a request a body or a Content-Length at all;
// for a response anything but one plain Content-Length, or a status that
// has no body; Transfer-Encoding, an odd character, a second Connection
// field, an incomplete head) it declines, and the caller hands the bytes to
// Beast as before, which then reads or refuses them as it always did. So
// the two must agree on what a short way accepts: where the head ends, the
// request line or status, version, keep-alive and the body's length.
// fuzz/request_head_fuzz.cc and fuzz/response_head_fuzz.cc hold the short
// ways to that against Beast's own parsers on arbitrary bytes.

#ifndef GROUPCACHE_SRC_TRANSPORT_HTTP_HEAD_H_
#define GROUPCACHE_SRC_TRANSPORT_HTTP_HEAD_H_

#include <cstddef>
#include <cstdint>
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

struct SimpleResponseHead {
  int status = 0;               // 200-599, except 204 and 304 (no body)
  int version = 11;             // 10 or 11
  bool keep_alive = true;       // as Beast's message::keep_alive() says
  uint64_t content_length = 0;  // the body's bytes, which follow the head
  size_t size = 0;              // bytes of the head, through its blank line
};

// The head at the start of `data` if it is simple (see above) and its size
// is under `max_bytes`; nullopt otherwise.
std::optional<SimpleResponseHead> ParseSimpleResponseHead(std::string_view data, size_t max_bytes);

}  // namespace groupcache::internal

#endif  // GROUPCACHE_SRC_TRANSPORT_HTTP_HEAD_H_
