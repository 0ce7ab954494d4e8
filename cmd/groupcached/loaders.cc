#include "loaders.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <utility>

namespace groupcache::daemon {
namespace fs = std::filesystem;

void LoadCounter::Record(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = counts_.find(key);
  if (it == counts_.end()) {
    counts_.emplace(std::string(key), 1);
  } else {
    ++it->second;
  }
}

std::string LoadCounter::Json() const {
  nlohmann::json out = nlohmann::json::object();
  std::lock_guard lock(mu_);
  for (const auto& [key, n] : counts_) out[key] = n;
  // Keys are arbitrary bytes; replace what is not UTF-8 rather than fail.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string SyntheticValue(std::string_view key, size_t size) {
  std::string seed(key);
  seed += ':';
  std::string value(size, '\0');
  for (size_t i = 0; i < size; ++i) value[i] = seed[i % seed.size()];
  return value;
}

namespace {

// Waits `delay` unless the context ends first.
Status Delay(const Context& ctx, std::chrono::milliseconds delay) {
  auto end = Clock::now() + delay;
  while (Clock::now() < end) {
    if (Status s = ctx.Err(); !s.ok()) return s;
    std::this_thread::sleep_for(
        std::min<Clock::duration>(end - Clock::now(), std::chrono::milliseconds(5)));
  }
  return ctx.Err();
}

Result<int64_t> ParseNumber(std::string_view text, std::string_view what) {
  try {
    size_t used = 0;
    int64_t v = std::stoll(std::string(text), &used);
    if (used == text.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  return InvalidArgumentError("--loader: bad " + std::string(what) + " '" + std::string(text) +
                              "'");
}

}  // namespace

Result<Getter> MakeLoader(std::string_view spec, LoadCounter* counter) {
  if (spec.substr(0, 10) == "synthetic:") {
    std::string_view rest = spec.substr(10);
    std::string_view size_text = rest.substr(0, rest.find(':'));
    Result<int64_t> size = ParseNumber(size_text, "size");
    if (!size.ok()) return size.status();
    int64_t delay_ms = 0;
    if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
      Result<int64_t> d = ParseNumber(rest.substr(colon + 1), "delay");
      if (!d.ok()) return d.status();
      delay_ms = *d;
    }
    auto bytes = static_cast<size_t>(*size);
    return Getter([bytes, delay_ms, counter](const Context& ctx, std::string_view key, Sink& dest) {
      counter->Record(key);
      if (Status s = Delay(ctx, std::chrono::milliseconds(delay_ms)); !s.ok()) return s;
      return dest.SetString(SyntheticValue(key, bytes));
    });
  }
  if (spec.substr(0, 4) == "dir:") {
    std::error_code ec;
    fs::path root = fs::canonical(fs::path(std::string(spec.substr(4))), ec);
    if (ec || !fs::is_directory(root)) {
      return InvalidArgumentError("--loader dir: '" + std::string(spec.substr(4)) +
                                  "' is not a directory");
    }
    return Getter([root, counter](const Context&, std::string_view key, Sink& dest) -> Status {
      counter->Record(key);
      fs::path rel(std::string{key});
      if (key.empty() || key.find('\0') != std::string_view::npos || rel.is_absolute()) {
        return InvalidArgumentError("key is not a relative file name");
      }
      for (const auto& part : rel) {
        if (part == "..") return InvalidArgumentError("key escapes the directory");
      }
      std::error_code e;
      fs::path full = fs::weakly_canonical(root / rel, e);
      // Symlinks are resolved: a link pointing outside the root is refused.
      auto [r, f] = std::mismatch(root.begin(), root.end(), full.begin(), full.end());
      if (e || r != root.end()) return InvalidArgumentError("key escapes the directory");
      if (!fs::is_regular_file(full, e)) return NotFoundError("no such file: " + std::string(key));
      std::ifstream in(full, std::ios::binary);
      if (!in) return NotFoundError("cannot open: " + std::string(key));
      std::ostringstream data;
      data << in.rdbuf();
      return dest.SetString(std::move(data).str());
    });
  }
  return InvalidArgumentError("--loader must be synthetic:SIZE[:DELAY_MS] or dir:PATH, not '" +
                              std::string(spec) + "'");
}

}  // namespace groupcache::daemon
