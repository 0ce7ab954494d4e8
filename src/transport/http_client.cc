// Beast/Asio lives here and in http_server.cc only: each such translation
// unit costs tens of seconds to compile.
//
// One request path for http:// and https:// peers: Exchange is a template
// over the stream (a TCP stream, or TLS over one), so pooling, deadlines,
// cancellation and the stale-connection retry are the same code for both.

#include "http_client.h"

#include <sys/socket.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstdlib>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../text.h"
#include "direct_send.h"
#include "escape.h"
#include "get_response.h"
#include "groupcache.pb.h"
#include "http_head.h"
#include "peer_handler.h"
#include "tls_context.h"

namespace groupcache::internal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TcpStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Call;

// What Release reaches in every client: their pooled connections and wait
// lists belong to the io_context.
class PooledClient {
 public:
  virtual void DropPooled() = 0;

 protected:
  ~PooledClient() = default;
};

class ClientIo::Impl : public std::enable_shared_from_this<ClientIo::Impl> {
 public:
  // An io_context and a thread of its own.
  explicit Impl(const HttpPoolOptions& opts)
      : options(opts),
        owned_(std::make_unique<asio::io_context>()),
        io(*owned_),
        work_(std::in_place, asio::make_work_guard(io)),
        thread_([this] {
          io.run();
          std::shared_ptr<Impl> self;  // see Stop
          {
            std::lock_guard lock(stop_mu_);
            self.swap(keep_alive_);
          }
          ran_out_.set_value();
          // If that was the last reference, *this goes here, on its own
          // thread but after run() returned: the io_context may go now.
        }) {
    LoadNamedTls();
  }

  // A borrowed io_context, run by its owner's one thread. It may not be
  // constructed yet: it is only stored here.
  Impl(const HttpPoolOptions& opts, asio::io_context& borrowed) : options(opts), io(borrowed) {
    LoadNamedTls();
  }

  ~Impl() { Stop(); }

  // Runs `spawn` (which co_spawns an exchange) unless the client stopped;
  // false if it did. Serialised with Stop, so that no exchange starts after
  // Stop's sweep: each one is either refused here or is swept.
  template <typename Fn>
  bool Spawn(Fn&& spawn) {
    std::lock_guard lock(stop_mu_);
    if (stopped) return false;
    spawn();
    return true;
  }

  // Posts `fn` to the I/O thread unless the client stopped (a borrowed
  // io_context may be gone by then; the sweep interrupted everything).
  template <typename Fn>
  void Post(Fn&& fn) {
    std::lock_guard lock(stop_mu_);
    if (!stopped) asio::post(io, std::forward<Fn>(fn));
  }

  // True on the thread that runs the exchanges. Under the stop lock: a
  // borrowed io_context may be destroyed once stopped.
  bool OnIoThread() {
    std::lock_guard lock(stop_mu_);
    return !stopped && io.get_executor().running_in_this_thread();
  }

  // Ends every exchange in flight with Unavailable (their callers get their
  // callbacks), then lets the I/O thread run out of work and joins it.
  // Nothing is left behind in the io_context: a coroutine frame left there
  // would hold its client, which holds this, which holds the io_context.
  // A borrowed io_context is its owner's to run and stop.
  void Stop() {
    {
      std::lock_guard lock(stop_mu_);
      if (stopped.exchange(true)) return;
      asio::post(io, [this] { AbortAll(); });
      work_.reset();
    }
    if (!owned_) return;
    // The last reference can be dropped by a coroutine on the I/O thread
    // itself (a GetAsync callback dropping the pool); it cannot join
    // itself. The thread is let go, and holds *this (and so the io_context
    // it is running) until run() returns.
    if (thread_.get_id() == std::this_thread::get_id()) {
      {
        std::lock_guard lock(stop_mu_);
        keep_alive_ = weak_from_this().lock();
      }
      thread_.detach();
      return;
    }
    // Every operation is cancelled by the sweep; the bound only guards
    // against a handler that blocks.
    if (ran_out_.get_future().wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
      io.stop();
    }
    if (thread_.joinable()) thread_.join();
  }

  // See ClientIo::Release. No thread runs the io_context any more, so the
  // I/O-thread-only state is this thread's.
  void Release() {
    if (owned_) return;  // its own thread's state, gone with the thread
    std::lock_guard lock(clients_mu_);
    for (PooledClient* client : clients_) client->DropPooled();
  }

  // Clients register for Release's sake for their whole life.
  void Register(PooledClient* client) {
    std::lock_guard lock(clients_mu_);
    clients_.insert(client);
  }
  void Unregister(PooledClient* client) {
    std::lock_guard lock(clients_mu_);
    clients_.erase(client);
  }

  // I/O thread only: the exchanges in flight, so that Stop can end them.
  void Enter(Call* call);
  void Leave(Call* call) { active_.erase(call); }

  const HttpPoolOptions options;

  // Shared by every https:// connection; an error when client_tls is bad
  // (https:// clients then fail with it). Made at the first https://
  // client, or at once if client_tls names files (so that a bad one is
  // refused up front): the system CA store alone costs a node some 60 ms
  // of CPU to load, which a cluster on plain HTTP never needs.
  const Result<std::shared_ptr<asio::ssl::context>>& tls() const {
    std::call_once(tls_once_, [this] { tls_.emplace(NewClientTlsContext(options.client_tls)); });
    return *tls_;
  }
  // The error client_tls's files gave; OK without files (the system CA
  // store is not loaded for this, and fails https:// clients if it fails).
  Status tls_status() const { return NamesTlsFiles() ? tls().status() : Status(); }

 private:
  bool NamesTlsFiles() const {
    const ClientTlsOptions& t = options.client_tls;
    return !t.ca_file.empty() || !t.cert_file.empty() || !t.key_file.empty();
  }
  void LoadNamedTls() const {
    if (NamesTlsFiles()) (void)tls();
  }

  mutable std::once_flag tls_once_;
  mutable std::optional<Result<std::shared_ptr<asio::ssl::context>>> tls_;

  std::unique_ptr<asio::io_context> owned_;  // null when borrowed

 public:
  asio::io_context& io;
  std::atomic<bool> stopped{false};

 private:
  void AbortAll();

  // Keeps an io_context of its own running until Stop.
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::mutex stop_mu_;
  // Set by a Stop on the I/O thread; the thread drops it once run() ends.
  std::shared_ptr<Impl> keep_alive_;  // GUARDED_BY(stop_mu_)
  std::promise<void> ran_out_;
  std::thread thread_;                // only with an io_context of its own
  std::unordered_set<Call*> active_;  // I/O thread only
  bool aborting_ = false;             // I/O thread only
  std::mutex clients_mu_;
  std::unordered_set<PooledClient*> clients_;  // GUARDED_BY(clients_mu_)
};

// One request in flight: shared by the caller and the coroutine. Every
// field is touched on the I/O thread only.
struct Call {
  // What the exchange is waiting on, so that a cancellation or Stop can
  // interrupt it: the TCP layer of the connection in use (TLS or not), or
  // a timer (a wait for a free connection to the peer, or for a DNS
  // lookup).
  TcpStream* current = nullptr;
  asio::steady_timer* waiting = nullptr;
  bool cancelled = false;  // by the caller's context
  bool aborted = false;    // by ClientIo::Stop
  // The caller's cancellation hook; dropped on the I/O thread when the
  // exchange ends.
  Context::Registration cancel_hook;

  void Interrupt() {
    // The socket is not open yet while a new connection's host is looked
    // up: the throwing cancel() would end the process there.
    beast::error_code not_open;
    if (current != nullptr) current->socket().cancel(not_open);
    if (waiting != nullptr) waiting->cancel();
  }
};

void ClientIo::Impl::Enter(Call* call) {
  if (aborting_) {
    call->aborted = true;
    return;
  }
  active_.insert(call);
}

void ClientIo::Impl::AbortAll() {
  aborting_ = true;
  for (Call* call : active_) {
    call->aborted = true;
    call->Interrupt();
  }
}

namespace {

struct Outcome {
  Status status;
  unsigned http_status = 0;
  std::string body;               // empty for a GET's 200
  std::optional<ByteView> value;  // a GET's 200: the GetResponse read
};

// The outcome of an exchange that got no answer.
Outcome Failed(Status status) { return {std::move(status), 0, {}, {}}; }

// Registers an exchange with its ClientIo for its lifetime (a coroutine
// local: it goes however the coroutine ends).
class ActiveCall {
 public:
  ActiveCall(ClientIo::Impl& io, Call* call) : io_(io), call_(call) { io_.Enter(call_); }
  // The connection or timer the call points at goes with the
  // coroutine; a cancellation hook posted later must find nothing.
  ~ActiveCall() {
    call_->current = nullptr;
    call_->waiting = nullptr;
    io_.Leave(call_);
  }
  ActiveCall(const ActiveCall&) = delete;
  ActiveCall& operator=(const ActiveCall&) = delete;

 private:
  ClientIo::Impl& io_;
  Call* call_;
};

class HttpPeerClient final : public PeerClient,
                             public PooledClient,
                             public std::enable_shared_from_this<HttpPeerClient> {
 public:
  HttpPeerClient(std::shared_ptr<ClientIo::Impl> io, std::string url)
      : io_(std::move(io)), url_(std::move(url)) {
    io_->Register(this);
    std::string_view rest = url_;
    if (rest.substr(0, 7) == "http://") {
      rest.remove_prefix(7);
    } else if (rest.substr(0, 8) == "https://") {
      rest.remove_prefix(8);
      tls_ = true;
      if (!io_->tls().ok()) {
        config_error_ = io_->tls().status();
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
    // An IP literal (the usual peer URL) needs no resolver, which would
    // cost a hop to the resolver's thread per new connection.
    beast::error_code ec;
    asio::ip::address address = asio::ip::make_address(host_, ec);
    char* end = nullptr;
    const unsigned long port = std::strtoul(port_.c_str(), &end, 10);
    if (!ec && end != port_.c_str() && *end == '\0' && port <= 65535) {
      endpoint_ = tcp::endpoint(address, static_cast<unsigned short>(port));
    }
  }

  ~HttpPeerClient() override {
    io_->Unregister(this);
    // Idle connections release their slots into a client still whole.
    idle_plain_.clear();
    idle_tls_.clear();
  }

  void DropPooled() override {
    // Waiters first: a connection that closes wakes one.
    waiters_.clear();
    idle_plain_.clear();
    idle_tls_.clear();
  }
  HttpPeerClient(const HttpPeerClient&) = delete;
  HttpPeerClient& operator=(const HttpPeerClient&) = delete;

  Result<ByteView> Get(const Context& ctx, std::string_view group, std::string_view key) override {
    return GetResult(Roundtrip(ctx, http::verb::get, Target(group, key), {}));
  }

  void GetAsync(const Context& ctx, std::string_view group, std::string_view key,
                std::function<void(Result<ByteView>)> done) override {
    GetAsyncAt(ctx, Target(group, key), std::move(done));
  }

  Result<ByteView> Fetch(const Context& ctx, std::string_view group,
                         std::string_view key) override {
    return GetResult(
        Roundtrip(ctx, http::verb::get, Target(group, key, PeerHandler::kForwardedQuery), {}));
  }

  void FetchAsync(const Context& ctx, std::string_view group, std::string_view key,
                  std::function<void(Result<ByteView>)> done) override {
    GetAsyncAt(ctx, Target(group, key, PeerHandler::kForwardedQuery), std::move(done));
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
  void GetAsyncAt(const Context& ctx, std::string target,
                  std::function<void(Result<ByteView>)> done) {
    Start(ctx, http::verb::get, std::move(target), {},
          [self = shared_from_this(), done = std::move(done)](const Outcome& out) {
            done(self->GetResult(out));
          });
  }

  // The request target for `key` of `group`, with `query` after a '?'
  // unless it is empty. A load's fetch carries the peer handler's mark as
  // its query: the owner serves it itself, never forwarding it again
  // (Group::Forwarded).
  std::string Target(std::string_view group, std::string_view key,
                     std::string_view query = {}) const {
    // The original golang/groupcache escapes with QueryEscape, the mailgun
    // and Tochemey forks with PathEscape; each server decodes %XX only.
    const bool golang = io_->options.ring.algorithm == RingAlgorithm::kGolang;
    const std::string g = golang ? QueryEscape(group) : PathEscape(group);
    const std::string k = golang ? QueryEscape(key) : PathEscape(key);
    const std::string& base = io_->options.base_path;
    std::string target;
    target.reserve(base.size() + g.size() + 1 + k.size() + 1 + query.size());
    target += base;
    target += g;
    target += '/';
    target += k;
    if (!query.empty()) {
      target += '?';
      target += query;
    }
    return target;
  }

  Status ErrorFor(const Outcome& out) const {
    std::string body(TrimSpace(out.body));
    if (out.http_status == 404) return NotFoundError(body);
    if (out.http_status == 400) return InvalidArgumentError("peer " + url_ + ": " + body);
    if (out.http_status == 503) return LoadFailedError("peer " + url_ + ": " + body);
    return UnavailableError("peer " + url_ + " answered " + std::to_string(out.http_status) + ": " +
                            body);
  }

  Result<ByteView> GetResult(const Outcome& out) const {
    if (!out.status.ok()) return out.status;
    if (out.http_status == 200 && out.value) return *out.value;
    return ErrorFor(out);
  }

  // The blocking form of Start: waits for the outcome.
  Outcome Roundtrip(const Context& ctx, http::verb verb, std::string target, std::string body) {
    // The exchange would need this very thread, which would be waiting.
    if (io_->OnIoThread()) {
      return Failed(InternalError("blocking call to peer " + url_ + " from its own I/O thread"));
    }
    auto promise = std::make_shared<std::promise<Outcome>>();
    std::future<Outcome> result = promise->get_future();
    Clock::time_point deadline =
        Start(ctx, verb, std::move(target), std::move(body),
              [promise](Outcome out) { promise->set_value(std::move(out)); });
    // Every operation of the exchange expires at the deadline; the margin
    // only covers an I/O thread that was stopped under us.
    if (result.wait_until(deadline + std::chrono::seconds(2)) != std::future_status::ready) {
      return Failed(UnavailableError("client stopped while waiting for " + url_));
    }
    try {
      return result.get();
    } catch (const std::future_error&) {  // the exchange was dropped unfinished
      return Failed(UnavailableError("client stopped"));
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
      done(Failed(config_error_));
      return deadline;
    }
    if (Status s = ctx.Err(); !s.ok()) {
      done(Failed(s));
      return deadline;
    }
    auto call = std::make_shared<Call>();
    // The hook posts to the I/O thread, which owns the connection.
    call->cancel_hook = ctx.OnCancel([weak = std::weak_ptr<Call>(call), io = io_] {
      io->Post([weak] {
        if (auto c = weak.lock()) {
          c->cancelled = true;
          c->Interrupt();
        }
      });
    });
    auto finish = [call](const std::exception_ptr& e, Outcome out,
                         const std::function<void(Outcome)>& then) {
      if (e) out.status = InternalError("client request threw");
      call->cancel_hook = {};
      then(std::move(out));
    };
    std::shared_ptr<HttpPeerClient> self = shared_from_this();
    // `done` stays with the caller until the spawn is sure to happen.
    bool spawned = io_->Spawn([&] {
      auto completion = [finish, done = std::move(done)](const std::exception_ptr& e, Outcome out) {
        finish(e, std::move(out), done);
      };
      if (tls_) {
        asio::co_spawn(io_->io,
                       Exchange<TlsStream>(std::move(self), call, verb, std::move(target),
                                           std::move(body), deadline, ctx_deadline),
                       std::move(completion));
      } else {
        asio::co_spawn(io_->io,
                       Exchange<TcpStream>(std::move(self), call, verb, std::move(target),
                                           std::move(body), deadline, ctx_deadline),
                       std::move(completion));
      }
    });
    if (!spawned) done(Failed(UnavailableError("client stopped")));
    return deadline;
  }

  // `detail`, if any, is appended to the error's own message.
  Status MapError(const beast::error_code& ec, const Call& call, bool ctx_deadline,
                  Clock::time_point deadline, std::string_view step,
                  const std::string& detail = {}) const {
    if (call.aborted) return UnavailableError(std::string(step) + " " + url_ + ": client stopped");
    if (call.cancelled) return CancelledError(std::string(step) + " " + url_ + ": cancelled");
    // A resolution or a wait for a connection is ended by cancelling it at
    // the deadline: operation_aborted then means a timeout.
    if (ec == beast::error::timeout ||
        (ec == asio::error::operation_aborted && Clock::now() >= deadline)) {
      if (ctx_deadline) return DeadlineExceededError(std::string(step) + " " + url_ + ": deadline");
      return UnavailableError(std::string(step) + " " + url_ + ": timed out");
    }
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

  // A connection to the peer with its place under max_connections_per_peer:
  // the place is given back (and a request waiting for one woken) when the
  // connection is destroyed, not when it goes back to the idle pool.
  template <class Stream>
  class Conn {
   public:
    Conn() = default;
    // A place under the cap, without a connection yet (Attach gives one).
    explicit Conn(HttpPeerClient* owner) : owner_(owner) { ++owner_->open_; }
    Conn(Conn&& other) noexcept
        : stream_(std::move(other.stream_)),
          owner_(std::exchange(other.owner_, nullptr)),
          idle_since_(other.idle_since_),
          read_buffer_(std::move(other.read_buffer_)) {}
    Conn& operator=(Conn&& other) noexcept {
      if (this != &other) {
        Release();
        stream_ = std::move(other.stream_);
        owner_ = std::exchange(other.owner_, nullptr);
        idle_since_ = other.idle_since_;
        read_buffer_ = std::move(other.read_buffer_);
      }
      return *this;
    }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    ~Conn() { Release(); }

    explicit operator bool() const { return stream_ != nullptr; }
    void Attach(std::unique_ptr<Stream> stream) { stream_ = std::move(stream); }
    Stream& operator*() const { return *stream_; }
    TcpStream& tcp() const { return beast::get_lowest_layer(*stream_); }
    Clock::time_point idle_since() const { return idle_since_; }
    void set_idle_since(Clock::time_point t) { idle_since_ = t; }
    // Answers are read into this, kept with the connection between
    // exchanges: a buffer of its own per exchange was an 8 KiB allocation
    // and release (outside malloc's per-thread cache) for every fetch.
    beast::flat_buffer& read_buffer() { return read_buffer_; }

   private:
    void Release() {
      if (owner_ == nullptr) return;
      stream_.reset();
      --owner_->open_;
      owner_->WakeOne();
      owner_ = nullptr;
    }
    std::unique_ptr<Stream> stream_;
    HttpPeerClient* owner_ = nullptr;
    Clock::time_point idle_since_;
    beast::flat_buffer read_buffer_;
  };

  // True if an idle connection can carry a request: the peer has neither
  // closed it (EOF, reset) nor sent anything (a close_notify, a stray
  // byte) while it sat in the pool. One non-blocking peek; what this
  // misses (a close racing the write) the retry on a new connection covers.
  static bool StillOpen(TcpStream& tcp) {
    char byte = 0;
    ssize_t n = ::recv(tcp.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  // The request's head, written by hand: it is always the same few fields,
  // and Beast's general serializer (a heap node per field) cost more than
  // the rest of the client's work on a proxied GET. HTTP/1.1 keeps the
  // connection alive without saying so; only a PUT has a body.
  static std::string RequestHead(http::verb verb, std::string_view target, std::string_view host,
                                 size_t body_size) {
    std::string head;
    head.reserve(target.size() + host.size() + 96);
    head += http::to_string(verb);
    head += ' ';
    head += target;
    head += " HTTP/1.1\r\nHost: ";
    head += host;
    head += "\r\nUser-Agent: groupcache-cpp\r\n";
    if (verb == http::verb::put) {
      head += "Content-Type: application/x-protobuf\r\nContent-Length: ";
      head += std::to_string(body_size);
      head += "\r\n";
    }
    head += "\r\n";
    return head;
  }

  // Stream: TcpStream or TlsStream. The deadline is the TCP layer's
  // expiry, which also bounds the TLS handshake's reads and writes; DNS
  // and waiting for a free connection are bounded by it too.
  template <class Stream>
  static asio::awaitable<Outcome> Exchange(std::shared_ptr<HttpPeerClient> self,
                                           std::shared_ptr<Call> call, http::verb verb,
                                           std::string target, std::string body,
                                           Clock::time_point deadline, bool ctx_deadline) {
    const HttpPoolOptions& options = self->io_->options;
    ActiveCall active(*self->io_, call.get());
    for (int attempt = 0;; ++attempt) {
      beast::error_code ec;
      // The first attempt may reuse an idle connection; a retry never does
      // (the next idle one may be as dead as the first).
      Conn<Stream> conn;
      bool reused = false;
      if (Status s = co_await self->Acquire(*call, deadline, ctx_deadline,
                                            /*may_reuse=*/attempt == 0, &conn, &reused);
          !s.ok()) {
        co_return Failed(s);
      }
      if (!reused) {
        if (Status s = co_await self->Connect(*call, deadline, ctx_deadline, &conn); !s.ok()) {
          co_return Failed(s);
        }
      }
      call->current = &conn.tcp();
      if (call->cancelled || call->aborted) {
        co_return Failed(self->MapError({}, *call, ctx_deadline, deadline, "request to"));
      }
      conn.tcp().expires_at(deadline);
      // An interrupt that came between two operations cancelled nothing:
      // the flags are checked after the write and before each read after
      // the first. True (ec set) if the exchange is to end.
      auto interrupted = [&call, &ec] {
        if (!ec && (call->cancelled || call->aborted)) ec = asio::error::operation_aborted;
        return ec.failed();
      };

      const std::string head = RequestHead(verb, target, self->host_header_, body.size());
      const std::array<asio::const_buffer, 2> request = {asio::buffer(head), asio::buffer(body)};
      // Over plain TCP a request usually fits the socket's send buffer: one
      // non-blocking send here, and only what did not fit goes through the
      // composed write, whose every step arms and cancels the stream's
      // timer (the server's answers go out the same way).
      size_t sent = 0;
      if constexpr (std::is_same_v<Stream, TcpStream>) {
        sent = SendNow(conn.tcp().socket(), request, ec);
      }
      if (!ec && sent < asio::buffer_size(request)) {
        co_await asio::async_write(*conn, Unsent(request, sent),
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      if (interrupted()) {
        call->current = nullptr;
        // A kept-alive connection the peer closed while it sat idle: the
        // request never reached it, so one retry on a new one is safe.
        if (reused && !call->cancelled && !call->aborted && Stale(ec)) continue;
        co_return Failed(self->MapError(ec, *call, ctx_deadline, deadline, "write"));
      }

      // Most answers take the short way (http_head.h): the head is parsed
      // in the read buffer and the body left there, from which a value is
      // copied once. Beast reads whatever the short way declines.
      // Empty: a connection is kept only with nothing left in it.
      beast::flat_buffer& buffer = conn.read_buffer();
      size_t n = co_await (*conn).async_read_some(buffer.prepare(kFirstRead),
                                                  asio::redirect_error(asio::use_awaitable, ec));
      buffer.commit(n);
      const bool got_some = n > 0;
      std::optional<SimpleResponseHead> simple;
      if (!ec) simple = ParseSimpleResponseHead(Readable(buffer), options.max_header_bytes);
      size_t total = 0;  // the short way's head and body
      if (simple && simple->content_length > options.max_body_bytes) {
        ec = http::error::body_limit;  // as Beast's parser says it
      } else if (simple) {
        total = simple->size + static_cast<size_t>(simple->content_length);
        while (buffer.size() < total && !interrupted()) {
          n = co_await (*conn).async_read_some(buffer.prepare(total - buffer.size()),
                                               asio::redirect_error(asio::use_awaitable, ec));
          buffer.commit(n);
        }
      }
      std::optional<http::response_parser<http::string_body>> parser;
      if (!simple && !interrupted()) {
        parser.emplace();
        parser->body_limit(options.max_body_bytes);
        parser->header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
        co_await http::async_read(*conn, buffer, *parser,
                                  asio::redirect_error(asio::use_awaitable, ec));
      }
      call->current = nullptr;
      if (ec) {
        // Retry only if not a byte of the answer came back (never after a
        // partial response) and the failure is a closed connection. Every
        // request of the protocol is idempotent (GET, PUT of one value,
        // DELETE), so a request the peer did see is safe to repeat too.
        if (reused && !got_some && !(parser && parser->got_some()) && !call->cancelled &&
            !call->aborted && Stale(ec)) {
          continue;
        }
        co_return Failed(self->MapError(ec, *call, ctx_deadline, deadline, "read"));
      }
      Outcome out;
      bool keep_alive = false;
      if (simple) {
        out = self->Answer(verb, static_cast<unsigned>(simple->status),
                           Readable(buffer).substr(simple->size, total - simple->size));
        buffer.consume(total);
        keep_alive = simple->keep_alive;
      } else {
        const http::response<http::string_body>& response = parser->get();
        out = self->Answer(verb, response.result_int(), response.body());
        keep_alive = response.keep_alive();
      }
      // Bytes past the answer were never asked for: the connection's
      // state is unknown, so it is not reused.
      if (keep_alive && buffer.size() == 0 && !call->aborted) {
        // An idle connection keeps a buffer of the usual size, not one
        // grown for a large answer.
        if (buffer.capacity() > kKeptReadBuffer) buffer.shrink_to_fit();
        conn.tcp().expires_never();
        self->PutIdle(std::move(conn));
      }
      co_return out;
    }
  }

  // The first read of an answer: a whole GetResponse of a few KiB, as
  // most are, needs no second one.
  static constexpr size_t kFirstRead = 8192;
  // The most read buffer an idle connection keeps (see Conn::read_buffer).
  static constexpr size_t kKeptReadBuffer = 16384;

  // The outcome of an answer read whole: a GET's 200 decoded into its
  // value, anything else with its body (an error's text).
  Outcome Answer(http::verb verb, unsigned status, std::string_view body) const {
    Outcome out{{}, status, {}, {}};
    if (verb == http::verb::get && status == 200) {
      out.value = DecodeGetResponse(body);
      if (!out.value)
        out.status = UnavailableError("peer " + url_ + " sent an undecodable GetResponse");
    } else {
      out.body = body;
    }
    return out;
  }

  // A connection for the next attempt into *conn: an idle one if
  // `may_reuse` and one is usable (*reused set), else an empty Conn holding
  // a place under the per-peer cap, for which the caller connects. Waits,
  // up to the deadline, while the peer has max_connections_per_peer open.
  template <class Stream>
  asio::awaitable<Status> Acquire(Call& call, Clock::time_point deadline, bool ctx_deadline,
                                  bool may_reuse, Conn<Stream>* conn, bool* reused) {
    const int cap = std::max(1, io_->options.max_connections_per_peer);
    for (;;) {
      if (call.cancelled || call.aborted) {
        co_return MapError({}, call, ctx_deadline, deadline, "connection to");
      }
      if (may_reuse) {
        if (Conn<Stream> idle = TakeIdle<Stream>()) {
          *reused = true;
          *conn = std::move(idle);
          co_return Status();
        }
      } else if (open_ >= cap && !Idle<Stream>().empty()) {
        // A retry must open a new connection: an idle one makes room.
        Idle<Stream>().erase(Idle<Stream>().begin());
      }
      if (open_ < cap) {
        *conn = Conn<Stream>(this);
        co_return Status();
      }
      // Wait for a connection to come back or to close.
      asio::steady_timer timer(io_->io, deadline);
      waiters_.push_back(&timer);
      call.waiting = &timer;
      beast::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      call.waiting = nullptr;
      const bool woken = std::erase(waiters_, &timer) == 0;
      if (call.cancelled || call.aborted || Clock::now() >= deadline) {
        // Woken for a connection it will not take: the next waiter gets it.
        if (woken) WakeOne();
        if (!ec) ec = asio::error::operation_aborted;  // the timer expired
        co_return MapError(ec, call, ctx_deadline, deadline,
                           "no free connection (max_connections_per_peer) to");
      }
    }
  }

  // Looks host_ up by `deadline`. getaddrinfo cannot be interrupted
  // (cancelling Asio's resolver only drops its answer once it comes), so
  // the call waits on a timer instead, which the lookup's answer, the
  // deadline or an Interrupt ends. A lookup that outlives its caller runs
  // on in the background and its answer is dropped; stopping the client
  // still waits for it (it is pending work on the io_context, and Asio
  // joins its resolver thread).
  asio::awaitable<void> Resolve(Call& call, Clock::time_point deadline,
                                tcp::resolver::results_type* out, beast::error_code& ec) {
    struct Lookup {
      explicit Lookup(asio::io_context& io) : resolver(io), wake(io) {}
      tcp::resolver resolver;
      asio::steady_timer wake;
      bool done = false;
      beast::error_code ec;
      tcp::resolver::results_type results;
    };
    auto lookup = std::make_shared<Lookup>(io_->io);
    lookup->wake.expires_at(deadline);
    // The handler keeps the lookup (and so the resolver) alive until the
    // answer comes, however long after the caller left.
    lookup->resolver.async_resolve(
        host_, port_, [lookup](const beast::error_code& e, tcp::resolver::results_type results) {
          lookup->done = true;
          lookup->ec = e;
          lookup->results = std::move(results);
          lookup->wake.cancel();
        });
    call.waiting = &lookup->wake;
    beast::error_code waited;
    co_await lookup->wake.async_wait(asio::redirect_error(asio::use_awaitable, waited));
    call.waiting = nullptr;
    if (lookup->done) {
      ec = lookup->ec;
      *out = std::move(lookup->results);
    } else {
      // The deadline passed (the timer expired), or the call was
      // cancelled or aborted (operation_aborted): MapError tells which.
      ec = waited ? waited : beast::error_code(beast::error::timeout);
      lookup->resolver.cancel();
    }
  }

  // Opens *conn (holding its place, without a stream yet): resolves
  // (unless the host is an IP literal), connects, and for TLS handshakes.
  template <class Stream>
  asio::awaitable<Status> Connect(Call& call, Clock::time_point deadline, bool ctx_deadline,
                                  Conn<Stream>* conn) {
    constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
    std::unique_ptr<Stream> stream;
    if constexpr (kTls) {
      stream = std::make_unique<Stream>(io_->io, **io_->tls());
    } else {
      stream = std::make_unique<Stream>(io_->io);
    }
    conn->Attach(std::move(stream));
    TcpStream& tcp_layer = conn->tcp();
    call.current = &tcp_layer;
    if (call.cancelled || call.aborted)
      co_return MapError({}, call, ctx_deadline, deadline, "connect");
    tcp_layer.expires_at(deadline);
    beast::error_code ec;
    if (endpoint_) {
      co_await tcp_layer.async_connect(*endpoint_, asio::redirect_error(asio::use_awaitable, ec));
    } else {
      tcp::resolver::results_type endpoints;
      co_await Resolve(call, deadline, &endpoints, ec);
      if (!ec) {
        co_await tcp_layer.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
      }
    }
    if (ec) {
      call.current = nullptr;
      co_return MapError(ec, call, ctx_deadline, deadline, "connect");
    }
    if (call.cancelled || call.aborted) {
      call.current = nullptr;
      co_return MapError({}, call, ctx_deadline, deadline, "connect");
    }
    if constexpr (!kTls) {
      // For the request's direct send (see Exchange): a full send buffer
      // then says so instead of blocking.
      conn->tcp().socket().non_blocking(true, ec);
    }
    if constexpr (kTls) {
      if (Status s = PrepareTls(**conn); !s.ok()) {
        call.current = nullptr;
        co_return s;
      }
      co_await (**conn).async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        call.current = nullptr;
        co_return MapError(ec, call, ctx_deadline, deadline, "TLS handshake with",
                           VerifyFailure((**conn).native_handle()));
      }
    }
    co_return Status();
  }

  // Idle connections, most recently used last: touched on the I/O thread
  // only. A client has one scheme, so only one of the two pools is used.
  template <class Stream>
  std::vector<Conn<Stream>>& Idle() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      return idle_tls_;
    } else {
      return idle_plain_;
    }
  }

  // The most recently used idle connection that is young enough and still
  // open, or an empty Conn. Those found too old or closed are dropped.
  template <class Stream>
  Conn<Stream> TakeIdle() {
    auto& idle = Idle<Stream>();
    const Clock::time_point oldest = Clock::now() - io_->options.client_idle_timeout;
    while (!idle.empty()) {
      Conn<Stream> conn = std::move(idle.back());
      idle.pop_back();
      if (conn.idle_since() < oldest) {
        idle.clear();  // the rest went idle earlier still
        return {};
      }
      if (StillOpen(conn.tcp())) return conn;
    }
    return {};
  }

  template <class Stream>
  void PutIdle(Conn<Stream> conn) {
    auto& idle = Idle<Stream>();
    const Clock::time_point now = Clock::now();
    // Trim connections that aged out at the cold end.
    const Clock::time_point oldest = now - io_->options.client_idle_timeout;
    size_t aged = 0;
    while (aged < idle.size() && idle[aged].idle_since() < oldest) ++aged;
    if (aged > 0) idle.erase(idle.begin(), idle.begin() + static_cast<std::ptrdiff_t>(aged));
    if (static_cast<int>(idle.size()) >= io_->options.client_pool_size) return;  // conn closes
    conn.set_idle_since(now);
    idle.push_back(std::move(conn));
    WakeOne();
  }

  // A request waiting for a connection to this peer gets to look again.
  void WakeOne() {
    if (waiters_.empty()) return;
    asio::steady_timer* timer = waiters_.front();
    waiters_.pop_front();
    timer->cancel();
  }

  const std::shared_ptr<ClientIo::Impl> io_;
  const std::string url_;
  std::string host_;
  std::string port_;
  std::string host_header_;
  bool tls_ = false;
  Status config_error_;                    // a bad URL or client_tls: every call fails with it
  std::optional<tcp::endpoint> endpoint_;  // set when host_ is an IP literal
  // The pool, on the I/O thread only.
  std::vector<Conn<TcpStream>> idle_plain_;
  std::vector<Conn<TlsStream>> idle_tls_;
  int open_ = 0;                             // connections open, idle or in use
  std::deque<asio::steady_timer*> waiters_;  // requests waiting for one
};

}  // namespace

ClientIo::ClientIo(const HttpPoolOptions& options) : impl_(std::make_shared<Impl>(options)) {}

ClientIo::ClientIo(const HttpPoolOptions& options, asio::io_context& io)
    : impl_(std::make_shared<Impl>(options, io)) {}

ClientIo::~ClientIo() { Stop(); }

void ClientIo::Stop() { impl_->Stop(); }

void ClientIo::Release() { impl_->Release(); }

Status ClientIo::tls_status() const { return impl_->tls_status(); }

std::shared_ptr<PeerClient> ClientIo::NewClient(const std::string& url) {
  return std::make_shared<HttpPeerClient>(impl_, url);
}

std::function<std::shared_ptr<PeerClient>(const std::string&)> ClientIo::Factory() const {
  return [impl = impl_](const std::string& url) -> std::shared_ptr<PeerClient> {
    return std::make_shared<HttpPeerClient>(impl, url);
  };
}

}  // namespace groupcache::internal
