// cluster_reader: drives concurrent reads of a key space through every node
// of a running cluster and prints what happened: loads per key, peer
// fetches, hit rates (from each node's /loads and /metrics).
//
//   cluster_reader --peers URL,URL,... [--keys N] [--reads N] [--threads N]
//                  [--group G] [--zipf S]

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "groupcache/http_pool.h"

namespace {

// The peer client speaks only the peer protocol; the stats endpoints are
// read with this tiny blocking GET.
std::string Fetch(const std::string& url, const std::string& path) {
  std::string hostport = url.substr(url.find("//") + 2);
  std::string host = hostport.substr(0, hostport.rfind(':'));
  std::string port = hostport.substr(hostport.rfind(':') + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0) return {};
  int fd = socket(res->ai_family, SOCK_STREAM, 0);
  std::string data;
  if (connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
    std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: " + hostport + "\r\nConnection: close\r\n\r\n";
    (void)!write(fd, req.data(), req.size());
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  freeaddrinfo(res);
  size_t split = data.find("\r\n\r\n");
  return split == std::string::npos ? std::string() : data.substr(split + 4);
}

double Metric(const std::string& text, const std::string& name) {
  size_t pos = text.find("\n" + name + "{");
  if (pos == std::string::npos) return 0;
  size_t space = text.find("} ", pos);
  return std::atof(text.c_str() + space + 2);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cluster_reader: concurrent reads through every node"};
  std::vector<std::string> peers;
  int keys = 1000;
  int reads = 20000;
  int threads = 16;
  double zipf = 1.1;
  std::string group = "g";
  app.add_option("--peers", peers, "node URLs")->required()->delimiter(',');
  app.add_option("--keys", keys, "distinct keys");
  app.add_option("--reads", reads, "total reads");
  app.add_option("--threads", threads, "concurrent readers");
  app.add_option("--zipf", zipf, "Zipf exponent of key popularity");
  app.add_option("--group", group, "group name");
  CLI11_PARSE(app, argc, argv);

  std::vector<double> weights(static_cast<size_t>(keys));
  for (int i = 0; i < keys; ++i) weights[static_cast<size_t>(i)] = 1.0 / std::pow(i + 1, zipf);
  groupcache::HttpClientPool pool;
  std::atomic<int> next{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::discrete_distribution<int> pick(weights.begin(), weights.end());
      while (next.fetch_add(1) < reads) {
        const std::string& url = peers[static_cast<size_t>(rng()) % peers.size()];
        std::string key = "key-" + std::to_string(pick(rng));
        auto r = pool.ClientFor(url)->Get(
            groupcache::Context::Background().WithTimeout(std::chrono::seconds(5)), group, key);
        if (!r.ok()) ++errors;
      }
    });
  }
  for (auto& w : workers) w.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::printf(
      "\n%d reads of %d keys (Zipf %.1f) by %d threads through %zu nodes: %.2f s, "
      "%.0f reads/s, %d errors\n\n",
      reads, keys, zipf, threads, peers.size(), secs, reads / secs, errors.load());
  std::printf("%-26s %8s %8s %8s %11s %11s %9s\n", "node", "gets", "hits", "hit%", "local loads",
              "peer fetch", "served");
  std::map<std::string, int> loads;
  for (const auto& url : peers) {
    std::string m = Fetch(url, "/metrics");
    std::string l = Fetch(url, "/loads");
    double gets = Metric(m, "groupcache_gets_total");
    double hits = Metric(m, "groupcache_hits_total");
    std::printf("%-26s %8.0f %8.0f %7.1f%% %11.0f %11.0f %9.0f\n", url.c_str(), gets, hits,
                gets > 0 ? 100 * hits / gets : 0, Metric(m, "groupcache_local_loads_total"),
                Metric(m, "groupcache_peer_loads_total"),
                Metric(m, "groupcache_server_requests_total"));
    // /loads is {"key":n,...}; count without a JSON dependency.
    for (size_t p = l.find('"'); p != std::string::npos; p = l.find('"', p)) {
      size_t q = l.find('"', p + 1);
      std::string key = l.substr(p + 1, q - p - 1);
      loads[key] += std::atoi(l.c_str() + l.find(':', q) + 1);
      p = l.find_first_of(",}", q);
    }
  }
  int max_loads = 0;
  for (auto& [key, n] : loads) max_loads = std::max(max_loads, n);
  std::printf(
      "\ndistinct keys read %zu, loaded %zu times in total, most loads of one key: %d\n",
      loads.size(),
      [&] {
        size_t s = 0;
        for (auto& [k, n] : loads) s += static_cast<size_t>(n);
        return s;
      }(),
      max_loads);
  std::printf("%s\n", max_loads == 1 && errors == 0
                          ? "every key was loaded exactly once in the cluster"
                          : "UNEXPECTED: see above");
  return max_loads == 1 && errors == 0 ? 0 : 1;
}
