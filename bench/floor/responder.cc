// floor_responder: the machine's floor for the peer-protocol benchmark.
//
// A single-threaded epoll HTTP/1.1 keep-alive server that answers every
// request, whatever it asks, with one fixed response, so that
// scripts/bench can show what the loopback, the kernel and the load
// generator cost on their own: no real HTTP server on the same CPU can beat
// it. It parses nothing but the blank line that ends a request head
// ("\r\n\r\n"), so pipelined requests get one response each, in order;
// requests with a body are not supported (the peer protocol sends none).
//
//   floor_responder --listen 127.0.0.1:9000 [--response FILE]
//
// The response: by default the program builds the same bytes groupcached
// sends for GET /_groupcache/g/warm with --loader synthetic:1024, i.e. the
// head "HTTP/1.1 200 OK", "Server: groupcache-cpp", "Content-Type:
// application/x-protobuf", "Content-Length: 1027" and a 1,027-byte body, the
// protobuf GetResponse{value = 1,024 synthetic bytes of "warm:"}.
// --response FILE serves the file's bytes instead, verbatim (head and body,
// e.g. captured with `curl -si`); scripts/bench captures the real node's
// answer that way and serves it, so the floor sends byte for byte what the
// node sends. Runs until killed.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace {

// The synthetic loader shared by groupcached and gonode:
// value[i] = (key + ":")[i % (len(key) + 1)].
std::string SyntheticValue(const std::string& key, size_t size) {
  std::string seed = key + ":";
  std::string v(size, '\0');
  for (size_t i = 0; i < size; ++i) v[i] = seed[i % seed.size()];
  return v;
}

// groupcached's peer-protocol answer for the warm 1 KiB key: protobuf field
// 1 (value, wire type 2) = 0x0a, the length as a varint, the bytes.
std::string BuiltInResponse() {
  std::string value = SyntheticValue("warm", 1024);
  std::string body = "\x0a";
  for (size_t n = value.size();; n >>= 7) {
    if (n < 0x80) {
      body += static_cast<char>(n);
      break;
    }
    body += static_cast<char>((n & 0x7f) | 0x80);
  }
  body += value;
  return "HTTP/1.1 200 OK\r\nServer: groupcache-cpp\r\nContent-Type: application/x-protobuf\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Conn {
  int fd = -1;
  std::string in;   // the unanswered tail: an incomplete request head
  std::string out;  // responses the socket has not taken yet
  bool want_out = false;
};

// Sends what `c.out` holds; returns false if the connection broke.
bool Flush(Conn& c) {
  while (!c.out.empty()) {
    ssize_t w = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (w < 0) return errno == EAGAIN || errno == EINTR;
    c.out.erase(0, static_cast<size_t>(w));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"floor_responder: one fixed HTTP/1.1 response to every request"};
  std::string listen = "127.0.0.1:9000";
  std::string response_file;
  app.add_option("--listen", listen, "IPV4:PORT to listen on");
  app.add_option("--response", response_file,
                 "file holding the whole response, head and body (default: the built-in "
                 "groupcached answer for the warm 1 KiB key)")
      ->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  std::string response = BuiltInResponse();
  if (!response_file.empty()) {
    std::ifstream f(response_file, std::ios::binary);
    response.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (response.find("\r\n\r\n") == std::string::npos) {
      std::fprintf(stderr, "floor_responder: %s holds no HTTP head\n", response_file.c_str());
      return 2;
    }
  }

  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos ||
      inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    std::fprintf(stderr, "floor_responder: bad --listen '%s' (want IPV4:PORT)\n", listen.c_str());
    return 2;
  }
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(listen.c_str() + colon + 1)));
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (lfd < 0 || bind(lfd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(lfd, 1024) != 0) {
    std::perror("floor_responder: listen");
    return 1;
  }

  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
  // Indexed by file descriptor: they are small and reused.
  std::vector<Conn> conns;
  std::vector<epoll_event> events(256);
  std::vector<char> buf(size_t{64} * 1024);
  constexpr std::string_view kEnd = "\r\n\r\n";

  auto close_conn = [&](Conn& c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c = Conn{};
  };
  auto set_want_out = [&](Conn& c, bool want) {
    if (c.want_out == want) return;
    c.want_out = want;
    epoll_event ev{};
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0U);
    ev.data.fd = c.fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  };

  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) {
      std::perror("floor_responder: epoll_wait");
      return 1;
    }
    for (int e = 0; e < n; ++e) {
      const epoll_event& ev = events[static_cast<size_t>(e)];
      if (ev.data.fd == lfd) {
        for (;;) {
          int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          if (conns.size() <= static_cast<size_t>(fd)) conns.resize(static_cast<size_t>(fd) + 1);
          conns[static_cast<size_t>(fd)] = Conn{fd, {}, {}, false};
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = fd;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
        }
        continue;
      }
      Conn& c = conns[static_cast<size_t>(ev.data.fd)];
      if ((ev.events & EPOLLOUT) != 0U) {
        if (!Flush(c)) {
          close_conn(c);
          continue;
        }
        set_want_out(c, !c.out.empty());
      }
      if ((ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0U) continue;
      ssize_t r = recv(c.fd, buf.data(), buf.size(), 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0) {
        close_conn(c);
        continue;
      }
      // Count the request heads that are now complete; a search resumes 3
      // bytes before the new data, where a "\r\n\r\n" split across two
      // reads may begin.
      size_t from = c.in.size() > 3 ? c.in.size() - 3 : 0;
      c.in.append(buf.data(), static_cast<size_t>(r));
      size_t consumed = 0;
      size_t answers = 0;
      for (size_t pos; (pos = c.in.find(kEnd, std::max(from, consumed))) != std::string::npos;) {
        consumed = pos + kEnd.size();
        ++answers;
      }
      c.in.erase(0, consumed);
      if (answers == 0) continue;
      // The common case, one request and nothing queued: send straight from
      // the response, copying only what the socket does not take.
      if (c.out.empty() && answers == 1) {
        ssize_t w = send(c.fd, response.data(), response.size(), MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
          close_conn(c);
          continue;
        }
        size_t sent = w < 0 ? 0 : static_cast<size_t>(w);
        if (sent < response.size()) c.out.assign(response, sent);
      } else {
        for (size_t i = 0; i < answers; ++i) c.out += response;
        if (!Flush(c)) {
          close_conn(c);
          continue;
        }
      }
      set_want_out(c, !c.out.empty());
    }
  }
}
