// dns_client_probe URL: calls a peer named by a host name whose lookup
// never finishes (dns_deadline_test.py runs it in a namespace with a silent
// DNS server) and checks that every way a call ends works during the
// lookup: its deadline, its context's cancellation, and the client pool
// being destroyed under it. Prints one line per case and "N passed, M
// failed"; exits 1 on a failure.

#include <chrono>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "groupcache/context.h"
#include "groupcache/http_pool.h"

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

int failed = 0;
int passed = 0;

void Check(const std::string& name, bool ok, const std::string& detail) {
  std::cout << (ok ? "PASS " : "FAIL ") << name << ": " << detail << std::endl;
  (ok ? passed : failed)++;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: dns_client_probe URL\n";
    return 2;
  }
  const std::string url = argv[1];
  using groupcache::StatusCode;

  {  // The deadline: 500 ms, whatever the lookup does.
    groupcache::HttpClientPool clients;
    auto start = Clock::now();
    auto r = clients.ClientFor(url)->Get(
        groupcache::Context::Background().WithTimeout(milliseconds(500)), "g", "k");
    double took = Seconds(Clock::now() - start);
    Check("deadline", !r.ok() && r.status().code() == StatusCode::kDeadlineExceeded && took < 1.5,
          std::to_string(took) + "s: " + r.status().ToString());
  }
  {  // The caller's cancellation, 300 ms in, with a deadline far away.
    groupcache::HttpClientPool clients;
    groupcache::CancelSource cancel;
    auto start = Clock::now();
    std::thread canceller([&] {
      std::this_thread::sleep_for(milliseconds(300));
      cancel.Cancel();
    });
    auto r = clients.ClientFor(url)->Get(cancel.context().WithTimeout(std::chrono::seconds(30)),
                                         "g", "k");
    double took = Seconds(Clock::now() - start);
    canceller.join();
    Check("cancel", !r.ok() && r.status().code() == StatusCode::kCancelled && took < 1.3,
          std::to_string(took) + "s: " + r.status().ToString());
  }
  {  // The pool destroyed 300 ms into a call with a deadline far away.
    auto clients = std::make_unique<groupcache::HttpClientPool>();
    auto client = clients->ClientFor(url);
    auto start = Clock::now();
    auto call = std::async(std::launch::async, [&] {
      return client->Get(groupcache::Context::Background().WithTimeout(std::chrono::seconds(30)),
                         "g", "k");
    });
    std::this_thread::sleep_for(milliseconds(300));
    clients.reset();  // waits for the lookup to end (Asio joins its resolver thread)
    auto r = call.get();
    double took = Seconds(Clock::now() - start);
    Check("stop", !r.ok() && r.status().code() == StatusCode::kUnavailable,
          std::to_string(took) + "s: " + r.status().ToString());
  }
  std::cout << passed << " passed, " << failed << " failed" << std::endl;
  return failed == 0 ? 0 : 1;
}
