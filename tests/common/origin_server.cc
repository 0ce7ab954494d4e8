#include "origin_server.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace groupcache::testing {
namespace {

// Reads one line from `fd` within `timeout_ms`, or returns what came.
std::string ReadLine(int fd, int timeout_ms) {
  std::string line;
  while (line.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  return line;
}

}  // namespace

Result<std::unique_ptr<OriginServer>> OriginServer::Start(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"/usr/bin/python3", GROUPCACHE_ORIGIN_SERVER};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> c_argv;
  for (std::string& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return InternalError("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) return InternalError("fork failed");
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
    ::execv(c_argv[0], c_argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string line = ReadLine(out[0], 10000);
  ::close(out[0]);  // the script prints nothing more
  auto ready = nlohmann::json::parse(line, nullptr, false);
  if (ready.is_discarded() || !ready.contains("port")) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return InternalError("origin_server.py did not start: '" + line + "'");
  }
  return std::unique_ptr<OriginServer>(new OriginServer(pid, ready["port"].get<int>()));
}

OriginServer::~OriginServer() {
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace groupcache::testing
