// Beast/Asio lives here and in http_server.cc only: each such translation
// unit costs tens of seconds to compile.

#include "http_client.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <future>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "escape.h"
#include "groupcache.pb.h"

namespace groupcache::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class ClientIo::Impl {
 public:
  explicit Impl(const HttpPoolOptions& opts)
      : options(opts), work_(asio::make_work_guard(io)), thread_([this] { io.run(); }) {}

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

// One request in flight: shared by the waiting caller and the coroutine.
// `current` and `cancelled` are touched on the I/O thread only.
struct Call {
  std::promise<Outcome> promise;
  beast::tcp_stream* current = nullptr;
  bool cancelled = false;
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
    } else {
      config_error_ = "unsupported peer URL (want http://host:port): " + url_;
      return;
    }
    host_header_ = std::string(rest);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || rest.find(']', colon) != std::string_view::npos) {
      host_ = std::string(rest);
      port_ = "80";
    } else {
      host_ = std::string(rest.substr(0, colon));
      port_ = std::string(rest.substr(colon + 1));
    }
    if (host_.size() > 2 && host_.front() == '[' && host_.back() == ']') {
      host_ = host_.substr(1, host_.size() - 2);
    }
  }

  Result<ByteView> Get(const Context& ctx, std::string_view group, std::string_view key) override {
    Outcome out = Roundtrip(ctx, http::verb::get, Target(group, key), {});
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

  Outcome Roundtrip(const Context& ctx, http::verb verb, std::string target, std::string body) {
    if (!config_error_.empty()) return {InvalidArgumentError(config_error_), 0, {}};
    if (io_->stopped) return {UnavailableError("client stopped"), 0, {}};
    if (Status s = ctx.Err(); !s.ok()) return {s, 0, {}};
    Clock::time_point deadline = Clock::now() + io_->options.request_timeout;
    bool ctx_deadline = false;
    if (auto d = ctx.deadline(); d && *d < deadline) {
      deadline = *d;
      ctx_deadline = true;
    }
    auto call = std::make_shared<Call>();
    std::future<Outcome> result = call->promise.get_future();
    asio::co_spawn(io_->io,
                   Exchange(shared_from_this(), call, verb, std::move(target), std::move(body),
                            deadline, ctx_deadline),
                   [call](const std::exception_ptr& e, Outcome out) {
                     if (e) out.status = InternalError("client request threw");
                     call->promise.set_value(std::move(out));
                   });
    Context::Registration reg = ctx.OnCancel([call, io = io_] {
      asio::post(io->io, [call] {
        call->cancelled = true;
        if (call->current != nullptr) call->current->socket().cancel();
      });
    });
    // Every operation of the exchange expires at the deadline; the margin
    // only covers an I/O thread that was stopped under us.
    if (result.wait_until(deadline + std::chrono::seconds(2)) != std::future_status::ready) {
      return {UnavailableError("client stopped while waiting for " + url_), 0, {}};
    }
    try {
      return result.get();
    } catch (const std::future_error&) {
      return {UnavailableError("client stopped"), 0, {}};
    }
  }

  Status MapError(const beast::error_code& ec, const Call& call, bool ctx_deadline,
                  std::string_view step) const {
    if (ec == beast::error::timeout) {
      if (ctx_deadline) return DeadlineExceededError(std::string(step) + " " + url_ + ": deadline");
      return UnavailableError(std::string(step) + " " + url_ + ": timed out");
    }
    if (call.cancelled) return CancelledError(std::string(step) + " " + url_ + ": cancelled");
    return UnavailableError(std::string(step) + " " + url_ + ": " + ec.message());
  }

  static bool Stale(const beast::error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
           ec == asio::error::eof || ec == asio::error::broken_pipe;
  }

  static asio::awaitable<Outcome> Exchange(std::shared_ptr<HttpPeerClient> self,
                                           std::shared_ptr<Call> call, http::verb verb,
                                           std::string target, std::string body,
                                           Clock::time_point deadline, bool ctx_deadline) {
    const HttpPoolOptions& options = self->io_->options;
    for (int attempt = 0;; ++attempt) {
      beast::error_code ec;
      std::unique_ptr<beast::tcp_stream> stream = self->TakeIdle();
      const bool reused = stream != nullptr;
      if (!reused) {
        stream = std::make_unique<beast::tcp_stream>(self->io_->io);
        call->current = stream.get();
        if (call->cancelled) co_return Outcome{CancelledError("cancelled"), 0, {}};
        stream->expires_at(deadline);
        tcp::resolver resolver(self->io_->io);
        auto endpoints = co_await resolver.async_resolve(
            self->host_, self->port_, asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
          co_await stream->async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
        }
        if (ec) {
          call->current = nullptr;
          co_return Outcome{self->MapError(ec, *call, ctx_deadline, "connect"), 0, {}};
        }
      }
      call->current = stream.get();
      if (call->cancelled) co_return Outcome{CancelledError("cancelled"), 0, {}};
      stream->expires_at(deadline);

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
        stream->expires_never();
        self->PutIdle(std::move(stream));
      }
      co_return out;
    }
  }

  // Idle connections: touched on the I/O thread only.
  std::unique_ptr<beast::tcp_stream> TakeIdle() {
    if (idle_.empty()) return nullptr;
    auto s = std::move(idle_.back());
    idle_.pop_back();
    return s;
  }
  void PutIdle(std::unique_ptr<beast::tcp_stream> s) {
    if (static_cast<int>(idle_.size()) < io_->options.client_pool_size) {
      idle_.push_back(std::move(s));
    }
  }

  const std::shared_ptr<ClientIo::Impl> io_;
  const std::string url_;
  std::string host_;
  std::string port_;
  std::string host_header_;
  std::string config_error_;
  std::vector<std::unique_ptr<beast::tcp_stream>> idle_;
};

}  // namespace

ClientIo::ClientIo(const HttpPoolOptions& options) : impl_(std::make_shared<Impl>(options)) {}

ClientIo::~ClientIo() { Stop(); }

void ClientIo::Stop() { impl_->Stop(); }

std::shared_ptr<PeerClient> ClientIo::NewClient(const std::string& url) {
  return std::make_shared<HttpPeerClient>(impl_, url);
}

}  // namespace groupcache::internal
