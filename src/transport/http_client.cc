// Beast/Asio lives here and in http_server.cc only: each such translation
// unit costs tens of seconds to compile.
//
// One request path for http:// and https:// peers: Exchange is a template
// over the stream (a TCP stream, or TLS over one), so pooling, deadlines,
// cancellation and the stale-connection retry are the same code for both.

#include "http_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "escape.h"
#include "groupcache.pb.h"
#include "tls_context.h"

namespace groupcache::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

class ClientIo::Impl {
 public:
  explicit Impl(const HttpPoolOptions& opts)
      : options(opts),
        tls(NewClientTlsContext(opts.client_tls)),
        work_(asio::make_work_guard(io)),
        thread_([this] { io.run(); }) {}

  ~Impl() { Stop(); }

  void Stop() {
    std::lock_guard lock(stop_mu_);
    if (stopped.exchange(true)) return;
    work_.reset();
    io.stop();
    // The last reference can be dropped by a coroutine on the I/O thread
    // itself; it cannot join itself.
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();
    } else if (thread_.joinable()) {
      thread_.join();
    }
  }

  const HttpPoolOptions options;
  // Shared by every https:// connection; an error when client_tls is bad
  // (https:// clients then fail with it).
  const Result<std::shared_ptr<asio::ssl::context>> tls;
  asio::io_context io;
  std::atomic<bool> stopped{false};

 private:
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::mutex stop_mu_;
  std::thread thread_;
};

namespace {

struct Outcome {
  Status status;
  unsigned http_status = 0;
  std::string body;
};

// One request in flight: shared by the caller and the coroutine.
// `current` (the TCP layer of the connection in use, TLS or not) and
// `cancelled` are touched on the I/O thread only.
struct Call {
  TcpStream* current = nullptr;
  bool cancelled = false;
  // The caller's cancellation hook; dropped on the I/O thread when the
  // exchange ends.
  Context::Registration cancel_hook;
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

class HttpPeerClient final : public PeerClient,
                             public std::enable_shared_from_this<HttpPeerClient> {
 public:
  HttpPeerClient(std::shared_ptr<ClientIo::Impl> io, std::string url)
      : io_(std::move(io)), url_(std::move(url)) {
    std::string_view rest = url_;
    if (rest.substr(0, 7) == "http://") {
      rest.remove_prefix(7);
    } else if (rest.substr(0, 8) == "https://") {
      rest.remove_prefix(8);
      tls_ = true;
      if (!io_->tls.ok()) {
        config_error_ = io_->tls.status();
        return;
      }
    } else {
      config_error_ =
          InvalidArgumentError("unsupported peer URL (want http(s)://host:port): " + url_);
      return;
    }
    host_header_ = std::string(rest);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || rest.find(']', colon) != std::string_view::npos) {
      host_ = std::string(rest);
      port_ = tls_ ? "443" : "80";
    } else {
      host_ = std::string(rest.substr(0, colon));
      port_ = std::string(rest.substr(colon + 1));
    }
    if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') {
      host_ = host_.substr(1, host_.size() - 2);
    }
  }

  Result<ByteView> Get(const Context& ctx, std::string_view group, std::string_view key) override {
    return GetResult(Roundtrip(ctx, http::verb::get, Target(group, key), {}));
  }

  void GetAsync(const Context& ctx, std::string_view group, std::string_view key,
                std::function<void(Result<ByteView>)> done) override {
    Start(ctx, http::verb::get, Target(group, key), {},
          [self = shared_from_this(), done = std::move(done)](const Outcome& out) {
            done(self->GetResult(out));
          });
  }

  Status Set(const Context& ctx, std::string_view group, std::string_view key,
             const ByteView& value) override {
    groupcachepb::SetRequest request;
    request.set_group(std::string(group));
    request.set_key(std::string(key));
    request.set_value(value.data(), value.size());
    if (value.has_expiry()) request.set_expire(ToUnixNanos(value.expire()));
    Outcome out = Roundtrip(ctx, http::verb::put, Target(group, key), request.SerializeAsString());
    if (!out.status.ok()) return out.status;
    return out.http_status == 200 ? Status() : ErrorFor(out);
  }

  Status Remove(const Context& ctx, std::string_view group, std::string_view key) override {
    Outcome out = Roundtrip(ctx, http::verb::delete_, Target(group, key), {});
    if (!out.status.ok()) return out.status;
    return out.http_status == 200 ? Status() : ErrorFor(out);
  }

  const std::string& url() const override { return url_; }

 private:
  std::string Target(std::string_view group, std::string_view key) const {
    // The original golang/groupcache escapes with QueryEscape, the mailgun
    // and Tochemey forks with PathEscape; each server decodes %XX only.
    bool query = io_->options.ring.algorithm == RingAlgorithm::kGolang;
    std::string target = io_->options.base_path;
    target += query ? QueryEscape(group) : PathEscape(group);
    target += '/';
    target += query ? QueryEscape(key) : PathEscape(key);
    return target;
  }

  Status ErrorFor(const Outcome& out) const {
    std::string body = Trim(out.body);
    if (out.http_status == 404) return NotFoundError(body);
    if (out.http_status == 503) return LoadFailedError("peer " + url_ + ": " + body);
    return UnavailableError("peer " + url_ + " answered " + std::to_string(out.http_status) + ": " +
                            body);
  }

  Result<ByteView> GetResult(const Outcome& out) const {
    if (!out.status.ok()) return out.status;
    if (out.http_status == 200) {
      groupcachepb::GetResponse response;
      if (!response.ParseFromString(out.body)) {
        return UnavailableError("peer " + url_ + " sent an undecodable GetResponse");
      }
      return ByteView(std::move(*response.mutable_value()), FromUnixNanos(response.expire()));
    }
    return ErrorFor(out);
  }

  // The blocking form of Start: waits for the outcome.
  Outcome Roundtrip(const Context& ctx, http::verb verb, std::string target, std::string body) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    std::future<Outcome> result = promise->get_future();
    Clock::time_point deadline =
        Start(ctx, verb, std::move(target), std::move(body),
              [promise](Outcome out) { promise->set_value(std::move(out)); });
    // Every operation of the exchange expires at the deadline; the margin
    // only covers an I/O thread that was stopped under us.
    if (result.wait_until(deadline + std::chrono::seconds(2)) != std::future_status::ready) {
      return {UnavailableError("client stopped while waiting for " + url_), 0, {}};
    }
    try {
      return result.get();
    } catch (const std::future_error&) {  // the exchange was dropped unfinished
      return {UnavailableError("client stopped"), 0, {}};
    }
  }

  // Starts the exchange on the I/O thread; `done` gets its outcome there
  // (or here, at once, for a request that cannot start). If the I/O thread
  // stops first, `done` is destroyed without being called. Returns the
  // exchange's deadline.
  Clock::time_point Start(const Context& ctx, http::verb verb, std::string target, std::string body,
                          std::function<void(Outcome)> done) {
    Clock::time_point deadline = Clock::now() + io_->options.request_timeout;
    bool ctx_deadline = false;
    if (auto d = ctx.deadline(); d && *d < deadline) {
      deadline = *d;
      ctx_deadline = true;
    }
    if (!config_error_.ok()) {
      done({config_error_, 0, {}});
      return deadline;
    }
    if (io_->stopped) {
      done({UnavailableError("client stopped"), 0, {}});
      return deadline;
    }
    if (Status s = ctx.Err(); !s.ok()) {
      done({s, 0, {}});
      return deadline;
    }
    auto call = std::make_shared<Call>();
    // The hook posts to the I/O thread, which owns the connection.
    call->cancel_hook = ctx.OnCancel([weak = std::weak_ptr<Call>(call), io = io_] {
      asio::post(io->io, [weak] {
        if (auto c = weak.lock()) {
          c->cancelled = true;
          if (c->current != nullptr) c->current->socket().cancel();
        }
      });
    });
    auto finish = [call, done = std::move(done)](const std::exception_ptr& e, Outcome out) {
      if (e) out.status = InternalError("client request threw");
      call->cancel_hook = {};
      done(std::move(out));
    };
    std::shared_ptr<HttpPeerClient> self = shared_from_this();
    if (tls_) {
      asio::co_spawn(io_->io,
                     Exchange<TlsStream>(std::move(self), call, verb, std::move(target),
                                         std::move(body), deadline, ctx_deadline),
                     std::move(finish));
    } else {
      asio::co_spawn(io_->io,
                     Exchange<TcpStream>(std::move(self), call, verb, std::move(target),
                                         std::move(body), deadline, ctx_deadline),
                     std::move(finish));
    }
    return deadline;
  }

  // `detail`, if any, is appended to the error's own message.
  Status MapError(const beast::error_code& ec, const Call& call, bool ctx_deadline,
                  std::string_view step, const std::string& detail = {}) const {
    if (ec == beast::error::timeout) {
      if (ctx_deadline) return DeadlineExceededError(std::string(step) + " " + url_ + ": deadline");
      return UnavailableError(std::string(step) + " " + url_ + ": timed out");
    }
    if (call.cancelled) return CancelledError(std::string(step) + " " + url_ + ": cancelled");
    return UnavailableError(std::string(step) + " " + url_ + ": " + ec.message() +
                            (detail.empty() ? "" : ": " + detail));
  }

  // A TLS peer that closed an idle connection without a close_notify (or
  // whose process went away) shows as a truncated stream, not as EOF.
  static bool Stale(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::eof || ec == asio::error::broken_pipe ||
           ec == asio::ssl::error::stream_truncated;
  }

  // SNI and the name the server's certificate must carry, before the
  // handshake of a new connection.
  Status PrepareTls(TlsStream& stream) const {
    SSL* ssl = stream.native_handle();
    beast::error_code not_ip;
    asio::ip::make_address(host_, not_ip);
    // SNI carries DNS names only (RFC 6066); an IP is matched against the
    // certificate's IP address SANs instead of its DNS names. This is
    // SSL_set_tlsext_host_name spelled out, as the macro's C cast trips
    // -Wold-style-cast; OpenSSL copies the name.
    if (not_ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                           const_cast<char*>(host_.c_str())) != 1) {
      return InvalidArgumentError("cannot use '" + host_ + "' as TLS server name of " + url_);
    }
    if (io_->options.client_tls.verify_peer) {
      int set = not_ip ? SSL_set1_host(ssl, host_.c_str())
                       : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host_.c_str());
      if (set != 1) {
        return InvalidArgumentError("cannot verify '" + host_ + "' as the TLS peer of " + url_);
      }
    }
    return {};
  }

  // Stream: TcpStream or TlsStream. The deadline is the TCP layer's
  // expiry, which also bounds the TLS handshake's reads and writes.
  template <class Stream>
  static asio::awaitable<Outcome> Exchange(std::shared_ptr<HttpPeerClient> self,
                                           std::shared_ptr<Call> call, http::verb verb,
                                           std::string target, std::string body,
                                           Clock::time_point deadline, bool ctx_deadline) {
    constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
    const HttpPoolOptions& options = self->io_->options;
    for (int attempt = 0;; ++attempt) {
      beast::error_code ec;
      std::unique_ptr<Stream> stream = self->TakeIdle<Stream>();
      const bool reused = stream != nullptr;
      if (!reused) {
        if constexpr (kTls) {
          stream = std::make_unique<Stream>(self->io_->io, **self->io_->tls);
        } else {
          stream = std::make_unique<Stream>(self->io_->io);
        }
        TcpStream& tcp_layer = beast::get_lowest_layer(*stream);
        call->current = &tcp_layer;
        if (call->cancelled) co_return Outcome{CancelledError("cancelled"), 0, {}};
        tcp_layer.expires_at(deadline);
        tcp::resolver resolver(self->io_->io);
        auto endpoints = co_await resolver.async_resolve(
            self->host_, self->port_, asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
          co_await tcp_layer.async_connect(endpoints,
                                           asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec) {
          call->current = nullptr;
          co_return Outcome{self->MapError(ec, *call, ctx_deadline, "connect"), 0, {}};
        }
        if constexpr (kTls) {
          if (Status s = self->PrepareTls(*stream); !s.ok()) {
            call->current = nullptr;
            co_return Outcome{s, 0, {}};
          }
          co_await stream->async_handshake(asio::ssl::stream_base::client,
                                           asio::redirect_error(asio::use_awaitable, ec));
          if (ec) {
            call->current = nullptr;
            co_return Outcome{self->MapError(ec, *call, ctx_deadline, "TLS handshake with",
                                             VerifyFailure(stream->native_handle())),
                              0,
                              {}};
          }
        }
      }
      call->current = &beast::get_lowest_layer(*stream);
      if (call->cancelled) co_return Outcome{CancelledError("cancelled"), 0, {}};
      beast::get_lowest_layer(*stream).expires_at(deadline);

      http::request<http::string_body> request{verb, target, 11};
      request.set(http::field::host, self->host_header_);
      request.set(http::field::user_agent, "groupcache-cpp");
      request.keep_alive(true);
      if (verb == http::verb::put) {
        request.set(http::field::content_type, "application/x-protobuf");
        request.body() = body;
      }
      request.prepare_payload();
      co_await http::async_write(*stream, request, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        call->current = nullptr;
        // A kept-alive connection the peer closed while it sat idle: the
        // request never reached it, so one retry on a fresh one is safe.
        if (reused && attempt == 0 && !call->cancelled && Stale(ec)) continue;
        co_return Outcome{self->MapError(ec, *call, ctx_deadline, "write"), 0, {}};
      }

      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(options.max_body_bytes);
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      co_await http::async_read(*stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
      call->current = nullptr;
      if (ec) {
        // Retry only if not a byte of the answer came back (never after a
        // partial response) and the failure is a closed connection.
        if (reused && attempt == 0 && !parser.got_some() && !call->cancelled && Stale(ec)) {
          continue;
        }
        co_return Outcome{self->MapError(ec, *call, ctx_deadline, "read"), 0, {}};
      }
      http::response<http::string_body> response = parser.release();
      Outcome out{{}, response.result_int(), std::move(response.body())};
      if (response.keep_alive()) {
        beast::get_lowest_layer(*stream).expires_never();
        self->PutIdle(std::move(stream));
      }
      co_return out;
    }
  }

  // Idle connections: touched on the I/O thread only. A client has one
  // scheme, so only one of the two pools is ever used.
  template <class Stream>
  std::vector<std::unique_ptr<Stream>>& Idle() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      return idle_tls_;
    } else {
      return idle_plain_;
    }
  }
  template <class Stream>
  std::unique_ptr<Stream> TakeIdle() {
    auto& idle = Idle<Stream>();
    if (idle.empty()) return nullptr;
    auto s = std::move(idle.back());
    idle.pop_back();
    return s;
  }
  template <class Stream>
  void PutIdle(std::unique_ptr<Stream> s) {
    auto& idle = Idle<Stream>();
    if (static_cast<int>(idle.size()) < io_->options.client_pool_size) {
      idle.push_back(std::move(s));
    }
  }

  const std::shared_ptr<ClientIo::Impl> io_;
  const std::string url_;
  std::string host_;
  std::string port_;
  std::string host_header_;
  bool tls_ = false;
  Status config_error_;  // a bad URL or client_tls: every call fails with it
  std::vector<std::unique_ptr<TcpStream>> idle_plain_;
  std::vector<std::unique_ptr<TlsStream>> idle_tls_;
};

}  // namespace

ClientIo::ClientIo(const HttpPoolOptions& options) : impl_(std::make_shared<Impl>(options)) {}

ClientIo::~ClientIo() { Stop(); }

void ClientIo::Stop() { impl_->Stop(); }

Status ClientIo::tls_status() const { return impl_->tls.status(); }

std::shared_ptr<PeerClient> ClientIo::NewClient(const std::string& url) {
  return std::make_shared<HttpPeerClient>(impl_, url);
}

}  // namespace groupcache::internal
