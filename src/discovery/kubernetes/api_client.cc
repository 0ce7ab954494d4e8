// Beast/Asio for the Kubernetes provider only: one translation unit, so
// its compile cost is paid once.

#include "api_client.h"

#include <sys/stat.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>
#include <mutex>
#include <sstream>
#include <utility>

namespace groupcache::discovery::kubernetes_internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr size_t kMaxErrorBody = size_t{1} << 20;

// The file's modification time in nanoseconds, or -1.
int64_t ModifiedAt(const std::string& path) {
  struct stat st {};
  if (path.empty() || ::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

}  // namespace

class ApiClient::Impl {
 public:
  explicit Impl(ApiAccess a) : access(std::move(a)) {}

  Status Init() {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (!access.ca_file.empty()) {
      tls_->load_verify_file(access.ca_file, ec);
      if (ec) return Bad("the API server's CA " + access.ca_file, ec);
    } else if (!access.ca_pem.empty()) {
      tls_->add_certificate_authority(asio::buffer(access.ca_pem), ec);
      if (ec) return Bad("certificate-authority-data", ec);
    } else {
      tls_->set_default_verify_paths(ec);
      if (ec) return Bad("the system's CAs", ec);
    }
    tls_->set_verify_mode(access.insecure ? asio::ssl::verify_none : asio::ssl::verify_peer);
    if (!access.client_cert_file.empty()) {
      tls_->use_certificate_chain_file(access.client_cert_file, ec);
      if (ec) return Bad("client certificate " + access.client_cert_file, ec);
    } else if (!access.client_cert_pem.empty()) {
      tls_->use_certificate_chain(asio::buffer(access.client_cert_pem), ec);
      if (ec) return Bad("client-certificate-data", ec);
    }
    if (!access.client_key_file.empty()) {
      tls_->use_private_key_file(access.client_key_file, asio::ssl::context::pem, ec);
      if (ec) return Bad("client key " + access.client_key_file, ec);
    } else if (!access.client_key_pem.empty()) {
      tls_->use_private_key(asio::buffer(access.client_key_pem), asio::ssl::context::pem, ec);
      if (ec) return Bad("client-key-data", ec);
    }
    token_ = access.token;
    token_mtime_ = ModifiedAt(access.token_file);
    return {};
  }

  Result<Response> Get(const std::string& target, Duration timeout, size_t max_body) {
    Response response;
    for (int attempt = 0;; ++attempt) {
      Status s = Run([&]() { return DoGet(target, timeout, max_body, &response); });
      if (!s.ok()) return s;
      if (response.status == 401 && attempt == 0 && ReloadToken()) continue;
      return response;
    }
  }

  Status Watch(const std::string& target, Duration idle, size_t max_line,
               const std::function<bool(std::string_view)>& on_line, Response* response) {
    for (int attempt = 0;; ++attempt) {
      *response = {};
      Status s = Run([&]() { return DoWatch(target, idle, max_line, on_line, response); });
      if (!s.ok()) return s;
      if (response->status == 401 && attempt == 0 && ReloadToken()) continue;
      return s;
    }
  }

  void Cancel() {
    cancelled_ = true;
    // Closing the connection in use fails the operation in progress; a
    // call about to start sees the flag first (it is set before the post).
    asio::post(io_, [this] {
      if (current_ != nullptr) {
        beast::error_code ignored;
        beast::get_lowest_layer(*current_).socket().close(ignored);
      }
    });
  }

  const ApiAccess access;

 private:
  static Status Bad(const std::string& what, const beast::error_code& ec) {
    return InvalidArgumentError("kubernetes discovery: cannot load " + what + ": " + ec.message());
  }

  // The token to send: re-read when its file changed.
  std::string Token() {
    if (!access.token_file.empty()) {
      int64_t mtime = ModifiedAt(access.token_file);
      if (mtime != token_mtime_) ReadToken(mtime);
    }
    return token_;
  }
  // After a 401: true if the file gave another token worth a retry.
  bool ReloadToken() {
    if (access.token_file.empty()) return false;
    std::string before = token_;
    ReadToken(ModifiedAt(access.token_file));
    return token_ != before;
  }
  void ReadToken(int64_t mtime) {
    std::ifstream in(access.token_file);
    if (!in) return;  // keep the old one; the server will say if it is bad
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = std::move(text).str();
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    token_ = token;
    token_mtime_ = mtime;
  }

  // Runs one coroutine on this thread to its end.
  template <class Make>
  Status Run(Make make) {
    if (cancelled_) return CancelledError("kubernetes discovery: cancelled");
    Status result = InternalError("kubernetes discovery: request did not finish");
    io_.restart();
    asio::co_spawn(io_, make(), [&result](const std::exception_ptr& e, Status s) {
      result = e ? InternalError("kubernetes discovery: request threw") : std::move(s);
    });
    io_.run();
    return result;
  }

  Status Failure(std::string_view step, const beast::error_code& ec) const {
    if (cancelled_) return CancelledError("kubernetes discovery: cancelled");
    std::string where = access.host + ":" + access.port;
    if (ec == beast::error::timeout) {
      return UnavailableError("kubernetes API " + where + ": " + std::string(step) + ": timed out");
    }
    return UnavailableError("kubernetes API " + where + ": " + std::string(step) + ": " +
                            ec.message());
  }

  // Connects, handshakes and sends the GET; the stream's expiry is the
  // caller's to set before and after. On failure the stream is no longer
  // the current one.
  asio::awaitable<Status> Open(Stream& stream, const std::string& target) {
    Status s = co_await Connect(stream, target);
    if (!s.ok()) current_ = nullptr;
    co_return s;
  }
  asio::awaitable<Status> Connect(Stream& stream, const std::string& target) {
    beast::error_code ec;
    current_ = &stream;
    if (cancelled_) co_return CancelledError("kubernetes discovery: cancelled");
    beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);
    beast::error_code not_ip;
    asio::ip::address ip = asio::ip::make_address(access.host, not_ip);
    if (!not_ip) {
      co_await tcp_layer.async_connect(
          tcp::endpoint(ip, static_cast<unsigned short>(std::stoi(access.port))),
          asio::redirect_error(asio::use_awaitable, ec));
    } else {
      tcp::resolver resolver(io_);
      auto endpoints = co_await resolver.async_resolve(
          access.host, access.port, asio::redirect_error(asio::use_awaitable, ec));
      // A Cancel during the resolution closed no socket: look again.
      if (!ec && cancelled_) co_return CancelledError("kubernetes discovery: cancelled");
      if (!ec) {
        co_await tcp_layer.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    if (ec) co_return Failure("connect", ec);
    if (cancelled_) co_return CancelledError("kubernetes discovery: cancelled");
    SSL* ssl = stream.native_handle();
    // SNI for names only; the certificate must be for the host (a DNS SAN,
    // or an IP SAN for an IP).
    if (not_ip) {
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(access.host.c_str()));
    }
    if (!access.insecure) {
      int set = not_ip ? SSL_set1_host(ssl, access.host.c_str())
                       : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), access.host.c_str());
      if (set != 1) co_return InvalidArgumentError("cannot verify the API server " + access.host);
    }
    co_await stream.async_handshake(asio::ssl::stream_base::client,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Failure("TLS handshake", ec);
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, access.host);
    request.set(http::field::user_agent, "groupcache-cpp");
    request.set(http::field::accept, "application/json");
    if (std::string token = Token(); !token.empty()) {
      request.set(http::field::authorization, "Bearer " + token);
    }
    co_await http::async_write(stream, request, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Failure("send", ec);
    co_return Status();
  }

  asio::awaitable<Status> DoGet(const std::string& target, Duration timeout, size_t max_body,
                                Response* out) {
    Stream stream(io_, *tls_);
    beast::get_lowest_layer(stream).expires_after(timeout);
    if (Status opened = co_await Open(stream, target); !opened.ok()) co_return opened;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    beast::error_code ec;
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    current_ = nullptr;
    if (ec == http::error::body_limit) {
      co_return ResourceExhaustedError("kubernetes API answer over " + std::to_string(max_body) +
                                       " bytes for " + target);
    }
    if (ec) co_return Failure("read", ec);
    out->status = static_cast<int>(parser.get().result_int());
    out->body = std::move(parser.get().body());
    co_return Status();
  }

  asio::awaitable<Status> DoWatch(const std::string& target, Duration idle, size_t max_line,
                                  const std::function<bool(std::string_view)>& on_line,
                                  Response* out) {
    Stream stream(io_, *tls_);
    beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(idle);
    if (Status opened = co_await Open(stream, target); !opened.ok()) co_return opened;
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    // An error answer is bounded (Beast checks a Content-Length against the
    // limit with the header); a 200's chunked stream is not (below).
    parser.body_limit(kMaxErrorBody);
    beast::error_code ec;
    co_await http::async_read_header(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      current_ = nullptr;
      co_return Failure("read", ec);
    }
    out->status = static_cast<int>(parser.get().result_int());
    if (out->status != 200) {
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      current_ = nullptr;
      out->body = std::move(parser.get().body());
      co_return Status();
    }
    // Lines as the chunks come; a line may span chunks.
    std::string pending;
    bool stopped = false;
    bool too_long = false;
    auto take_lines = [&](std::string_view data) {
      pending.append(data);
      size_t start = 0;
      for (size_t nl = pending.find('\n'); nl != std::string::npos;
           nl = pending.find('\n', start)) {
        std::string_view line(pending.data() + start, nl - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        start = nl + 1;
        if (!line.empty() && !on_line(line)) {
          stopped = true;
          break;
        }
      }
      pending.erase(0, start);
      if (pending.size() > max_line) too_long = true;
    };
    auto on_chunk = [&](std::uint64_t, std::string_view data, beast::error_code& e) {
      take_lines(data);
      if (stopped || too_long) e = asio::error::operation_aborted;
      return data.size();
    };
    parser.on_chunk_body(on_chunk);  // by reference: it lives as long as the parser
    parser.body_limit(boost::none);  // a watch has no end but its timeout
    while (!parser.is_done()) {
      tcp_layer.expires_after(idle);
      co_await http::async_read_some(stream, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    current_ = nullptr;
    if (stopped) co_return Status();
    if (too_long) {
      co_return ResourceExhaustedError("watch line over " + std::to_string(max_line) + " bytes");
    }
    if (ec) co_return Failure("watch", ec);
    // Not chunked: the body came whole. Chunked: a last line without its
    // newline.
    take_lines(parser.get().body() + "\n");
    co_return Status();
  }

  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::atomic<bool> cancelled_{false};
  Stream* current_ = nullptr;  // the caller's thread (which runs io_) only
  std::string token_;
  int64_t token_mtime_ = -1;
};

ApiClient::ApiClient(ApiAccess access) : impl_(std::make_unique<Impl>(std::move(access))) {}
ApiClient::~ApiClient() = default;
Status ApiClient::Init() { return impl_->Init(); }
Result<ApiClient::Response> ApiClient::Get(const std::string& target, Duration timeout,
                                           size_t max_body) {
  return impl_->Get(target, timeout, max_body);
}
Status ApiClient::Watch(const std::string& target, Duration idle, size_t max_line,
                        const std::function<bool(std::string_view)>& on_line, Response* response) {
  return impl_->Watch(target, idle, max_line, on_line, response);
}
void ApiClient::Cancel() { impl_->Cancel(); }
const ApiAccess& ApiClient::access() const { return impl_->access; }

}  // namespace groupcache::discovery::kubernetes_internal
