// The HTTP server and the HttpPool around it. Beast/Asio lives here and in
// http_client.cc only.

#include <array>
#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "api_handler.h"
#include "direct_send.h"
#include "escape.h"
#include "groupcache/http_pool.h"
#include "groupcache/ring_peer_picker.h"
#include "http_client.h"
#include "http_head.h"
#include "peer_handler.h"
#include "server_limits.h"
#include "tls_context.h"
#include "worker_pool.h"

namespace groupcache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using internal::ApiHandler;
using internal::PeerHandler;
using internal::PeerReply;

namespace {

// A connection's timeouts, with one timer per connection instead of one per
// read and write. ExpireAfter only moves a deadline; the timer wakes every
// `period` (the shortest timeout in use, so no deadline is missed by more
// than scheduling delay), and closes the socket once the deadline has
// passed, which fails the operation in progress. Arming and cancelling a
// timer around every read and write (what beast::tcp_stream does) cost a
// tenth of a cache hit.
//
// Single-threaded: the timer runs on the socket's executor, which is the
// connection's strand when the server has several I/O threads.
class Watchdog {
 public:
  Watchdog(tcp::socket& socket, Clock::duration period)
      : state_(std::make_shared<State>(socket, period)) {
    Wait(state_);
  }
  ~Watchdog() {
    state_->socket = nullptr;
    state_->timer.cancel();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Closes the connection from any thread, on the connection's own
  // executor, if it is still there by then: if it is idle (its slot is
  // wanted), or whatever it does when `even_busy` (the server stops).
  std::function<void(bool even_busy)> Closer() const {
    return [weak = std::weak_ptr<State>(state_)](bool even_busy) {
      std::shared_ptr<State> state = weak.lock();
      if (state == nullptr) return;
      asio::post(state->timer.get_executor(), [state, even_busy] {
        // Chosen from a snapshot: a request may have begun since.
        if (state->socket == nullptr || (!state->idle && !even_busy)) return;
        state->expired = true;
        beast::error_code ignored;
        state->socket->close(ignored);
      });
    };
  }

  void ExpireAfter(Clock::duration timeout) { state_->deadline = Clock::now() + timeout; }
  // As ExpireAfter, for a timeout that may be shorter than the period: the
  // timer is re-armed for the deadline (a re-arm per call, so not for every
  // request).
  void ExpireAfterExactly(Clock::duration timeout) {
    ExpireAfter(timeout);
    if (state_->timer.expiry() > state_->deadline) Wait(state_);  // the old wait ends aborted
  }
  void Disarm() { state_->deadline = Clock::time_point::max(); }
  // Whether the connection waits for a request (only then may Closer's
  // close take effect).
  void SetIdle(bool idle) { state_->idle = idle; }
  // True once a deadline passed and the socket was closed for it.
  bool expired() const { return state_->expired; }

 private:
  struct State {
    State(tcp::socket& s, Clock::duration p) : timer(s.get_executor()), socket(&s), period(p) {}
    asio::steady_timer timer;
    tcp::socket* socket;  // null once the connection is gone
    const Clock::duration period;
    Clock::time_point deadline = Clock::time_point::max();
    bool expired = false;
    bool idle = true;
  };

  // The handler holds the state, not the Watchdog: it may run after the
  // connection ended (then it finds no socket and stops).
  static void Wait(const std::shared_ptr<State>& state) {
    Clock::time_point now = Clock::now();
    state->timer.expires_at(std::min(state->deadline, now + state->period));
    state->timer.async_wait([state](const beast::error_code& ec) {
      if (ec || state->socket == nullptr) return;
      if (Clock::now() >= state->deadline) {
        state->expired = true;
        beast::error_code ignored;
        state->socket->close(ignored);
        return;
      }
      Wait(state);
    });
  }

  std::shared_ptr<State> state_;
};

// Posts to the server's executors from other threads (the clients' own
// thread when io_threads > 1, workers, application threads finishing a
// load a request waits on) for as long as the server's io_context exists;
// Close() makes later posts no-ops.
class PostGate {
 public:
  void Post(const asio::any_io_executor& executor, std::function<void()> fn) {
    std::lock_guard lock(mu_);
    if (open_) asio::post(executor, std::move(fn));
  }
  void Close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }

 private:
  std::mutex mu_;
  bool open_ = true;  // GUARDED_BY(mu_)
};

// A request waiting for an asynchronous load: the load's callback leaves
// the reply here and wakes the request's timer; the request stops waiting
// at its deadline if the reply has not come.
struct ReplyWait {
  std::mutex mu;
  std::optional<PeerReply> reply;       // GUARDED_BY(mu)
  asio::steady_timer* timer = nullptr;  // GUARDED_BY(mu); null once done waiting
  asio::any_io_executor executor;       // the request's own (its strand)
  // The io_context when the request's executor is that io_context's own
  // (one I/O thread): a reply that comes on its thread wakes the timer at
  // once, without a post. GUARDED_BY(mu); null once done waiting.
  asio::io_context* io = nullptr;
};

}  // namespace

class HttpPool::Impl {
 public:
  // `server_tls`: null for plain HTTP.
  Impl(Registry* registry, std::string self, HttpPoolOptions options,
       std::shared_ptr<asio::ssl::context> server_tls)
      : options_(std::move(options)),
        logger_(options_.logger ? options_.logger : registry->logger()),
        self_(std::move(self)),
        handler_(registry, options_, logger_.get()),
        api_(registry, options_),
        // One I/O thread (the default) also runs the peer fetches: a
        // request proxied to the key's owner then crosses no thread. With
        // more, the clients keep a thread of their own (a connection's
        // state is single-threaded). io_ is constructed later; it is only
        // stored now.
        clients_(options_.io_threads == 1 ? internal::ClientIo(options_, io_)
                                          : internal::ClientIo(options_)),
        picker_(std::make_shared<RingPeerPicker>(self_, options_.ring, clients_.Factory())),
        body_budget_(options_.max_body_bytes_in_flight),
        server_tls_(std::move(server_tls)),
        io_(std::max(1, options_.io_threads)),
        acceptor_(io_) {}

  ~Impl() { Shutdown(std::chrono::milliseconds(0)); }

  Status Listen(const std::string& listen) {
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgumentError("listen address must be HOST:PORT, not '" + listen + "'");
    }
    std::string host = listen.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    int port = 0;
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (const std::exception&) {
      port = -1;
    }
    if (port < 0 || port > 65535) return InvalidArgumentError("bad port in '" + listen + "'");
    beast::error_code ec;
    auto address = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
    if (ec) return InvalidArgumentError("bad listen host '" + host + "': " + ec.message());
    tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    if (acceptor_.open(endpoint.protocol(), ec); ec) return Bind(listen, ec);
    if (acceptor_.set_option(asio::socket_base::reuse_address(true), ec); ec) {
      return Bind(listen, ec);
    }
    if (acceptor_.bind(endpoint, ec); ec) return Bind(listen, ec);
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec)
      return Bind(listen, ec);
    port_ = acceptor_.local_endpoint().port();
    return {};
  }

  // Accepts and serves what connects from now on (and what connected since
  // Listen, which waited in the kernel's backlog).
  void Serve() {
    asio::co_spawn(accept_strand_, Accept(), asio::detached);
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }

  // The order matters: every request in flight must end with an answer or
  // an error, and every load it waits on must be released.
  //  1. Stop accepting; let requests in flight finish within `timeout`.
  //     Then cancel the context of every load and job still running.
  //  2. Close the workers: loads still queued are dropped, which completes
  //     them with Unavailable (their waiters are answered); running ones
  //     are waited for. Later loads are refused (the group's runner holds
  //     the workers, not this object).
  //  3. Stop the clients: peer fetches in flight end with Unavailable.
  //  4. Give the requests just answered a moment to be written, close
  //     every connection (idle keep-alive ones too), then stop the I/O
  //     threads. The clients, which may outlive this pool, drop their
  //     connections if they were on the server's io_context.
  void Shutdown(std::chrono::milliseconds timeout) {
    std::lock_guard lock(shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
    draining_.store(true, std::memory_order_relaxed);  // answers say Connection: close
    // On the accept loop's strand: with several I/O threads the acceptor
    // and its pause timer must not be touched from two at once. Waited
    // for: once Shutdown returns, a connect must be refused.
    auto close_acceptor = [this] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_pause_.cancel();
    };
    if (threads_.empty()) {
      close_acceptor();  // never served (Start failed): nothing runs the strand
    } else {
      auto acceptor_closed = std::make_shared<std::promise<void>>();
      asio::post(accept_strand_, [close_acceptor, acceptor_closed] {
        close_acceptor();
        acceptor_closed->set_value();
      });
      (void)acceptor_closed->get_future().wait_for(std::chrono::seconds(1));
    }
    WaitForRequests(timeout);
    // What is still running is out of time: loads and jobs waiting on a
    // getter or a peer are cancelled (a getter that honours its context
    // ends now; their requests are answered 503), so that the joins below
    // do not wait out their own deadlines (up to ?timeout=, 5 minutes).
    stopping_.Cancel();
    workers_->Close();
    clients_.Stop();
    WaitForRequests(std::min(timeout, std::chrono::milliseconds(500)));
    // Every connection is closed, idle keep-alive ones included, before the
    // threads stop: stopped, they would stay open (and silent) until the
    // pool is destroyed, and a peer would send its next request into one.
    connections_.CloseAll();
    for (int i = 0; i < 100 && connections_.size() > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    clients_.Release();
    // Loads that still finish (an application thread's) post nothing now.
    gate_->Close();
  }

  void AddHandler(const std::string& method, const std::string& path, Handler handler) {
    std::lock_guard lock(handlers_mu_);
    handlers_[method + " " + path] = std::move(handler);
  }

  const HttpPoolOptions options_;
  const std::shared_ptr<Logger> logger_;
  const std::string self_;
  PeerHandler handler_;
  ApiHandler api_;
  internal::ClientIo clients_;
  // Shared with the registries it is given to: it outlives the pool, and
  // its clients then fail with Unavailable.
  const std::shared_ptr<RingPeerPicker> picker_;
  int port_ = 0;

 private:
  static Status Bind(const std::string& listen, const beast::error_code& ec) {
    return UnavailableError("cannot listen on " + listen + ": " + ec.message());
  }

  void WaitForRequests(std::chrono::milliseconds timeout) {
    auto end = Clock::now() + timeout;
    while (in_flight_.load() > 0 && Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Logs `message` at most once per 10 s per limiter, with the count of
  // lines held back: a condition that repeats thousands of times a second
  // (EMFILE, a full connection table) must not fill the disk.
  void LogLimited(internal::LogLimiter& limiter, LogLevel level, std::string_view message,
                  std::initializer_list<LogField> fields) {
    int64_t suppressed = 0;
    if (!logger_->Enabled(level) || !limiter.Allow(Clock::now(), &suppressed)) return;
    if (suppressed == 0) {
      logger_->Log(level, message, fields);
      return;
    }
    std::string counted(message);
    counted += " (" + std::to_string(suppressed) + " more since the last such line)";
    logger_->Log(level, counted, fields);
  }

  static bool OutOfResources(const beast::error_code& ec) {
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays in the
    // backlog and the listening socket readable; only a pause helps.
    return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
           ec == asio::error::no_memory ||
           (ec.category() == boost::system::system_category() && ec.value() == ENFILE);
  }

  asio::awaitable<void> Accept() {
    internal::AcceptBackoff backoff;
    for (;;) {
      beast::error_code ec;
      // With several I/O threads each connection runs on a strand, so that
      // its coroutine and its watchdog never run at once; with one (the
      // default) the io_context itself is that strand.
      asio::any_io_executor executor = io_.get_executor();
      if (own_io_ == nullptr) executor = asio::make_strand(io_);
      tcp::socket socket =
          co_await acceptor_.async_accept(executor, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        if (ec == asio::error::connection_aborted) continue;  // the client left first
        std::chrono::milliseconds pause = backoff.Fail();
        // Out of descriptors with idle keep-alive connections open: the
        // longest-idle one gives its descriptor to whoever is waiting.
        const bool made_room = OutOfResources(ec) && connections_.CloseLongestIdle();
        LogLimited(accept_log_, LogLevel::kWarn,
                   OutOfResources(ec) ? "accept failed: out of descriptors or memory; pausing"
                                      : "accept failed; pausing",
                   {{"error", ec.message()},
                    {"pause_ms", std::to_string(pause.count())},
                    {"closed_an_idle_connection", made_room ? "true" : "false"}});
        accept_pause_.expires_after(pause);
        co_await accept_pause_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      backoff.Succeed();
      if (connections_.size() >= static_cast<size_t>(std::max(1, options_.max_connections)) &&
          !connections_.CloseLongestIdle()) {
        LogLimited(limit_log_, LogLevel::kWarn,
                   "connection limit reached and no connection idle; closing a new connection",
                   {{"limit", std::to_string(options_.max_connections)}});
        socket.close(ec);
        continue;
      }
      asio::co_spawn(executor, Connection(std::move(socket)), [this](const std::exception_ptr& e) {
        if (e) logger_->Error("connection ended with an exception");
      });
    }
  }

  // One coroutine per connection. With TLS, the handshake comes first
  // (bounded by the header timeout); a client that fails it (plain HTTP,
  // no or a bad certificate) only loses its own connection. Both kinds of
  // stream then run the same request loop, which takes the stream by
  // reference (see RunOnWorker on why not by value).
  asio::awaitable<void> Connection(tcp::socket socket) {
    const Clock::duration period =
        std::min({options_.idle_timeout, options_.header_timeout, options_.request_timeout});
    if (!server_tls_) {
      // Session's answers try a send at once: it must fail with
      // would_block rather than wait when the send buffer is full.
      beast::error_code nb;
      socket.non_blocking(true, nb);
      Watchdog watchdog(socket, period);
      auto entry = connections_.Add(watchdog.Closer());
      const bool in_order = co_await Session(socket, watchdog, *entry);
      beast::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      if (in_order) co_await Linger(socket, watchdog);
      co_return;
    }
    beast::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    beast::ssl_stream<tcp::socket> stream(std::move(socket), *server_tls_);
    Watchdog watchdog(beast::get_lowest_layer(stream), period);
    auto entry = connections_.Add(watchdog.Closer());
    watchdog.ExpireAfter(options_.header_timeout);
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      // A client that went away (or a port probe) is routine; anything else
      // is a misconfigured peer that an operator wants to hear about.
      bool routine = watchdog.expired() || ec == asio::error::eof ||
                     ec == asio::ssl::error::stream_truncated ||
                     ec == asio::error::operation_aborted || ec == asio::error::connection_reset;
      LogLevel level = routine ? LogLevel::kDebug : LogLevel::kWarn;
      if (logger_->Enabled(level)) {
        std::string client = remote.address().to_string() + ":" + std::to_string(remote.port());
        std::string error = watchdog.expired() ? "timed out" : ec.message();
        if (std::string why = internal::VerifyFailure(stream.native_handle()); !why.empty()) {
          error += ": " + why;
        }
        LogLimited(handshake_log_, level, "TLS handshake failed",
                   {{"client", client}, {"error", error}});
      }
      co_return;
    }
    if (co_await Session(stream, watchdog, *entry)) {
      // The exchange ended in good order: say so with a close_notify. The
      // client answers it or drops the connection, either of which ends
      // the wait; a client that does neither is cut off at the timeout.
      watchdog.ExpireAfter(options_.request_timeout);
      co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    }
    beast::error_code ignored;
    beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_send, ignored);
  }

  // What one read asks for; also the read buffer's room beyond a header.
  static constexpr size_t kReadChunk = 65536;

  // After the last answer, before the close: the client may still be
  // sending (a body refused with 413 before it was read, a request sent
  // behind one answered with Connection: close). A socket closed with
  // unread input makes the kernel answer with a reset, and a client still
  // writing then fails on its write and never reads the answer. So read
  // and drop what comes until the client closes, for at most kLingerTime
  // and kLingerBytes (RFC 9112 9.6, "lingering close"). A client that
  // already closed costs one read.
  static constexpr std::chrono::seconds kLingerTime{1};
  static constexpr size_t kLingerBytes = size_t{4} << 20;
  asio::awaitable<void> Linger(tcp::socket& socket, Watchdog& watchdog) {
    watchdog.SetIdle(false);
    watchdog.ExpireAfterExactly(kLingerTime);  // the period may be longer
    std::array<char, 4096> drop{};
    for (size_t dropped = 0; dropped < kLingerBytes;) {
      beast::error_code ec;
      dropped += co_await socket.async_read_some(asio::buffer(drop),
                                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;  // the client's close, the watchdog's, or the server's stop
    }
    watchdog.Disarm();
  }

  // A request body's share of max_body_bytes_in_flight, given back when
  // the request is answered.
  class BodyReservation {
   public:
    BodyReservation() = default;
    BodyReservation(internal::BodyBudget* budget, size_t bytes) : budget_(budget), bytes_(bytes) {}
    BodyReservation(BodyReservation&& other) noexcept
        : budget_(std::exchange(other.budget_, nullptr)), bytes_(other.bytes_) {}
    BodyReservation& operator=(BodyReservation&& other) noexcept {
      if (this != &other) {
        Reset();
        budget_ = std::exchange(other.budget_, nullptr);
        bytes_ = other.bytes_;
      }
      return *this;
    }
    BodyReservation(const BodyReservation&) = delete;
    BodyReservation& operator=(const BodyReservation&) = delete;
    ~BodyReservation() { Reset(); }
    void Reset() {
      if (budget_ != nullptr) budget_->Release(bytes_);
      budget_ = nullptr;
    }

   private:
    internal::BodyBudget* budget_ = nullptr;
    size_t bytes_ = 0;
  };

  // The request loop: wait for a request, read it, handle, write. Between
  // requests a connection is idle (idle_timeout, and a candidate to make
  // room at max_connections); from a request's first byte its header must
  // come within header_timeout, and its body and its response each within
  // request_timeout. Stream: a TCP socket, or a TLS stream over one after
  // its handshake. True if it ended in good order (the client closed, or
  // the last response said Connection: close); false on a timeout or an
  // error.
  template <class Stream>
  asio::awaitable<bool> Session(Stream& stream, Watchdog& watchdog,
                                internal::ConnectionTable::Entry& entry) {
    // Bounded: a body goes into its message as it comes, so the buffer
    // only ever holds a header, chunk framing or pipelined requests. Beast
    // puts no limit of its own on a chunk extension or a trailer, which a
    // client could otherwise send until request_timeout, growing this
    // buffer by all of it.
    beast::flat_buffer buffer(options_.max_header_bytes + kReadChunk);
    std::string head;  // reused: a response head allocates nothing
    for (bool answered = false;; answered = true) {
      beast::error_code ec;
      if (buffer.size() == 0) {
        // Idle until the first byte: a read of whatever comes (usually the
        // whole request, so the header read below needs no read of its own).
        entry.SetIdle(Clock::now());
        watchdog.SetIdle(true);
        watchdog.ExpireAfter(options_.idle_timeout);
        auto read = [&stream, &buffer](auto handler) {
          stream.async_read_some(buffer.prepare(beast::read_size(buffer, kReadChunk)),
                                 std::move(handler));
        };
        // Asio reads speculatively: a read started right after an answer
        // went out finds nothing yet (the client has not even seen the
        // answer) and costs an empty recv, a third of a warm GET's system
        // calls. Started behind the other connections' ready work instead,
        // it usually finds the next request in; on an idle server it runs
        // at once, as before. The read itself is posted, not the coroutine
        // (co_await post, then the read, was a second suspension per request
        // and cost more than the empty recv when few connections are busy).
        // With one I/O thread the post goes to the io_context's own
        // executor, which the connection's is: through the type-erased one
        // it cost a second allocation, which missed Asio's per-thread cache
        // (two blocks) whenever more than two connections were answered in
        // a row, a tenth of a warm GET.
        auto token = asio::redirect_error(asio::use_awaitable, ec);
        size_t n = co_await asio::async_initiate<decltype(token), void(beast::error_code, size_t)>(
            [&](auto handler) {
              if (!answered) return read(std::move(handler));
              auto deferred = [read, handler = std::move(handler)]() mutable {
                read(std::move(handler));
              };
              if (own_io_ != nullptr) {
                asio::post(own_io_->get_executor(), std::move(deferred));
              } else {
                asio::post(stream.get_executor(), std::move(deferred));
              }
            },
            token);
        buffer.commit(n);
        watchdog.Disarm();
        entry.SetBusy();
        // A TLS client that closes without a close_notify (most do, between
        // requests) shows as a truncated stream rather than end_of_stream.
        if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) co_return true;
        if (ec) co_return false;  // timed out, closed to make room, or reset
      }
      entry.SetBusy();
      watchdog.SetIdle(false);
      PeerReply reply;
      bool close = false;
      bool http10 = false;
      BodyReservation body_share;
      // The request to answer, once read: views into the read buffer (the
      // short way) or into Beast's parsed message (the long way).
      bool ready = false;
      std::string_view method;
      std::string_view target;
      const std::string* request_body = &no_body_;
      size_t short_head = 0;  // the short way's head, consumed once answered
      // Most requests are a plain GET, whole after the idle read: they take
      // the short way (http_head.h). Beast parses everything else.
      std::optional<http::request_parser<http::string_body>> parser;
      bool refused_head = false;
      if (std::optional<internal::SimpleRequestHead> simple = internal::ParseSimpleRequestHead(
              internal::Readable(buffer), options_.max_header_bytes)) {
        ready = true;
        method = simple->method;
        target = simple->target;
        close = !simple->keep_alive;
        http10 = simple->version == 10;
        short_head = simple->size;
      } else {
        parser.emplace();
        switch (co_await ReadWithBeast(stream, buffer, watchdog, *parser, body_share, reply)) {
          case LongRead::kRequest: {
            const http::request<http::string_body>& request = parser->get();
            ready = true;
            method = request.method_string();
            target = request.target();
            request_body = &request.body();
            close = !request.keep_alive();
            http10 = request.version() == 10;
            break;
          }
          case LongRead::kReply:
            // Refused before it was read whole (400, 413, 431, 503): the
            // request line was parsed first, so a HEAD is known as one.
            refused_head = parser->get().method() == http::verb::head;
            close = true;
            break;
          case LongRead::kClosed: co_return true;
          case LongRead::kFailed: co_return false;
        }
      }
      // Known before the buffer is consumed (the method points into it).
      const bool head_request = ready ? method == "HEAD" : refused_head;
      if (ready) {
        ++in_flight_;
        // Cache hits and cheap requests are answered right here; a miss
        // waits for its load without holding a thread; only other handlers
        // hop to a worker and back.
        std::function<PeerReply()> job;
        std::chrono::milliseconds job_timeout{0};  // a job's own deadline, if it has one
        std::optional<PeerHandler::Pending> miss;
        std::optional<ApiHandler::Pending> api_miss;
        const bool quick =
            Prepare(method, target, *request_body, &reply, &job, &job_timeout, &miss, &api_miss);
        body_share.Reset();  // the body was consumed or copied
        if (!quick) {
          if (miss) {
            reply = co_await Load(*miss);
          } else if (api_miss) {
            reply = co_await LoadForClient(*api_miss);
          } else {
            reply = co_await RunOnWorker(job, job_timeout);
          }
        }
        --in_flight_;
        buffer.consume(short_head);  // method and target pointed into it
      }
      body_share.Reset();
      // The response head is written by hand: it is always the same few
      // fields, and Beast's general serializer cost more than the rest of
      // a cache hit.
      // A value goes out from the cache's own bytes, framed as a
      // GetResponse (the frame's prefix ends the head's buffer).
      internal::GetResponseFrame frame;  // empty unless a value is sent
      std::string_view body = reply.body;
      if (reply.value) {
        if (!reply.raw_value) frame = internal::FrameGetResponse(*reply.value);
        body = reply.value->view();
      }
      // A stopping server says so: the client opens its next connection
      // elsewhere rather than sending into this one as it closes.
      if (draining_.load(std::memory_order_relaxed)) [[unlikely]] {
        close = true;
      }
      WriteHead(reply, frame.Size(body.size()), close, http10, &head);
      // Whatever the handler put in it, the answer to a HEAD, a 204 and a
      // 304 has no body (RFC 9110 9.3.2, 15.3.5, 15.4.5): the client would
      // read those bytes as the start of its next response. The head keeps
      // the length a GET would get (none on a 204).
      if (reply.head_only || head_request || reply.status == 204 || reply.status == 304) {
        body = {};
        frame = {};
      }
      head.append(frame.prefix.data(), frame.prefix_size);
      std::array<asio::const_buffer, 3> out = {
          asio::buffer(head), asio::buffer(body),
          asio::buffer(frame.suffix.data(), frame.suffix_size)};
      // Over plain TCP an answer usually fits the socket's send buffer: one
      // non-blocking send here, and only what did not fit goes through the
      // composed write (whose completion is a trip through the scheduler),
      // under request_timeout.
      size_t sent = 0;
      if constexpr (std::is_same_v<Stream, tcp::socket>) sent = internal::SendNow(stream, out, ec);
      if (!ec && sent < asio::buffer_size(out)) {
        watchdog.ExpireAfter(options_.request_timeout);
        co_await asio::async_write(stream, internal::Unsent(out, sent),
                                   asio::redirect_error(asio::use_awaitable, ec));
        watchdog.Disarm();
      }
      if (ec) co_return false;
      if (close) co_return true;
    }
  }

  // How the long way's read of a request ended.
  enum class LongRead {
    kRequest,  // the parser holds a whole request to answer
    kReply,    // the reply is set to an error to send before closing
    kClosed,   // the client closed between requests: an end in good order
    kFailed,   // a timeout, a reset, or a client gone mid-request
  };

  // The long way: Beast parses what the idle read took and reads on for
  // the rest of the header (under header_timeout) and for a body (under
  // request_timeout, once the body has its share of the budget in
  // *body_share).
  template <class Stream>
  asio::awaitable<LongRead> ReadWithBeast(Stream& stream, beast::flat_buffer& buffer,
                                          Watchdog& watchdog,
                                          http::request_parser<http::string_body>& parser,
                                          BodyReservation& body_share, PeerReply& reply) {
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    // The idle read usually took the whole header: it is parsed here,
    // without a composed read (whose completion is a trip through the
    // scheduler) or the header timer. Only a header that is not all in yet
    // is read on.
    beast::error_code ec;
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec == http::error::need_more) {
      ec = {};
      watchdog.ExpireAfter(options_.header_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      watchdog.Disarm();
    }
    if (ec == http::error::end_of_stream || ec == asio::ssl::error::stream_truncated) {
      co_return LongRead::kClosed;
    }
    if (watchdog.expired() || ec == asio::error::operation_aborted) co_return LongRead::kFailed;
    auto body_over_limit = [this] {
      return PeerHandler::Error(
          413, "body over the limit of " + std::to_string(options_.max_body_bytes) + " bytes");
    };
    if (ec == http::error::header_limit) {
      reply = PeerHandler::Error(431, "header too large");
      co_return LongRead::kReply;
    }
    if (ec == http::error::body_limit) {  // a Content-Length over the limit
      reply = body_over_limit();
      co_return LongRead::kReply;
    }
    if (ec) {
      reply = PeerHandler::Error(400, "bad request");
      co_return LongRead::kReply;
    }
    // Beast frames a request whose Transfer-Encoding does not end in
    // chunked by its Content-Length, or as bodiless: a front end that
    // framed it otherwise would see the bytes after it as the body, and
    // here they would be a second request (smuggling). RFC 9112 6.3 (Go
    // answers 501 too).
    if (parser.get().count(http::field::transfer_encoding) != 0 &&
        (!parser.chunked() || parser.get().version() < 11)) {
      reply = PeerHandler::Error(
          501, "unsupported Transfer-Encoding: it must end in chunked, in version 1.1");
      co_return LongRead::kReply;
    }
    // A request without a body (every GET) is complete with its header.
    if (parser.is_done()) co_return LongRead::kRequest;
    // A body follows: it takes its share of the budget first (its declared
    // length, or the largest allowed when it is chunked), or is not read.
    size_t bytes = static_cast<size_t>(
        parser.content_length().value_or(static_cast<std::uint64_t>(options_.max_body_bytes)));
    if (!body_budget_.TryReserve(bytes)) {
      reply = PeerHandler::Error(503, "overloaded: request bodies being read are over " +
                                          std::to_string(options_.max_body_bytes_in_flight) +
                                          " bytes; retry");
      co_return LongRead::kReply;
    }
    body_share = BodyReservation(&body_budget_, bytes);
    // A client that asked for a go-ahead (curl does for bodies over 1 MiB)
    // otherwise waits about a second before it sends the body (RFC 9110
    // 10.1.1). A refused request (above) gets its final answer instead.
    if (parser.get().version() >= 11 &&
        beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      watchdog.ExpireAfter(options_.request_timeout);
      co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()),
                                 asio::redirect_error(asio::use_awaitable, ec));
      watchdog.Disarm();
      if (ec) co_return LongRead::kFailed;
    }
    watchdog.ExpireAfter(options_.request_timeout);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    watchdog.Disarm();
    if (ec == http::error::body_limit) {
      reply = body_over_limit();
      co_return LongRead::kReply;
    }
    if (ec == http::error::buffer_overflow) {  // see the buffer's limit in Session
      reply = PeerHandler::Error(
          431, "chunk extension or trailer over " + std::to_string(buffer.max_size()) + " bytes");
      co_return LongRead::kReply;
    }
    if (ec) co_return LongRead::kFailed;  // a slow or vanished client: nothing to answer
    co_return LongRead::kRequest;
  }

  // The response head into *head (overwritten; its capacity is reused).
  // Written through a cursor into room reserved up front: appending piece
  // by piece checked the capacity and called memcpy a dozen times per
  // answer, a tenth of a cache hit's instructions.
  static void WriteHead(const PeerReply& reply, size_t body_size, bool close, bool http10,
                        std::string* head) {
    using namespace std::string_view_literals;
    const std::string_view type = reply.type();
    // Nearly every answer is a peer GET's value: its head up to the length
    // is one constant (writing it field by field was half the head's cost).
    static constexpr std::string_view kValueHead =
        "HTTP/1.1 200 OK\r\nServer: groupcache-cpp\r\n"
        "Content-Type: application/x-protobuf\r\nContent-Length: "sv;
    static_assert(kValueHead.find(PeerHandler::kValueType) != std::string_view::npos);
    if (reply.status == 200 && reply.headers.empty() && type == PeerHandler::kValueType) {
      head->resize(kValueHead.size() + 64);  // 20 digits and the largest ending
      char* p = head->data();
      std::memcpy(p, kValueHead.data(), kValueHead.size());
      p = PutNumber(body_size, p + kValueHead.size());
      const std::string_view end = close    ? "\r\nConnection: close\r\n\r\n"sv
                                   : http10 ? "\r\nConnection: keep-alive\r\n\r\n"sv
                                            : "\r\n\r\n"sv;
      std::memcpy(p, end.data(), end.size());
      head->resize(static_cast<size_t>(p + end.size() - head->data()));
      return;
    }
    const std::string_view reason = http::obsolete_reason(static_cast<http::status>(reply.status));
    const bool allow = reply.status == 405 && reply.headers.empty();
    // The fixed text and the two numbers below come to under 170 bytes.
    head->resize(200 + reason.size() + type.size() + reply.headers.size());
    char* p = head->data();
    auto put = [&p](std::string_view s) {
      std::memcpy(p, s.data(), s.size());
      p += s.size();
    };
    put("HTTP/1.1 "sv);
    p = PutNumber(static_cast<size_t>(reply.status), p);
    *p++ = ' ';
    put(reason);
    put("\r\nServer: groupcache-cpp\r\n"sv);
    if (!type.empty()) {
      put("Content-Type: "sv);
      put(type);
      put("\r\n"sv);
    }
    if (allow) put("Allow: GET, PUT, DELETE\r\n"sv);
    put(reply.headers);
    if (reply.status != 204) {  // RFC 9110 §8.6: never on a 204
      put("Content-Length: "sv);
      p = PutNumber(body_size, p);
      put("\r\n"sv);
    }
    if (close) {
      put("Connection: close\r\n"sv);
    } else if (http10) {
      put("Connection: keep-alive\r\n"sv);
    }
    put("\r\n"sv);
    head->resize(static_cast<size_t>(p - head->data()));
  }

  // Writes n in decimal at out; returns the end.
  static char* PutNumber(size_t n, char* out) {
    char digits[20];
    size_t i = sizeof(digits);
    do {
      digits[--i] = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n != 0);
    std::memcpy(out, digits + i, sizeof(digits) - i);
    return out + (sizeof(digits) - i);
  }

  // The part of a request that needs no waiting: the answer in *reply (a
  // default-built one; true), or (false) the GET that missed in *miss, or
  // in *job a handler to run on a worker.
  bool Prepare(std::string_view method, std::string_view target, const std::string& body,
               PeerReply* reply, std::function<PeerReply()>* job,
               std::chrono::milliseconds* job_timeout, std::optional<PeerHandler::Pending>* miss,
               std::optional<ApiHandler::Pending>* api_miss) {
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    if (path.substr(0, ApiHandler::kPrefix.size()) == ApiHandler::kPrefix) {
      std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
      // On the caller's stack, as the peer protocol's.
      const bool quick = api_.Handle(method, path, query, body, reply, &api_miss->emplace(), job,
                                     job_timeout, stopping_.context());
      if (quick || *job) api_miss->reset();
      return quick;
    }
    if (path.substr(0, options_.base_path.size()) == options_.base_path) {
      // On the caller's stack: neither a hit nor a miss allocates for it.
      if (handler_.Handle(method, path, body, reply, &miss->emplace())) {
        miss->reset();
        return true;
      }
      if (q != std::string_view::npos && PeerHandler::IsForwarded(target.substr(q + 1))) {
        (*miss)->forwarded = Group::Forwarded::kYes;
      }
      return false;
    } else {
      Handler handler;
      {
        std::lock_guard lock(handlers_mu_);
        auto it = handlers_.find(std::string(method) + " " + std::string(path));
        if (it != handlers_.end()) handler = it->second;
      }
      if (!handler) {
        *reply = PeerHandler::Error(404, "404 page not found");
        return true;
      }
      auto req = std::make_shared<HttpRequest>();
      req->method = std::string(method);
      req->path = std::string(path);
      if (q != std::string_view::npos) req->query = std::string(target.substr(q + 1));
      req->body = body;
      *job = [handler = std::move(handler), req] {
        HttpResponse r = handler(*req);
        return PeerReply{r.status, {}, std::move(r.body), std::nullopt, std::move(r.content_type)};
      };
    }
    return false;
  }

  // Waits, without holding the thread, for `start` to deliver a reply
  // through the callback it is given (from any thread, at most once), up to
  // `limit`. The callback leaves the reply in a ReplyWait and wakes this
  // request's timer from the request's own executor. Nullopt if the reply
  // did not come in time (or will never come: a dropped callback).
  asio::awaitable<std::optional<PeerReply>> AwaitReply(
      const std::function<void(std::function<void(PeerReply)>)>& start, Clock::duration limit) {
    auto wait = std::make_shared<ReplyWait>();
    wait->executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(wait->executor, limit);
    {
      std::lock_guard lock(wait->mu);
      wait->timer = &timer;
      wait->io = own_io_;
    }
    // However this frame ends (also destroyed unfinished with the
    // io_context), the callback, which may come much later from a load,
    // must find neither the timer nor the executor: a strand must not be
    // destroyed after its io_context.
    struct Forget {
      ReplyWait& w;
      ~Forget() {
        std::lock_guard lock(w.mu);
        w.timer = nullptr;
        w.executor = {};
        w.io = nullptr;
      }
    } forget{*wait};
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await asio::async_initiate<decltype(token), void(beast::error_code)>(
        [&](auto handler) {
          // The wait starts before the work, which may finish at once.
          timer.async_wait(std::move(handler));
          start([wait, gate = gate_](PeerReply reply) {
            std::lock_guard lock(wait->mu);
            if (wait->timer == nullptr) return;  // gave up
            wait->reply = std::move(reply);
            // On the request's own thread (a load that finished at once, a
            // peer fetch's answer on the shared I/O thread) the timer is
            // woken here: its handler is posted all the same, and a post of
            // our own cost an allocation and a trip through the queue.
            if (wait->io != nullptr && wait->io->get_executor().running_in_this_thread()) {
              wait->timer->cancel();
              return;
            }
            gate->Post(wait->executor, [wait] {
              std::lock_guard l(wait->mu);
              if (wait->timer != nullptr) wait->timer->cancel();
            });
          });
        },
        token);
    std::optional<PeerReply> reply;
    {
      std::lock_guard lock(wait->mu);
      wait->timer = nullptr;
      reply.swap(wait->reply);
    }
    co_return reply;  // (`forget` clears the rest)
  }

  // Runs `job` on a worker thread and comes back (a handler may block; an
  // I/O thread must not), within request_timeout (then 503), or, for a job
  // with a deadline of its own (`own_timeout` > 0: an API PUT or DELETE's),
  // a little longer than that deadline, since the job answers 504 itself
  // when it passes (then 504 for it). Arguments by reference to named
  // variables: g++ 12 destroys a by-value coroutine argument built from a
  // temporary twice.
  asio::awaitable<PeerReply> RunOnWorker(const std::function<PeerReply()>& job,
                                         const std::chrono::milliseconds& own_timeout) {
    const bool own = own_timeout.count() > 0;
    std::optional<PeerReply> reply = co_await AwaitReply(
        [&](const std::function<void(PeerReply)>& done) {
          bool taken = workers_->TrySubmit([job, done] {
            PeerReply r;
            try {
              r = job();
            } catch (const std::exception& e) {
              r = PeerHandler::Error(500, std::string("handler threw: ") + e.what());
            }
            done(std::move(r));
          });
          if (!taken) {
            done(PeerHandler::Error(503, "overloaded: too many requests waiting for a worker"));
          }
        },
        own ? own_timeout + kReplyMargin : options_.request_timeout);
    if (reply) co_return std::move(*reply);
    if (own) {
      co_return PeerHandler::Error(504, "timed out after " + std::to_string(own_timeout.count()) +
                                            " ms (the request's timeout)");
    }
    co_return PeerHandler::Error(503, "timed out after " +
                                          std::to_string(options_.request_timeout.count()) +
                                          " ms waiting for a handler");
  }

  // A GET that missed: starts (or joins) the group's load and waits for it
  // without holding any thread, up to the request timeout. A request that
  // gives up cancels its context, which takes it out of the load's
  // single-flight at once (the load goes on for the others).
  asio::awaitable<PeerReply> Load(const PeerHandler::Pending& pending) {
    co_return co_await LoadWithin(
        options_.request_timeout,
        [&](const Context& ctx, std::function<void(PeerReply)> done) {
          PeerHandler::LoadAsync(ctx, pending, run_local_, std::move(done));
        },
        [&] {
          return PeerHandler::Error(503, "timed out after " +
                                             std::to_string(options_.request_timeout.count()) +
                                             " ms waiting for the load of '" + pending.key + "'");
        });
  }

  // A client API GET/HEAD that missed: as Load, with the request's own
  // timeout (?timeout=, else request_timeout), and a 504 when it passes.
  asio::awaitable<PeerReply> LoadForClient(const ApiHandler::Pending& pending) {
    co_return co_await LoadWithin(
        pending.timeout,
        [&](const Context& ctx, std::function<void(PeerReply)> done) {
          ApiHandler::LoadAsync(ctx, pending, run_local_, std::move(done));
        },
        [&] {
          return ApiHandler::ReplyFor(
              DeadlineExceededError("timed out after " + std::to_string(pending.timeout.count()) +
                                    " ms waiting for the load of '" + pending.key + "'"),
              Group::Source::kLoad, pending.head);
        });
  }

  // Runs start(ctx, done), a load with its own deadline `limit`, and waits
  // for its reply; the request gives up a little later, so that a load
  // ending at its deadline still answers with its error. Past that, the
  // load's context is cancelled and the reply is timed_out().
  template <typename Start, typename TimedOut>
  asio::awaitable<PeerReply> LoadWithin(std::chrono::milliseconds limit, Start start,
                                        TimedOut timed_out) {
    CancelSource cancel(stopping_.context());
    Context ctx = cancel.context().WithTimeout(limit);
    std::optional<PeerReply> reply = co_await AwaitReply(
        [&](std::function<void(PeerReply)> done) { start(ctx, std::move(done)); },
        limit + kReplyMargin);
    if (reply) co_return std::move(*reply);
    cancel.Cancel();
    co_return timed_out();
  }

  // How much longer than a load's or a job's own deadline a request waits
  // for its answer, so that one ending at its deadline answers with its own
  // error.
  static constexpr std::chrono::milliseconds kReplyMargin{100};

  // Cancelled by Shutdown once its grace period is over: the parent of
  // every load's and job's context.
  CancelSource stopping_;
  internal::ConnectionTable connections_;
  internal::BodyBudget body_budget_;
  internal::LogLimiter accept_log_{std::chrono::seconds(10)};
  internal::LogLimiter limit_log_{std::chrono::seconds(10)};
  internal::LogLimiter handshake_log_{std::chrono::seconds(10)};
  // Null without server TLS. Declared before io_, so that it outlives the
  // connections using it, which go with io_.
  const std::shared_ptr<asio::ssl::context> server_tls_;
  asio::io_context io_;
  // &io_ when one thread runs it (the default): the connections' executor
  // is then io_'s own, to which a post goes directly and on whose thread a
  // reply can wake its request in place; null with several I/O threads.
  asio::io_context* const own_io_ = options_.io_threads == 1 ? &io_ : nullptr;
  // Shared with the group's runner below, which a load may call after
  // this pool is gone (a waiter that leads the load again): it is then
  // closed and refuses.
  const std::shared_ptr<internal::WorkerPool> workers_ =
      std::make_shared<internal::WorkerPool>(options_.worker_threads, options_.worker_queue_limit);
  const Group::LocalRunner run_local_ = [workers = workers_](std::function<void()> job) {
    return workers->TrySubmit(std::move(job));
  };
  const std::shared_ptr<PostGate> gate_ = std::make_shared<PostGate>();
  asio::strand<asio::io_context::executor_type> accept_strand_ = asio::make_strand(io_);
  tcp::acceptor acceptor_;
  asio::steady_timer accept_pause_{accept_strand_};
  std::vector<std::thread> threads_;
  std::atomic<int> in_flight_{0};
  std::atomic<bool> draining_{false};  // Shutdown began
  const std::string no_body_;          // the body of a request without one
  std::mutex handlers_mu_;
  std::map<std::string, Handler> handlers_;  // GUARDED_BY(handlers_mu_)
  std::mutex shutdown_mu_;
  bool shut_down_ = false;
};

Result<std::unique_ptr<HttpPool>> HttpPool::Start(
    Registry* registry, std::string self, const std::string& listen, HttpPoolOptions options,
    const std::function<void(HttpPool&)>& before_serving) {
  if (registry == nullptr) return InvalidArgumentError("HttpPool: null registry");
  if (options.base_path.empty() || options.base_path.front() != '/' ||
      options.base_path.back() != '/') {
    return InvalidArgumentError("base_path must start and end with '/': " + options.base_path);
  }
  if (options.worker_threads < 1 || options.io_threads < 1) {
    return InvalidArgumentError("io_threads and worker_threads must be at least 1");
  }
  using std::chrono::milliseconds;
  if (options.idle_timeout <= milliseconds(0) || options.header_timeout <= milliseconds(0) ||
      options.request_timeout <= milliseconds(0) ||
      options.client_idle_timeout <= milliseconds(0)) {
    return InvalidArgumentError(
        "idle_timeout, header_timeout, request_timeout and client_idle_timeout must be positive");
  }
  if (options.max_connections < 1 || options.max_connections_per_peer < 1 ||
      options.client_pool_size < 0 || options.worker_queue_limit < 0) {
    return InvalidArgumentError(
        "max_connections and max_connections_per_peer must be at least 1, client_pool_size and "
        "worker_queue_limit not negative");
  }
  // The other peers reach this one by `self`: its scheme must be what the
  // server speaks.
  const std::string scheme = options.server_tls.enabled() ? "https://" : "http://";
  if (self.substr(0, scheme.size()) != scheme) {
    return InvalidArgumentError("self must be an " + scheme + " URL" +
                                (options.server_tls.enabled() ? " (server TLS is on)" : "") +
                                ", not '" + self + "'");
  }
  std::shared_ptr<asio::ssl::context> server_tls;
  if (options.server_tls.enabled()) {
    auto context = internal::NewServerTlsContext(options.server_tls);
    if (!context.ok()) return context.status();
    server_tls = std::move(*context);
  }
  auto impl =
      std::make_unique<Impl>(registry, std::move(self), std::move(options), std::move(server_tls));
  if (Status s = impl->clients_.tls_status(); !s.ok()) return s;
  if (Status s = impl->Listen(listen); !s.ok()) return s;
  std::unique_ptr<HttpPool> pool(new HttpPool(std::move(impl)));
  if (before_serving) before_serving(*pool);
  pool->impl_->Serve();
  return pool;
}

HttpPool::HttpPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpPool::~HttpPool() { Shutdown(std::chrono::milliseconds(1000)); }

void HttpPool::SetPeers(std::vector<std::string> peers) {
  impl_->picker_->SetPeers(std::move(peers));
}
std::vector<std::string> HttpPool::Peers() const { return impl_->picker_->Peers(); }
std::string HttpPool::Owner(std::string_view key) const { return impl_->picker_->Owner(key); }
std::shared_ptr<PeerPicker> HttpPool::picker() const { return impl_->picker_; }
std::shared_ptr<PeerClient> HttpPool::ClientFor(const std::string& url) {
  return impl_->clients_.NewClient(url);
}
void HttpPool::AddHandler(const std::string& method, const std::string& path, Handler handler) {
  impl_->AddHandler(method, path, std::move(handler));
}
const std::string& HttpPool::self() const { return impl_->self_; }
int HttpPool::port() const { return impl_->port_; }
void HttpPool::Shutdown(std::chrono::milliseconds timeout) { impl_->Shutdown(timeout); }

class HttpClientPool::Impl {
 public:
  explicit Impl(const HttpPoolOptions& options) : io(options) {}
  internal::ClientIo io;
};

HttpClientPool::HttpClientPool(const HttpPoolOptions& options)
    : impl_(std::make_unique<Impl>(options)) {}
HttpClientPool::~HttpClientPool() = default;
std::shared_ptr<PeerClient> HttpClientPool::ClientFor(const std::string& url) {
  return impl_->io.NewClient(url);
}
Status HttpClientPool::tls_status() const { return impl_->io.tls_status(); }

}  // namespace groupcache
