#include "bounded_resolve.h"

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace groupcache::cmd {

namespace asio = boost::asio;
using asio::ip::tcp;

// What the lookup's thread and its callers share: they may all be gone
// when the thread finishes.
struct Resolver::Lookup {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // GUARDED_BY(mu)
  Resolved result;    // GUARDED_BY(mu), written before done
};

void Resolver::StartLookup(const std::shared_ptr<Lookup>& lookup, const std::string& host,
                           const std::string& port) {
  std::thread([lookup, host, port] {
    asio::io_context io;
    tcp::resolver resolver(io);
    Resolved r;
    tcp::resolver::results_type results = resolver.resolve(host, port, r.ec);
    if (!r.ec) {
      for (const auto& entry : results) r.endpoints.push_back(entry.endpoint());
    }
    std::lock_guard lock(lookup->mu);
    lookup->result = std::move(r);
    lookup->done = true;
    lookup->cv.notify_all();
  }).detach();
}

Resolved ResolveBy(const std::string& host, const std::string& port, Clock::time_point deadline,
                   const Context& ctx) {
  Resolver resolver;
  return resolver.Resolve(host, port, deadline, ctx);
}

Resolved Resolver::Resolve(const std::string& host, const std::string& port,
                           Clock::time_point deadline, const Context& ctx) {
  Resolved out;
  // An address and a numeric port: nothing to look up.
  boost::system::error_code not_ip;
  const asio::ip::address address = asio::ip::make_address(host, not_ip);
  unsigned number = 0;
  const char* end = port.data() + port.size();
  if (!not_ip && !port.empty() && std::from_chars(port.data(), end, number).ptr == end &&
      number <= 65535) {
    out.endpoints.emplace_back(address, static_cast<unsigned short>(number));
    return out;
  }
  std::shared_ptr<Lookup> lookup;
  bool start = false;
  {
    std::lock_guard lock(mu_);
    std::shared_ptr<Lookup>& latest = lookups_[host + " " + port];
    if (latest != nullptr) {
      std::lock_guard lookup_lock(latest->mu);
      if (!latest->done) lookup = latest;  // under way: wait for it too
    }
    if (lookup == nullptr) {
      latest = lookup = std::make_shared<Lookup>();
      start = true;
    }
  }
  if (start) {
    try {
      StartLookup(lookup, host, port);
    } catch (...) {
      // No thread (or no memory) to be had: this lookup, and whoever
      // joined it meanwhile, fail now; the next call starts afresh.
      std::lock_guard lock(lookup->mu);
      lookup->result.ec = std::make_error_code(std::errc::resource_unavailable_try_again);
      lookup->done = true;
      lookup->cv.notify_all();
    }
  }
  Context::Registration wake = ctx.OnCancel([lookup] {
    std::lock_guard lock(lookup->mu);
    lookup->cv.notify_all();
  });
  auto cancelled = [&ctx] {
    return ctx.cancellable() && ctx.Err().code() == StatusCode::kCancelled;
  };
  std::unique_lock lock(lookup->mu);
  lookup->cv.wait_until(lock, deadline, [&] { return lookup->done || cancelled(); });
  if (lookup->done) return lookup->result;
  out.ec = cancelled() ? asio::error::operation_aborted : asio::error::timed_out;
  return out;
}

}  // namespace groupcache::cmd
