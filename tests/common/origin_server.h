// OriginServer: tests/common/origin_server.py run as a child process, a
// real HTTP/1.1 origin on 127.0.0.1 with a free port (see the script for
// what each path asks for). Killed (SIGKILL) and reaped when destroyed.
// Not thread-safe; port() may be read from any thread.
//
// Example:
//   auto origin = OriginServer::Start();
//   ASSERT_TRUE(origin.ok()) << origin.status().ToString();
//   std::string url = "http://127.0.0.1:" + std::to_string((*origin)->port()) + "/{key}";

#ifndef GROUPCACHE_TESTS_COMMON_ORIGIN_SERVER_H_
#define GROUPCACHE_TESTS_COMMON_ORIGIN_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "groupcache/status.h"

namespace groupcache::testing {

class OriginServer {
 public:
  // Starts the script with `args` (e.g. {"--tls-cert", c, "--tls-key", k})
  // and waits up to 10 s for its {"port": N} line. Errors: Internal with
  // what failed.
  static Result<std::unique_ptr<OriginServer>> Start(const std::vector<std::string>& args = {});
  ~OriginServer();
  OriginServer(const OriginServer&) = delete;
  OriginServer& operator=(const OriginServer&) = delete;

  int port() const { return port_; }

 private:
  OriginServer(int pid, int port) : pid_(pid), port_(port) {}
  int pid_;
  int port_;
};

}  // namespace groupcache::testing

#endif  // GROUPCACHE_TESTS_COMMON_ORIGIN_SERVER_H_
