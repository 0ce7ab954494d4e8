// The oracle of the server's short way through a request head
// (src/transport/request_head.h): whatever it accepts, Beast's request
// parser, which reads every other request, must read the same way. Used
// by the libFuzzer target request_head_fuzz and by the unit test
// request_head_test.

#ifndef GROUPCACHE_FUZZ_REQUEST_HEAD_ORACLE_H_
#define GROUPCACHE_FUZZ_REQUEST_HEAD_ORACLE_H_

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "request_head.h"

namespace groupcache::internal {

// Empty if the short way declines `data` or reads it as Beast does (as the
// server sets Beast up, with the same header limit); else what differs.
inline std::string DisagreementWithBeast(std::string_view data, size_t max_bytes) {
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

}  // namespace groupcache::internal

#endif  // GROUPCACHE_FUZZ_REQUEST_HEAD_ORACLE_H_
