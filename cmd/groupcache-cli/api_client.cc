#include "api_client.h"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <functional>
#include <string_view>

#include "bounded_resolve.h"

namespace groupcache::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Runs one asynchronous operation to completion on `io` (the streams'
// deadlines apply only to asynchronous operations).
class Runner {
 public:
  explicit Runner(asio::io_context& io) : io_(io) {}
  template <typename Start>
  beast::error_code Run(Start&& start) {
    beast::error_code ec;
    start([&ec](beast::error_code e, auto&&...) { ec = e; });
    io_.restart();
    io_.run();
    return ec;
  }

 private:
  asio::io_context& io_;
};

template <typename Stream>
Result<ApiResponse> Exchange(Runner& runner, Stream& stream, const std::string& method,
                             const std::string& authority, const std::string& target,
                             const std::string& body) {
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, authority);
  request.set(http::field::user_agent, "groupcache-cli");
  if (method == "PUT") {
    request.body() = body;
    request.prepare_payload();
  }
  if (beast::error_code ec =
          runner.Run([&](auto handler) { http::async_write(stream, request, handler); })) {
    return UnavailableError("sending to " + authority + ": " + ec.message());
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{1} << 32);
  if (method == "HEAD") parser.skip(true);
  if (beast::error_code ec =
          runner.Run([&](auto handler) { http::async_read(stream, buffer, parser, handler); })) {
    return UnavailableError("reading from " + authority + ": " + ec.message());
  }
  ApiResponse response;
  response.status = static_cast<int>(parser.get().result_int());
  response.body = std::move(parser.get().body());
  response.source = std::string(parser.get()["X-Groupcache-Source"]);
  return response;
}

}  // namespace

std::string EscapeKey(const std::string& key) {
  std::string out;
  for (unsigned char c : key) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::array<char, 4> hex{};
      std::snprintf(hex.data(), hex.size(), "%%%02X", c);
      out += hex.data();
    }
  }
  return out;
}

Result<ApiResponse> ApiRequest(const std::string& method, const std::string& node,
                               const std::string& target, const std::string& body,
                               const ClientTlsOptions& tls_options,
                               std::chrono::milliseconds timeout) {
  // The whole exchange, the lookup of the node's name included.
  const Clock::time_point deadline = Clock::now() + timeout;
  std::string_view rest = node;
  bool tls = false;
  if (rest.substr(0, 7) == "http://") {
    rest.remove_prefix(7);
  } else if (rest.substr(0, 8) == "https://") {
    rest.remove_prefix(8);
    tls = true;
  } else {
    return InvalidArgumentError("node URL must start with http:// or https://: " + node);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const std::string authority(rest);
  size_t colon = authority.rfind(':');
  if (colon == std::string::npos || authority.find('/') != std::string::npos) {
    return InvalidArgumentError("node URL needs host:port and no path: " + node);
  }
  std::string host = authority.substr(0, colon);
  const std::string port = authority.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::io_context io;
  Runner runner(io);
  beast::error_code ec;
  cmd::Resolved resolved = cmd::ResolveBy(host, port, deadline);
  if (resolved.ec == asio::error::timed_out) {
    return UnavailableError("resolving " + host + ": timed out (deadline exceeded)");
  }
  if (resolved.ec) return UnavailableError("resolving " + host + ": " + resolved.ec.message());
  beast::tcp_stream tcp(io);
  tcp.expires_at(deadline);
  if (beast::error_code e =
          runner.Run([&](auto handler) { tcp.async_connect(resolved.endpoints, handler); })) {
    return UnavailableError("connecting to " + authority + ": " + e.message());
  }
  if (!tls) return Exchange(runner, tcp, method, authority, target, body);

  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  const std::string& ca_file = tls_options.ca_file;
  if (ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(ca_file, ec);
  }
  if (ec) return InvalidArgumentError("--tls-ca " + ca_file + ": " + ec.message());
  // A client certificate, for nodes that require one (mutual TLS).
  if (!tls_options.cert_file.empty()) {
    ctx.use_certificate_chain_file(tls_options.cert_file, ec);
    if (ec)
      return InvalidArgumentError("--tls-cert " + tls_options.cert_file + ": " + ec.message());
    ctx.use_private_key_file(tls_options.key_file, asio::ssl::context::pem, ec);
    if (ec) return InvalidArgumentError("--tls-key " + tls_options.key_file + ": " + ec.message());
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), ctx);
  stream.set_verify_callback(asio::ssl::host_name_verification(host));
  // SNI for host names (not IP literals). SSL_set_tlsext_host_name spelled
  // out: the macro's C cast trips -Wold-style-cast.
  beast::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  if (not_ip) {
    SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }
  if (beast::error_code e = runner.Run(
          [&](auto handler) { stream.async_handshake(asio::ssl::stream_base::client, handler); })) {
    return UnavailableError("TLS with " + authority + ": " + e.message());
  }
  return Exchange(runner, stream, method, authority, target, body);
}

}  // namespace groupcache::cli
