// loadgen: an HTTP/1.1 load generator for the groupcache peer protocol.
//
// Keeps --connections keep-alive connections spread over --targets, each
// with one request in flight, for --duration seconds, and reports requests
// per second and latency percentiles as one JSON line. It speaks plain
// sockets under epoll rather than the library's client, so that the same
// generator measures our nodes and the Go nodes, and costs as little CPU as
// possible on machines where it shares the cores with the servers.
//
//   loadgen --targets 127.0.0.1:8001[,...] --path /_groupcache/g/
//           [--keys N [--zipf S | --sequential] --prefix key-] [--key warm]
//           [--connections 64] [--threads 1] [--duration 5] [--warmup 1] [--seed 1]
//
// With --keys N, each request asks for "<prefix><rank>" where rank follows
// a Zipf law of exponent S over 0..N-1 (rank 0 the hottest); otherwise every
// request asks for --key. With --keys N --sequential, the connections
// together ask for each of the N keys exactly once, in order, and the run
// ends when all are answered (e.g. to fill a cache); --warmup does not apply
// and --duration is only a deadline, req/s is over the actual run. Keys are
// plain ASCII, so they need no escaping in either ring's scheme. A non-200
// answer or a broken connection counts as an error (the connection is
// reopened; with --sequential the key it was asking for is not asked
// again). Bounded: stops after --duration, then closes each connection
// once its answer in flight has come (not counted; at most 1 s), so that the
// servers see no hang-up in mid-request: golang/groupcache, for one, takes
// the cancelled fetch from the owner for a peer error and loads the key
// itself, a second load of it in the cluster.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Target {
  sockaddr_in addr{};
  std::string host_header;
};

// Draws ranks 0..n-1 with P(k) proportional to 1/(k+1)^s, by inverting the
// cumulative distribution (binary search over a precomputed table).
class Zipf {
 public:
  Zipf(size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (size_t k = 0; k < n; ++k) {
      sum += 1.0 / std::pow(static_cast<double>(k + 1), s);
      cdf_[k] = sum;
    }
    for (double& c : cdf_) c /= sum;
  }
  size_t operator()(std::mt19937_64& rng) const {
    double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

struct Options {
  std::vector<Target> targets;
  std::string path;
  std::string key = "warm";
  std::string prefix = "key-";
  size_t keys = 0;
  double zipf = 1.01;
  bool sequential = false;
  int connections = 64;
  int threads = 1;
  double duration = 5;
  double warmup = 1;
  // Seeds the key draws; runs with the same seed ask for the same keys.
  uint64_t seed = 1;
};

struct Conn {
  int fd = -1;
  size_t target = 0;
  std::string in;
  Clock::time_point sent;
};

struct Result {
  uint64_t requests = 0;
  uint64_t errors = 0;
  uint64_t bytes = 0;
  std::vector<uint32_t> latency_us;
};

int Connect(const Target& t) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&t.addr), sizeof t.addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Parses one complete response at the start of `in`. Returns the number of
// bytes it takes (0: incomplete) and its status code.
size_t ParseResponse(const std::string& in, int* status, size_t* body_bytes) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  if (in.size() < 12) return 0;
  *status = std::atoi(in.c_str() + 9);
  std::string_view head(in.data(), end);
  size_t body_start = end + 4;
  auto header = [&head](std::string_view name) -> std::string_view {
    size_t pos = 0;
    while ((pos = head.find("\r\n", pos)) != std::string_view::npos) {
      pos += 2;
      if (head.size() - pos > name.size() &&
          strncasecmp(head.data() + pos, name.data(), name.size()) == 0 &&
          head[pos + name.size()] == ':') {
        size_t v = pos + name.size() + 1;
        while (v < head.size() && head[v] == ' ') ++v;
        size_t e = head.find("\r\n", v);
        return head.substr(v, e == std::string_view::npos ? std::string_view::npos : e - v);
      }
    }
    return {};
  };
  std::string_view length = header("Content-Length");
  if (!length.empty()) {
    size_t n = std::strtoul(std::string(length).c_str(), nullptr, 10);
    if (in.size() < body_start + n) return 0;
    *body_bytes = n;
    return body_start + n;
  }
  if (header("Transfer-Encoding") == "chunked") {
    size_t pos = body_start;
    size_t total = 0;
    for (;;) {
      size_t line_end = in.find("\r\n", pos);
      if (line_end == std::string::npos) return 0;
      size_t n = std::strtoul(in.c_str() + pos, nullptr, 16);
      pos = line_end + 2;
      if (n == 0) {
        if (in.size() < pos + 2) return 0;
        *body_bytes = total;
        return pos + 2;
      }
      if (in.size() < pos + n + 2) return 0;
      pos += n + 2;
      total += n;
    }
  }
  *body_bytes = 0;
  return body_start;  // no body
}

// With --sequential, the threads share the rank of the next key to ask for.
void Worker(const Options& o, std::atomic<size_t>* next_rank, int first_conn, int n_conns,
            uint64_t seed, Clock::time_point start, Clock::time_point end, Result* out,
            Clock::time_point* finished) {
  std::mt19937_64 rng(seed);
  std::unique_ptr<Zipf> zipf;
  if (o.keys > 0 && !o.sequential) zipf = std::make_unique<Zipf>(o.keys, o.zipf);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(n_conns));
  std::string request;
  char buf[64 * 1024];
  // Connections with a request in flight: all of them until --sequential
  // runs out of keys or the run ends.
  size_t active = conns.size();
  auto retire = [&](size_t i) {
    Conn& c = conns[i];
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
    c.fd = -1;
    --active;
  };

  auto next_key = [&]() -> std::optional<std::string> {
    if (o.sequential) {
      size_t rank = next_rank->fetch_add(1, std::memory_order_relaxed);
      if (rank >= o.keys) return std::nullopt;
      return o.prefix + std::to_string(rank);
    }
    return zipf ? o.prefix + std::to_string((*zipf)(rng)) : o.key;
  };
  // Sends the next request on connection i; a connection with none left
  // is closed and leaves the run.
  auto send_next = [&](size_t i) -> bool {
    Conn& c = conns[i];
    std::optional<std::string> k = next_key();
    if (!k) {
      retire(i);
      return true;
    }
    const std::string& key = *k;
    const Target& t = o.targets[c.target];
    request.clear();
    request += "GET ";
    request += o.path;
    request += key;
    request += " HTTP/1.1\r\nHost: ";
    request += t.host_header;
    request += "\r\n\r\n";
    c.sent = Clock::now();
    ssize_t w = send(c.fd, request.data(), request.size(), MSG_NOSIGNAL);
    return w == static_cast<ssize_t>(request.size());
  };
  auto open = [&](size_t i) -> bool {
    Conn& c = conns[i];
    if (c.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    c.in.clear();
    c.fd = Connect(o.targets[c.target]);
    if (c.fd < 0) {
      --active;  // the connection is lost for the rest of the run
      return false;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    return send_next(i);
  };

  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].target = static_cast<size_t>(first_conn + static_cast<int>(i)) % o.targets.size();
    if (!open(i)) ++out->errors;
  }
  std::vector<epoll_event> events(conns.size());
  const auto drained = end + std::chrono::seconds(1);
  while (active > 0 && Clock::now() < drained) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < n; ++e) {
      size_t i = events[static_cast<size_t>(e)].data.u64;
      Conn& c = conns[i];
      ssize_t r = recv(c.fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (Clock::now() >= end) {
          retire(i);
          continue;
        }
        ++out->errors;
        if (!open(i)) ++out->errors;
        continue;
      }
      c.in.append(buf, static_cast<size_t>(r));
      int status = 0;
      size_t body = 0;
      size_t used = ParseResponse(c.in, &status, &body);
      if (used == 0) continue;
      auto now = Clock::now();
      c.in.erase(0, used);
      if (now >= end) {  // the run is over: this connection is done
        retire(i);
        continue;
      }
      if (now >= start) {
        if (status == 200) {
          ++out->requests;
          out->bytes += body;
          out->latency_us.push_back(static_cast<uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(now - c.sent).count()));
        } else {
          ++out->errors;
        }
      }
      if (!send_next(i) && !open(i)) ++out->errors;
    }
  }
  *finished = Clock::now();
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  close(ep);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"loadgen: HTTP/1.1 load for the groupcache peer protocol"};
  Options o;
  std::vector<std::string> targets;
  app.add_option("--targets", targets, "HOST:PORT[,...] (IPv4)")->required()->delimiter(',');
  app.add_option("--path", o.path, "path before the key, e.g. /_groupcache/g/")->required();
  app.add_option("--key", o.key, "the one key to ask for (without --keys)");
  app.add_option("--keys", o.keys, "key space size; keys follow a Zipf law");
  auto* zipf = app.add_option("--zipf", o.zipf, "Zipf exponent")->check(CLI::PositiveNumber);
  app.add_option("--prefix", o.prefix, "key prefix with --keys");
  app.add_flag("--sequential", o.sequential,
               "ask for each of the --keys keys once, then stop (no warm-up)")
      ->needs("--keys")
      ->excludes(zipf);
  app.add_option("--connections", o.connections)->check(CLI::Range(1, 4096));
  app.add_option("--threads", o.threads)->check(CLI::Range(1, 64));
  app.add_option("--duration", o.duration, "seconds measured")->check(CLI::Range(0.1, 600.0));
  app.add_option("--warmup", o.warmup, "seconds before measuring")->check(CLI::Range(0.0, 600.0));
  app.add_option("--seed", o.seed, "seed of the key draws (default 1)");
  CLI11_PARSE(app, argc, argv);

  for (const auto& t : targets) {
    size_t colon = t.rfind(':');
    Target target;
    target.addr.sin_family = AF_INET;
    if (colon == std::string::npos ||
        inet_pton(AF_INET, t.substr(0, colon).c_str(), &target.addr.sin_addr) != 1) {
      std::fprintf(stderr, "loadgen: bad target '%s' (want IPV4:PORT)\n", t.c_str());
      return 2;
    }
    target.addr.sin_port = htons(static_cast<uint16_t>(std::atoi(t.c_str() + colon + 1)));
    target.host_header = t;
    o.targets.push_back(target);
  }

  if (o.sequential) o.warmup = 0;
  auto start = Clock::now() +
               std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  auto end = start +
             std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  std::vector<Result> results(static_cast<size_t>(o.threads));
  std::vector<Clock::time_point> finished(static_cast<size_t>(o.threads));
  std::atomic<size_t> next_rank{0};
  std::vector<std::thread> threads;
  int per = o.connections / o.threads;
  for (int t = 0; t < o.threads; ++t) {
    int n = t == o.threads - 1 ? o.connections - per * t : per;
    threads.emplace_back(Worker, std::cref(o), &next_rank, per * t, n,
                         0x9E3779B97F4A7C15ULL * (t + 1) + o.seed * 0xBF58476D1CE4E5B9ULL, start,
                         end, &results[static_cast<size_t>(t)], &finished[static_cast<size_t>(t)]);
  }
  for (auto& th : threads) th.join();
  // A --sequential run ends when its last key is answered.
  double seconds = o.duration;
  if (o.sequential) {
    seconds =
        std::chrono::duration<double>(*std::max_element(finished.begin(), finished.end()) - start)
            .count();
  }

  Result all;
  for (auto& r : results) {
    all.requests += r.requests;
    all.errors += r.errors;
    all.bytes += r.bytes;
    all.latency_us.insert(all.latency_us.end(), r.latency_us.begin(), r.latency_us.end());
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  auto pct = [&all](double p) -> uint32_t {
    if (all.latency_us.empty()) return 0;
    auto i = static_cast<size_t>(p * static_cast<double>(all.latency_us.size() - 1));
    return all.latency_us[i];
  };
  std::printf(
      "{\"requests\":%llu,\"errors\":%llu,\"rps\":%.0f,\"p50_us\":%u,\"p90_us\":%u,"
      "\"p99_us\":%u,\"max_us\":%u,\"mean_body_bytes\":%.0f}\n",
      static_cast<unsigned long long>(all.requests), static_cast<unsigned long long>(all.errors),
      seconds > 0 ? static_cast<double>(all.requests) / seconds : 0.0, pct(0.50), pct(0.90),
      pct(0.99), all.latency_us.empty() ? 0 : all.latency_us.back(),
      all.requests ? static_cast<double>(all.bytes) / static_cast<double>(all.requests) : 0.0);
  return all.requests > 0 ? 0 : 1;
}
