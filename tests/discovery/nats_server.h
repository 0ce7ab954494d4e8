// Test helpers for the NATS provider: a real nats-server child process on a
// loopback port, and free ports.

#ifndef GROUPCACHE_TESTS_DISCOVERY_NATS_SERVER_H_
#define GROUPCACHE_TESTS_DISCOVERY_NATS_SERVER_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "../common/loopback.h"

namespace groupcache::discovery::testing {

using ::groupcache::testing::FreeLoopbackPort;

// True once 127.0.0.1:port accepts a TCP connection.
bool PortAccepts(int port);

// A child process started with posix_spawn; SIGKILLed and reaped by the
// destructor if still running. Its stdout and stderr go to `log_path`.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& log_path);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0; }
  // True while the process has not exited.
  bool Running();
  // SIGKILL and reap.
  void Kill();

 private:
  int pid_ = -1;
  bool reaped_ = false;
};

// `nats-server -a 127.0.0.1 -p <port>`.
class NatsServer {
 public:
  // The nats-server binary, or "" if it is not installed.
  static std::string Executable();

  // Picks a free port; call Start().
  NatsServer();
  ~NatsServer();  // kills the server; removes its log unless the test failed

  // Starts the server and polls (10 ms steps, at most `timeout`) until it
  // accepts connections. False if it did not come up; see Log().
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGKILL: clients see their connections drop.
  void Kill();

  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const;

 private:
  int port_;
  std::string log_path_;
  std::unique_ptr<Child> child_;
};

}  // namespace groupcache::discovery::testing

#endif  // GROUPCACHE_TESTS_DISCOVERY_NATS_SERVER_H_
