// Test helpers for multi-process tests: a child process killed by PID when
// the test ends, free loopback ports, and a minimal blocking HTTP request
// over a raw socket (so the tests can send exactly the bytes they mean,
// malformed ones included).

#ifndef GROUPCACHE_TESTS_CLUSTER_PROCESS_H_
#define GROUPCACHE_TESTS_CLUSTER_PROCESS_H_

#include <chrono>
#include <string>
#include <vector>

namespace groupcache::testing {

// A port on 127.0.0.1 that was free a moment ago.
int FreePort();

// A blocking TCP connection to 127.0.0.1:port, or -1.
int ConnectLoopback(int port);

class ChildProcess {
 public:
  // Starts argv[0] with argv; its stderr goes to `log_path`.
  ChildProcess(std::vector<std::string> argv, std::string log_path);
  ~ChildProcess();  // SIGKILL if still running, then reaps
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return pid_; }
  // Polls until 127.0.0.1:port accepts connections; false after `timeout`
  // or if the process exited.
  bool WaitForPort(int port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void Kill(int signal);
  // Waits for exit; returns the exit status (or -1 on timeout).
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string Log() const;

 private:
  int pid_ = -1;
  bool reaped_ = false;
  std::string log_path_;
};

struct RawResponse {
  int status = 0;  // 0: no response (connection error)
  std::string headers;
  std::string body;
};

// Sends `request` as is to 127.0.0.1:port and reads the response until the
// server closes (the request should say Connection: close).
RawResponse RawHttp(int port, const std::string& request,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

// GET `path` with Connection: close.
RawResponse HttpGet(int port, const std::string& path);

}  // namespace groupcache::testing

#endif  // GROUPCACHE_TESTS_CLUSTER_PROCESS_H_
