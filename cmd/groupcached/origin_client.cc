#include "origin_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "bounded_resolve.h"

namespace groupcache::daemon {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = ssl::stream<beast::tcp_stream>;

// Response headers beyond this are an error: ours are a few hundred bytes.
constexpr uint32_t kMaxHeaderBytes = 64 << 10;

// One connection to the origin, with an io_context of its own. Only the
// thread holding the connection runs that io_context, one operation at a
// time until it completes: a blocking getter gets Beast's per-operation
// timeouts without an I/O thread, and connections never share a queue.
struct Conn {
  explicit Conn(ssl::context* tls_context) {
    if (tls_context != nullptr) {
      tls = std::make_unique<TlsStream>(ioc, *tls_context);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
  }

  beast::tcp_stream& tcp() { return tls ? tls->next_layer() : *plain; }
  // Calls f with the stream HTTP goes through.
  template <class F>
  void WithStream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(*plain);
    }
  }

  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<TlsStream> tls;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;
};

// Starts one asynchronous operation with `start(handler)` and runs the
// connection's io_context until it has completed.
template <class Start>
beast::error_code RunOp(asio::io_context& ioc, Start&& start) {
  beast::error_code result = asio::error::operation_aborted;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

// How a connection the origin closed while it sat idle shows when the next
// request is written or its response read: a TLS peer that went away without
// a close_notify shows as a truncated stream, not as EOF.
bool Stale(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == ssl::error::stream_truncated;
}

// An idle keep-alive connection has nothing to read, as no request is out:
// anything readable is the origin's close (EOF, a TLS alert) or junk, and
// either way the connection must not carry the next request.
bool Unusable(Conn& conn) {
  if (conn.buffer.size() != 0) return true;
  pollfd p{conn.tcp().socket().native_handle(), POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;  // -1: unusable too
}

std::string TakeOpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(e, text, sizeof text);
  return text;
}

Result<std::shared_ptr<ssl::context>> NewTlsContext(const std::string& ca_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr) != 1) {
      return InvalidArgumentError("--origin-ca '" + ca_file +
                                  "': no usable PEM CA certificate: " + TakeOpenSslError());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return InvalidArgumentError("https origin: cannot use the system CA store: " +
                                TakeOpenSslError());
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return context;
}

}  // namespace

class OriginClient::Impl {
 public:
  Impl(OriginTemplate origin, OriginClientOptions options,
       std::shared_ptr<ssl::context> tls_context, OriginStats* stats)
      : origin_(std::move(origin)),
        options_(std::move(options)),
        tls_context_(std::move(tls_context)),
        stats_(stats) {}

  Result<OriginResponse> Get(const Context& ctx, const std::string& target) {
    if (Status s = ctx.Err(); !s.ok()) return s;
    Clock::time_point deadline = Clock::now() + options_.timeout;
    if (ctx.deadline()) deadline = std::min(deadline, *ctx.deadline());
    std::unique_ptr<Conn> conn = TakeIdle();
    while (true) {
      const bool fresh = conn == nullptr;
      if (fresh) conn = std::make_unique<Conn>(tls_context_.get());
      Attempt a = Try(ctx, *conn, fresh, target, deadline);
      // Only a reused connection is retried, so at most once: the second
      // attempt is on a fresh one.
      if (a.stale && !fresh) {
        conn.reset();
        continue;
      }
      if (stats_ != nullptr) {
        if (a.status != 0) {
          stats_->RecordStatus(a.status);
        } else if (!ctx.Done()) {
          stats_->RecordError();
        }
      }
      if (a.keep) PutIdle(std::move(conn));
      return std::move(a.result);
    }
  }

  int64_t connections_opened() const { return opened_.load(); }

 private:
  struct Attempt {
    Result<OriginResponse> result = InternalError("no attempt");
    int status = 0;      // the response's, once its header was read
    bool keep = false;   // the connection may carry another request
    bool stale = false;  // failed before any byte of a response came back
  };

  Attempt Try(const Context& ctx, Conn& conn, bool fresh, const std::string& target,
              Clock::time_point deadline) {
    // Cancellation closes the socket from the connection's own io_context
    // (posted: the cancelling thread must not touch the stream); the
    // operation in progress then fails at once. A cancelled connection is
    // never pooled, so a close still queued dies with it.
    std::atomic<bool> cancelled{false};
    Context::Registration stop = ctx.OnCancel([&cancelled, &conn] {
      cancelled = true;
      asio::post(conn.ioc, [&conn] { conn.tcp().close(); });
    });
    Attempt a;
    auto fail = [&](std::string_view step, const beast::error_code& ec) {
      a.result = Failure(ctx, cancelled, conn, target, step, ec);
      return std::move(a);
    };
    if (fresh) {
      if (Status s = Open(ctx, conn, deadline, target); !s.ok()) {
        a.result = cancelled ? ctx.Err() : s;
        return a;
      }
    }
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, origin_.authority);
    request.set(http::field::user_agent, "groupcached");
    conn.tcp().expires_at(deadline);
    beast::error_code ec = RunOp(conn.ioc, [&](auto handler) {
      conn.WithStream([&](auto& s) { http::async_write(s, request, std::move(handler)); });
    });
    if (ec) {
      a.stale = !fresh && !cancelled && Stale(ec);
      return fail("write", ec);
    }
    http::response_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    // A Content-Length over the limit fails once the header is read, a
    // longer chunked body as soon as it passes the limit: neither is read on.
    parser.body_limit(options_.max_body_bytes);
    conn.tcp().expires_at(deadline);
    ec = RunOp(conn.ioc, [&](auto handler) {
      conn.WithStream(
          [&](auto& s) { http::async_read(s, conn.buffer, parser, std::move(handler)); });
    });
    if (parser.is_header_done()) a.status = static_cast<int>(parser.get().result_int());
    if (ec == http::error::body_limit) {
      a.result = ResourceExhaustedError("origin " + origin_.Url(target) + ": body over " +
                                        std::to_string(options_.max_body_bytes) +
                                        " bytes (--origin-max-bytes)");
      return a;
    }
    if (ec) {
      // Nothing of a response came back on a reused connection: the origin
      // closed it as our request went out. A GET may be sent again.
      a.stale = !fresh && !cancelled && !parser.got_some() && Stale(ec);
      return fail("read", ec);
    }
    http::response<http::string_body>& response = parser.get();
    OriginResponse out;
    out.status = static_cast<int>(response.result_int());
    auto header = [&response](http::field f) {
      auto v = response[f];
      return std::string(v.data(), v.size());
    };
    out.cache_control = header(http::field::cache_control);
    out.expires = header(http::field::expires);
    out.date = header(http::field::date);
    out.age = header(http::field::age);
    out.body = std::move(response.body());
    // Unregistered first (waiting for a hook under way): a cancel after the
    // check below would queue a close that the connection's next, unrelated
    // request would run into once it is pooled.
    stop = Context::Registration();
    a.keep = response.keep_alive() && !cancelled;
    conn.tcp().expires_never();
    a.result = std::move(out);
    return a;
  }

  // Resolves, connects and (for https) shakes hands, by `deadline`.
  Status Open(const Context& ctx, Conn& conn, Clock::time_point deadline,
              const std::string& target) {
    ++opened_;
    // By the deadline whatever the system resolver does (a lookup on a
    // worker thread would otherwise hold it for resolv.conf's timeout).
    cmd::Resolved resolved = resolver_.Resolve(origin_.host, origin_.port, deadline, ctx);
    beast::error_code ec = resolved.ec;
    if (ec == asio::error::timed_out) ec = beast::error::timeout;
    if (ec) return Failure(ctx, ec == asio::error::operation_aborted, conn, target, "resolve", ec);
    conn.tcp().expires_at(deadline);
    ec = RunOp(conn.ioc, [&](auto handler) {
      conn.tcp().async_connect(resolved.endpoints, std::move(handler));
    });
    if (ec) return Failure(ctx, false, conn, target, "connect", ec);
    if (!conn.tls) return {};
    if (Status s = PrepareTls(*conn.tls); !s.ok()) return s;
    conn.tcp().expires_at(deadline);
    ec = RunOp(conn.ioc, [&](auto handler) {
      conn.tls->async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (ec) return Failure(ctx, false, conn, target, "TLS handshake", ec);
    return {};
  }

  // SNI and the name the origin's certificate must carry (the verification
  // itself is the context's SSL_VERIFY_PEER).
  Status PrepareTls(TlsStream& stream) const {
    SSL* ssl = stream.native_handle();
    beast::error_code not_ip;
    asio::ip::make_address(origin_.host, not_ip);
    // SNI carries DNS names only (RFC 6066); an IP is matched against the
    // certificate's IP address SANs. SSL_set_tlsext_host_name spelled out,
    // as the macro's C cast trips -Wold-style-cast; OpenSSL copies the name.
    if (not_ip && SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                           const_cast<char*>(origin_.host.c_str())) != 1) {
      return InvalidArgumentError("cannot use '" + origin_.host + "' as TLS server name");
    }
    int set = not_ip ? SSL_set1_host(ssl, origin_.host.c_str())
                     : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), origin_.host.c_str());
    if (set != 1) return InvalidArgumentError("cannot verify '" + origin_.host + "' over TLS");
    return {};
  }

  // The error for a failed step: the caller's own when its context ended
  // (DeadlineExceeded, Cancelled), else Unavailable naming the URL.
  Status Failure(const Context& ctx, bool cancelled, Conn& conn, const std::string& target,
                 std::string_view step, const beast::error_code& ec) const {
    if (cancelled || ctx.Done()) {
      if (Status s = ctx.Err(); !s.ok()) return s;
    }
    std::string detail = ec.message();
    if (ec == beast::error::timeout) {
      detail =
          "timed out after " + std::to_string(options_.timeout.count()) + " ms (--origin-timeout)";
    } else if (conn.tls) {
      long verify = SSL_get_verify_result(conn.tls->native_handle());
      if (verify != X509_V_OK) detail += std::string(": ") + X509_verify_cert_error_string(verify);
    }
    return UnavailableError("origin " + origin_.Url(target) + ": " + std::string(step) + ": " +
                            detail);
  }

  // The most recently used idle connection that is still usable, or null.
  std::unique_ptr<Conn> TakeIdle() {
    std::vector<std::unique_ptr<Conn>> dropped;  // closed outside the lock
    Clock::time_point now = Clock::now();
    while (true) {
      std::unique_ptr<Conn> conn;
      {
        std::lock_guard lock(mu_);
        if (idle_.empty()) return nullptr;
        conn = std::move(idle_.back());
        idle_.pop_back();
      }
      if (now - conn->idle_since < options_.max_idle && !Unusable(*conn)) return conn;
      dropped.push_back(std::move(conn));
    }
  }

  void PutIdle(std::unique_ptr<Conn> conn) {
    conn->idle_since = Clock::now();
    std::unique_ptr<Conn> oldest;  // closed outside the lock
    std::lock_guard lock(mu_);
    if (options_.max_idle_connections == 0) return;
    idle_.push_back(std::move(conn));
    if (idle_.size() > options_.max_idle_connections) {
      oldest = std::move(idle_.front());
      idle_.pop_front();
    }
  }

  const OriginTemplate origin_;
  const OriginClientOptions options_;
  const std::shared_ptr<ssl::context> tls_context_;  // null for http://
  OriginStats* const stats_;
  std::atomic<int64_t> opened_{0};
  // Lookups of the origin's name, shared while one is under way.
  cmd::Resolver resolver_;
  std::mutex mu_;
  std::deque<std::unique_ptr<Conn>> idle_;  // GUARDED_BY(mu_); oldest first
};

Result<std::unique_ptr<OriginClient>> OriginClient::Create(const OriginTemplate& origin,
                                                           const OriginClientOptions& options,
                                                           OriginStats* stats) {
  if (options.timeout <= std::chrono::milliseconds::zero()) {
    return InvalidArgumentError("--origin-timeout must be above zero");
  }
  if (options.max_body_bytes == 0) return InvalidArgumentError("--origin-max-bytes must be >= 1");
  std::shared_ptr<ssl::context> tls;
  if (origin.tls) {
    auto made = NewTlsContext(options.ca_file);
    if (!made.ok()) return made.status();
    tls = std::move(*made);
  }
  return std::unique_ptr<OriginClient>(
      new OriginClient(std::make_unique<Impl>(origin, options, std::move(tls), stats)));
}

OriginClient::OriginClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OriginClient::~OriginClient() = default;

Result<OriginResponse> OriginClient::Get(const Context& ctx, const std::string& target) {
  return impl_->Get(ctx, target);
}

int64_t OriginClient::connections_opened() const { return impl_->connections_opened(); }

}  // namespace groupcache::daemon
