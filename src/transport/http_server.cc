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
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "escape.h"
#include "groupcache/http_pool.h"
#include "groupcache/ring_peer_picker.h"
#include "http_client.h"
#include "peer_handler.h"
#include "tls_context.h"

namespace groupcache {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
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

  void ExpireAfter(Clock::duration timeout) { state_->deadline = Clock::now() + timeout; }
  void Disarm() { state_->deadline = Clock::time_point::max(); }
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

// Posts to the server's executors from other threads (the clients' thread,
// workers, application threads finishing a load a request waits on) for as
// long as the server's io_context exists; Close() makes later posts no-ops.
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
        clients_(options_),
        picker_(self_, options_.ring,
                [this](const std::string& url) { return clients_.NewClient(url); }),
        server_tls_(std::move(server_tls)),
        io_(std::max(1, options_.io_threads)),
        workers_(static_cast<size_t>(options_.worker_threads)),
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
    asio::co_spawn(io_, Accept(), asio::detached);
    for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
    return {};
  }

  void Shutdown(std::chrono::milliseconds timeout) {
    std::lock_guard lock(shutdown_mu_);
    if (shut_down_) return;
    shut_down_ = true;
    asio::post(io_, [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    // Let requests in flight finish; idle keep-alive connections are simply
    // dropped with the io_context.
    auto end = Clock::now() + timeout;
    while (in_flight_.load() > 0 && Clock::now() < end) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // Loads still running finish into the void from here on.
    gate_->Close();
    workers_.stop();
    workers_.join();
    clients_.Stop();
  }

  void AddHandler(const std::string& method, const std::string& path, Handler handler) {
    std::lock_guard lock(handlers_mu_);
    handlers_[method + " " + path] = std::move(handler);
  }

  const HttpPoolOptions options_;
  const std::shared_ptr<Logger> logger_;
  const std::string self_;
  PeerHandler handler_;
  internal::ClientIo clients_;
  RingPeerPicker picker_;
  int port_ = 0;

 private:
  static Status Bind(const std::string& listen, const beast::error_code& ec) {
    return UnavailableError("cannot listen on " + listen + ": " + ec.message());
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      beast::error_code ec;
      // With several I/O threads each connection runs on a strand, so that
      // its coroutine and its watchdog never run at once; with one (the
      // default) the io_context itself is that strand.
      asio::any_io_executor executor = io_.get_executor();
      if (options_.io_threads > 1) executor = asio::make_strand(io_);
      tcp::socket socket =
          co_await acceptor_.async_accept(executor, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        logger_->Warn("accept failed", {{"error", ec.message()}});
        continue;
      }
      if (connections_.load() >= options_.max_connections) {
        logger_->Warn("connection limit reached; closing a new connection",
                      {{"limit", std::to_string(options_.max_connections)}});
        socket.close(ec);
        continue;
      }
      ++connections_;
      asio::co_spawn(executor, Connection(std::move(socket)), [this](const std::exception_ptr& e) {
        --connections_;
        if (e) logger_->Error("connection ended with an exception");
      });
    }
  }

  // One coroutine per connection. With TLS, the handshake comes first
  // (bounded by the request timeout); a client that fails it (plain HTTP,
  // no or a bad certificate) only loses its own connection. Both kinds of
  // stream then run the same request loop, which takes the stream by
  // reference (see RunOnWorker on why not by value).
  asio::awaitable<void> Connection(tcp::socket socket) {
    const Clock::duration period = std::min(options_.idle_timeout, options_.request_timeout);
    if (!server_tls_) {
      Watchdog watchdog(socket, period);
      co_await Session(socket, watchdog);
      beast::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    beast::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    beast::ssl_stream<tcp::socket> stream(std::move(socket), *server_tls_);
    Watchdog watchdog(beast::get_lowest_layer(stream), period);
    watchdog.ExpireAfter(options_.request_timeout);
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
        logger_->Log(level, "TLS handshake failed", {{"client", client}, {"error", error}});
      }
      co_return;
    }
    if (co_await Session(stream, watchdog)) {
      // The exchange ended in good order: say so with a close_notify. The
      // client answers it or drops the connection, either of which ends
      // the wait; a client that does neither is cut off at the timeout.
      watchdog.ExpireAfter(options_.request_timeout);
      co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
    }
    beast::error_code ignored;
    beast::get_lowest_layer(stream).shutdown(tcp::socket::shutdown_send, ignored);
  }

  // The request loop: read, handle, write, with a timeout on every read and
  // write. Stream: a TCP socket, or a TLS stream over one after its
  // handshake. True if it ended in good order (the client closed, or the
  // last response said Connection: close); false on a timeout or an error.
  template <class Stream>
  asio::awaitable<bool> Session(Stream& stream, Watchdog& watchdog) {
    beast::flat_buffer buffer;
    std::string head;  // reused: a response head allocates nothing
    for (;;) {
      beast::error_code ec;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      parser.body_limit(options_.max_body_bytes);
      watchdog.ExpireAfter(options_.idle_timeout);
      co_await http::async_read_header(stream, buffer, parser,
                                       asio::redirect_error(asio::use_awaitable, ec));
      watchdog.Disarm();
      // A TLS client that closes without a close_notify (most do, between
      // requests) shows as a truncated stream rather than end_of_stream.
      if (ec == http::error::end_of_stream || ec == asio::ssl::error::stream_truncated) {
        co_return true;
      }
      if (watchdog.expired() || ec == asio::error::operation_aborted) co_return false;
      PeerReply reply;
      bool close = false;
      bool http10 = false;
      if (ec) {
        if (ec == http::error::header_limit) {
          reply = PeerHandler::Error(431, "header too large");
        } else if (ec == http::error::body_limit) {  // a Content-Length over the limit
          reply = PeerHandler::Error(
              413, "body over the limit of " + std::to_string(options_.max_body_bytes) + " bytes");
        } else {
          reply = PeerHandler::Error(400, "bad request");
        }
        close = true;
      } else {
        // A request without a body (every GET) is complete with its
        // header: no second read.
        if (!parser.is_done()) {
          watchdog.ExpireAfter(options_.request_timeout);
          co_await http::async_read(stream, buffer, parser,
                                    asio::redirect_error(asio::use_awaitable, ec));
          watchdog.Disarm();
        }
        if (ec == http::error::body_limit) {
          reply = PeerHandler::Error(
              413, "body over the limit of " + std::to_string(options_.max_body_bytes) + " bytes");
          close = true;
        } else if (ec) {
          co_return false;  // a slow or vanished client: nothing to answer
        } else {
          ++in_flight_;
          // Cache hits and cheap requests are answered right here; a miss
          // waits for its load without holding a thread; only other
          // handlers hop to a worker and back.
          std::function<PeerReply()> job;
          std::optional<PeerHandler::Pending> miss;
          std::optional<PeerReply> quick = Prepare(parser.get(), &job, &miss);
          if (quick) {
            reply = std::move(*quick);
          } else if (miss) {
            reply = co_await Load(*miss);
          } else {
            reply = co_await RunOnWorker(job);
          }
          --in_flight_;
          close = !parser.get().keep_alive();
          http10 = parser.get().version() == 10;
        }
      }
      // The response head is written by hand: it is always the same few
      // fields, and Beast's general serializer cost more than the rest of
      // a cache hit.
      // A value goes out from the cache's own bytes, framed as a
      // GetResponse (the frame's prefix ends the head's buffer).
      internal::GetResponseFrame frame;  // empty unless a value is sent
      std::string_view body = reply.body;
      if (reply.value) {
        frame = internal::FrameGetResponse(*reply.value);
        body = reply.value->view();
      }
      WriteHead(reply, frame.Size(body.size()), close, http10, &head);
      head.append(frame.prefix.data(), frame.prefix_size);
      std::array<asio::const_buffer, 3> out = {
          asio::buffer(head), asio::buffer(body),
          asio::buffer(frame.suffix.data(), frame.suffix_size)};
      watchdog.ExpireAfter(options_.request_timeout);
      co_await asio::async_write(stream, out, asio::redirect_error(asio::use_awaitable, ec));
      watchdog.Disarm();
      if (ec) co_return false;
      if (close) co_return true;
    }
  }

  // The response head into *head (cleared first; its capacity is reused).
  static void WriteHead(const PeerReply& reply, size_t body_size, bool close, bool http10,
                        std::string* head) {
    head->clear();
    *head += "HTTP/1.1 ";
    AppendNumber(static_cast<size_t>(reply.status), head);
    *head += ' ';
    *head += http::obsolete_reason(static_cast<http::status>(reply.status));
    *head += "\r\nServer: groupcache-cpp\r\n";
    if (std::string_view type = reply.type(); !type.empty()) {
      *head += "Content-Type: ";
      *head += type;
      *head += "\r\n";
    }
    if (reply.status == 405) *head += "Allow: GET, PUT, DELETE\r\n";
    *head += "Content-Length: ";
    AppendNumber(body_size, head);
    *head += "\r\n";
    if (close) {
      *head += "Connection: close\r\n";
    } else if (http10) {
      *head += "Connection: keep-alive\r\n";
    }
    *head += "\r\n";
  }

  static void AppendNumber(size_t n, std::string* out) {
    char digits[20];
    size_t i = sizeof(digits);
    do {
      digits[--i] = static_cast<char>('0' + n % 10);
      n /= 10;
    } while (n != 0);
    out->append(digits + i, sizeof(digits) - i);
  }

  // The part of a request that needs no waiting: the answer, or the GET
  // that missed in *miss, or in *job a handler to run on a worker.
  std::optional<PeerReply> Prepare(const http::request<http::string_body>& request,
                                   std::function<PeerReply()>* job,
                                   std::optional<PeerHandler::Pending>* miss) {
    std::string_view target = request.target();
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view method = request.method_string();
    if (path.substr(0, options_.base_path.size()) == options_.base_path) {
      // On the caller's stack: neither a hit nor a miss allocates for it.
      std::optional<PeerReply> reply =
          handler_.Handle(method, path, request.body(), &miss->emplace());
      if (reply) miss->reset();
      return reply;
    } else {
      Handler handler;
      {
        std::lock_guard lock(handlers_mu_);
        auto it = handlers_.find(std::string(method) + " " + std::string(path));
        if (it != handlers_.end()) handler = it->second;
      }
      if (!handler) return PeerHandler::Error(404, "404 page not found");
      auto req = std::make_shared<HttpRequest>();
      req->method = std::string(method);
      req->path = std::string(path);
      if (size_t q = target.find('?'); q != std::string_view::npos) {
        req->query = std::string(target.substr(q + 1));
      }
      req->body = request.body();
      *job = [handler = std::move(handler), req] {
        HttpResponse r = handler(*req);
        return PeerReply{r.status, {}, std::move(r.body), std::nullopt, std::move(r.content_type)};
      };
    }
    return std::nullopt;
  }

  // Runs `job` on a worker thread and comes back (a handler may block; an
  // I/O thread must not). Arguments by reference to named variables: g++ 12
  // destroys a by-value coroutine argument built from a temporary twice.
  asio::awaitable<PeerReply> RunOnWorker(const std::function<PeerReply()>& job) {
    if (!TakeWorkerSlot()) {
      co_return PeerHandler::Error(503, "overloaded: too many requests waiting for a worker");
    }
    auto io_executor = co_await asio::this_coro::executor;
    co_await asio::post(asio::bind_executor(workers_.get_executor(), asio::use_awaitable));
    PeerReply reply;
    try {
      reply = job();
    } catch (const std::exception& e) {
      reply = PeerHandler::Error(500, std::string("handler threw: ") + e.what());
    }
    --queued_;
    co_await asio::post(asio::bind_executor(io_executor, asio::use_awaitable));
    co_return reply;
  }

  // Admission to the workers: one slot per job running or queued; false
  // when worker_queue_limit jobs already wait (the slot is then not taken).
  bool TakeWorkerSlot() {
    if (queued_.fetch_add(1) < options_.worker_queue_limit + options_.worker_threads) return true;
    --queued_;
    return false;
  }

  // The group's runner for loads that must run here: a worker, unless too
  // many loads wait for one already.
  bool RunLocal(std::function<void()> job) {
    if (!TakeWorkerSlot()) return false;
    asio::post(workers_, [this, job = std::move(job)] {
      job();
      --queued_;
    });
    return true;
  }

  // A GET that missed: starts (or joins) the group's load and waits for it
  // without holding any thread, up to the request timeout. The load's
  // callback, on whatever thread finishes it, leaves the reply in a
  // ReplyWait and cancels this request's timer from the request's own
  // executor.
  asio::awaitable<PeerReply> Load(const PeerHandler::Pending& pending) {
    // The load's own deadline; the request gives up a little later, so
    // that a load ending at its deadline still answers with its error.
    constexpr auto kMargin = std::chrono::milliseconds(100);
    Context ctx = Context::Background().WithTimeout(options_.request_timeout);
    auto wait = std::make_shared<ReplyWait>();
    wait->executor = co_await asio::this_coro::executor;
    asio::steady_timer timer(wait->executor, options_.request_timeout + kMargin);
    {
      std::lock_guard lock(wait->mu);
      wait->timer = &timer;
    }
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await asio::async_initiate<decltype(token), void(beast::error_code)>(
        [&](auto handler) {
          // The wait starts before the load, which may finish at once.
          timer.async_wait(std::move(handler));
          PeerHandler::LoadAsync(ctx, pending, run_local_, [wait, gate = gate_](PeerReply reply) {
            std::lock_guard lock(wait->mu);
            if (wait->timer == nullptr) return;  // gave up
            wait->reply = std::move(reply);
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
    if (reply) co_return std::move(*reply);
    co_return PeerHandler::Error(503, "timed out after " +
                                          std::to_string(options_.request_timeout.count()) +
                                          " ms waiting for the load of '" + pending.key + "'");
  }

  // Null without server TLS. Declared before io_, so that it outlives the
  // connections using it, which go with io_.
  const std::shared_ptr<asio::ssl::context> server_tls_;
  asio::io_context io_;
  asio::thread_pool workers_;
  const Group::LocalRunner run_local_ = [this](std::function<void()> job) {
    return RunLocal(std::move(job));
  };
  const std::shared_ptr<PostGate> gate_ = std::make_shared<PostGate>();
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<int> connections_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> queued_{0};
  std::mutex handlers_mu_;
  std::map<std::string, Handler> handlers_;  // GUARDED_BY(handlers_mu_)
  std::mutex shutdown_mu_;
  bool shut_down_ = false;
};

Result<std::unique_ptr<HttpPool>> HttpPool::Start(Registry* registry, std::string self,
                                                  const std::string& listen,
                                                  HttpPoolOptions options) {
  if (registry == nullptr) return InvalidArgumentError("HttpPool: null registry");
  if (options.base_path.empty() || options.base_path.front() != '/' ||
      options.base_path.back() != '/') {
    return InvalidArgumentError("base_path must start and end with '/': " + options.base_path);
  }
  if (options.worker_threads < 1 || options.io_threads < 1) {
    return InvalidArgumentError("io_threads and worker_threads must be at least 1");
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
  return std::unique_ptr<HttpPool>(new HttpPool(std::move(impl)));
}

HttpPool::HttpPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpPool::~HttpPool() { Shutdown(std::chrono::milliseconds(1000)); }

void HttpPool::SetPeers(std::vector<std::string> peers) {
  impl_->picker_.SetPeers(std::move(peers));
}
std::vector<std::string> HttpPool::Peers() const { return impl_->picker_.Peers(); }
std::string HttpPool::Owner(std::string_view key) const { return impl_->picker_.Owner(key); }
std::shared_ptr<PeerClient> HttpPool::PickPeer(std::string_view key) {
  return impl_->picker_.PickPeer(key);
}
std::vector<std::shared_ptr<PeerClient>> HttpPool::GetAll() { return impl_->picker_.GetAll(); }
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
