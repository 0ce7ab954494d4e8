// The oracles of the short ways through request and response heads
// (src/transport/http_head.h): whatever a short way accepts, Beast's
// parser, which reads every other head, must read the same way. Used by
// the libFuzzer targets request_head_fuzz and response_head_fuzz and by the
// unit test http_head_test.

#ifndef GROUPCACHE_FUZZ_HTTP_HEAD_ORACLE_H_
#define GROUPCACHE_FUZZ_HTTP_HEAD_ORACLE_H_

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "http_head.h"

namespace groupcache::internal {

// Empty if the short way declines `data` or reads it as Beast does (as the
// server sets Beast up, with the same header limit); else what differs.
inline std::string RequestDisagreementWithBeast(std::string_view data, size_t max_bytes) {
  namespace http = boost::beast::http;
  std::optional<SimpleRequestHead> simple = ParseSimpleRequestHead(data, max_bytes);
  if (!simple) return {};  // declining is always safe: Beast reads it
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(max_bytes));
  parser.body_limit(1 << 20);
  boost::beast::error_code ec;
  size_t used = parser.put(boost::asio::buffer(data.data(), data.size()), ec);
  if (ec) return "Beast refuses what the short way accepts: " + ec.message();
  if (!parser.is_done()) return "Beast expects a body or more header";
  if (used != simple->size) {
    return "head size " + std::to_string(simple->size) + ", Beast's " + std::to_string(used);
  }
  const auto& m = parser.get();
  if (std::string_view(m.method_string()) != simple->method) return "method differs";
  if (std::string_view(m.target()) != simple->target) return "target differs";
  if (static_cast<int>(m.version()) != simple->version) return "version differs";
  if (m.keep_alive() != simple->keep_alive) return "keep-alive differs";
  return {};
}

// The same for a response head, as the client sets Beast up (its body
// limit aside: the client checks the accepted length against it itself).
inline std::string ResponseDisagreementWithBeast(std::string_view data, size_t max_bytes) {
  namespace http = boost::beast::http;
  std::optional<SimpleResponseHead> simple = ParseSimpleResponseHead(data, max_bytes);
  if (!simple) return {};
  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(max_bytes));
  parser.body_limit(boost::none);
  boost::beast::error_code ec;
  // Not eager: the parser stops at the end of the head.
  size_t used = parser.put(boost::asio::buffer(data.data(), data.size()), ec);
  if (ec && ec != http::error::need_more) {
    return "Beast refuses what the short way accepts: " + ec.message();
  }
  if (!parser.is_header_done()) return "Beast expects more header";
  if (used != simple->size) {
    return "head size " + std::to_string(simple->size) + ", Beast's " + std::to_string(used);
  }
  const auto& m = parser.get();
  if (m.result_int() != static_cast<unsigned>(simple->status)) return "status differs";
  if (static_cast<int>(m.version()) != simple->version) return "version differs";
  if (m.keep_alive() != simple->keep_alive) return "keep-alive differs";
  if (parser.chunked()) return "Beast reads a chunked body";
  if (parser.content_length() != simple->content_length) return "content length differs";
  return {};
}

}  // namespace groupcache::internal

#endif  // GROUPCACHE_FUZZ_HTTP_HEAD_ORACLE_H_
