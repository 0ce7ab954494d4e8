// Loopback helpers shared by the tests that open real sockets.

#ifndef GROUPCACHE_TESTS_COMMON_LOOPBACK_H_
#define GROUPCACHE_TESTS_COMMON_LOOPBACK_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <random>

namespace groupcache::testing {

// A TCP port on 127.0.0.1 that was free a moment ago; 0 if none could be
// had (a test then fails to start its server, which says so).
//
// Chosen below the kernel's ephemeral range (ip_local_port_range): a port
// the kernel hands out (bind to port 0) can be given again, between our
// check and the server's own bind, to one of the many outgoing connections
// that parallel tests make, and the server then fails with "Address already
// in use". Ports below the range are never handed out that way; a random
// start keeps concurrent tests apart, and each candidate is checked free.
inline int FreeLoopbackPort() {
  int low = 32768;  // Linux's default when the range cannot be read
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    int lo = 0;
    int hi = 0;
    if (std::fscanf(f, "%d %d", &lo, &hi) == 2 && lo > 2048) low = lo;
    std::fclose(f);
  }
  constexpr int kFirst = 1024;
  const int span = low - kFirst;
  std::random_device seed;
  int candidate = kFirst + static_cast<int>(seed() % static_cast<unsigned>(span));
  for (int tries = 0; tries < 200;
       ++tries, candidate = kFirst + (candidate - kFirst + 7919) % span) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(candidate));
    bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (free) return candidate;
  }
  return 0;
}

// 127.0.0.1:port, to connect or bind to.
inline sockaddr_in LoopbackAddress(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// A listener on 127.0.0.1 that never accepts: connections complete in the
// kernel's backlog and nothing is ever answered, so a client can only give
// up by its deadline or cancellation. port() is 0 if it could not listen.
class SilentListener {
 public:
  SilentListener() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(fd_, 16) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~SilentListener() { close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;

  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

}  // namespace groupcache::testing

#endif  // GROUPCACHE_TESTS_COMMON_LOOPBACK_H_
