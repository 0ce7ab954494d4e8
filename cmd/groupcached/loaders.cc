#include "loaders.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "origin_client.h"
#include "origin_rules.h"

namespace groupcache::daemon {
namespace fs = std::filesystem;

void LoadCounter::Record(std::string_view key) {
  std::lock_guard lock(mu_);
  ++total_;
  if (auto it = counts_.find(key); it != counts_.end()) {
    ++it->second;
  } else if (counts_.size() < max_keys_) {
    counts_.emplace(std::string(key), 1);
  } else {
    // Keys are never dropped from the table: a count that restarted would
    // make a second load of a key look like its first.
    ++untracked_;
  }
}

std::string LoadCounter::Json() const {
  nlohmann::json out = nlohmann::json::object();
  std::lock_guard lock(mu_);
  for (const auto& [key, n] : counts_) out[key] = n;
  // Keys are arbitrary bytes; replace what is not UTF-8 rather than fail.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string LoadCounter::Prometheus() const {
  std::lock_guard lock(mu_);
  return "# HELP groupcached_loads_total Loader calls on this node.\n"
         "# TYPE groupcached_loads_total counter\n"
         "groupcached_loads_total " +
         std::to_string(total_) +
         "\n"
         "# HELP groupcached_loads_untracked_total Loader calls for keys not counted one by one "
         "in GET /loads (over --loads-max-keys distinct keys).\n"
         "# TYPE groupcached_loads_untracked_total counter\n"
         "groupcached_loads_untracked_total " +
         std::to_string(untracked_) + "\n";
}

int64_t LoadCounter::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

int64_t LoadCounter::untracked() const {
  std::lock_guard lock(mu_);
  return untracked_;
}

std::string LoadsJson(const LoadCounters& counters) {
  if (counters.size() == 1) return counters.begin()->second.Json();
  std::string out = "{";
  for (const auto& [group, counter] : counters) {
    if (out.size() > 1) out += ',';
    out += nlohmann::json(group).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           ":" + counter.Json();
  }
  return out + "}";
}

std::string LoadsPrometheus(const LoadCounters& counters) {
  if (counters.size() == 1) return counters.begin()->second.Prometheus();
  std::string total =
      "# HELP groupcached_loads_total Loader calls on this node.\n"
      "# TYPE groupcached_loads_total counter\n";
  std::string untracked =
      "# HELP groupcached_loads_untracked_total Loader calls for keys not counted one by one "
      "in GET /loads (over --loads-max-keys distinct keys).\n"
      "# TYPE groupcached_loads_untracked_total counter\n";
  for (const auto& [group, counter] : counters) {
    // A label value escapes backslash, quote and newline.
    std::string label;
    for (char c : group) {
      if (c == '\\' || c == '"') label += '\\';
      label += c == '\n' ? std::string("\\n") : std::string(1, c);
    }
    total += "groupcached_loads_total{group=\"" + label + "\"} " + std::to_string(counter.total()) +
             "\n";
    untracked += "groupcached_loads_untracked_total{group=\"" + label + "\"} " +
                 std::to_string(counter.untracked()) + "\n";
  }
  return total + untracked;
}

std::string SyntheticValue(std::string_view key, size_t size) {
  // value[i] = seed[i % seed.size()], built by doubling: the value so far
  // is whole periods of the seed, so a copy of its prefix continues it.
  // (A division per byte was a third of a cluster node's loading work.)
  std::string value(key.substr(0, size));
  if (value.size() < size) value += ':';
  value.reserve(size);
  while (value.size() < size) value.append(value, 0, std::min(value.size(), size - value.size()));
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

bool IsHidden(const fs::path& part) {
  const std::string& name = part.native();
  return !name.empty() && name[0] == '.';
}

// The key as a path below `root`, or why it is not one. Dotfiles (".git",
// ".env", and "." and ".." with them) are refused by name, then again after
// symlinks are resolved, so that a link cannot lead outside `root` or to a
// dotfile either.
Result<fs::path> ResolveKey(const fs::path& root, std::string_view key) {
  if (key.empty()) return InvalidArgumentError("empty key");
  if (key.find('\0') != std::string_view::npos) return InvalidArgumentError("key holds a NUL");
  fs::path rel(std::string{key});
  if (rel.has_root_directory()) return InvalidArgumentError("key is an absolute path");
  for (const auto& part : rel) {
    if (part == "..") return InvalidArgumentError("key escapes the directory");
    if (IsHidden(part)) return InvalidArgumentError("key names a dotfile");
  }
  std::error_code e;
  fs::path full = fs::weakly_canonical(root / rel, e);
  if (e) return InvalidArgumentError("key cannot be resolved: " + e.message());
  auto [r, below] = std::mismatch(root.begin(), root.end(), full.begin(), full.end());
  if (r != root.end()) return InvalidArgumentError("key escapes the directory");
  if (std::any_of(below, full.end(), IsHidden)) return InvalidArgumentError("key names a dotfile");
  return full;
}

// `what`: "is N bytes" or "grew while read".
Status TooLarge(std::string_view key, const std::string& what, size_t max) {
  return ResourceExhaustedError("file '" + std::string(key) + "' " + what + ", over the limit of " +
                                std::to_string(max) + " bytes (--dir-max-file-bytes)");
}

// Reads at most `max` bytes: the size checked before opening may be stale,
// as the file can grow while it is read.
Result<std::string> ReadFile(const fs::path& path, std::string_view key, uintmax_t size,
                             size_t max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open: " + std::string(key));
  constexpr size_t kChunk = size_t{64} << 10;
  std::string data;
  data.reserve(static_cast<size_t>(size) + 1);
  while (true) {
    size_t old = data.size();
    // One byte more than allowed, to tell "exactly max" from "over max".
    size_t room = max - old;
    size_t want = room < kChunk ? room + 1 : kChunk;
    data.resize(old + want);
    in.read(data.data() + old, static_cast<std::streamsize>(want));
    auto got = static_cast<size_t>(in.gcount());
    data.resize(old + got);
    if (data.size() > max) return TooLarge(key, "grew while read", max);
    if (got < want) break;
  }
  if (in.bad()) return InternalError("cannot read: " + std::string(key));
  return data;
}

Getter DirLoader(fs::path root, size_t max_file_bytes, LoadCounter* counter) {
  return [root = std::move(root), max_file_bytes, counter](const Context&, std::string_view key,
                                                           Sink& dest) -> Status {
    Result<fs::path> full = ResolveKey(root, key);
    if (!full.ok()) return full.status();
    counter->Record(key);
    std::error_code e;
    if (!fs::is_regular_file(*full, e)) return NotFoundError("no such file: " + std::string(key));
    uintmax_t size = fs::file_size(*full, e);
    if (e) return NotFoundError("no such file: " + std::string(key));
    if (size > max_file_bytes) {
      return TooLarge(key, "is " + std::to_string(size) + " bytes", max_file_bytes);
    }
    Result<std::string> data = ReadFile(*full, key, size, max_file_bytes);
    if (!data.ok()) return data.status();
    return dest.SetString(std::move(*data));
  };
}

Getter OriginLoader(std::shared_ptr<OriginClient> client, OriginTemplate origin,
                    std::chrono::milliseconds default_ttl, LoadCounter* counter) {
  return [client = std::move(client), origin = std::move(origin), default_ttl, counter](
             const Context& ctx, std::string_view key, Sink& dest) -> Status {
    Result<std::string> target = origin.Target(key);
    if (!target.ok()) return target.status();
    counter->Record(key);
    Result<OriginResponse> response = client->Get(ctx, *target);
    if (!response.ok()) return response.status();
    switch (response->status) {
      case 200: {
        Time expire = OriginExpiry({.cache_control = response->cache_control,
                                    .expires = response->expires,
                                    .date = response->date,
                                    .age = response->age},
                                   WallClock::now(), default_ttl);
        return dest.SetString(std::move(response->body), expire);
      }
      // The origin's "no such key": the group caches nothing and every
      // caller (and a peer asking, as 404) gets NotFound.
      case 404:
      case 410:
        return NotFoundError("origin " + origin.Url(*target) + " answered " +
                             std::to_string(response->status));
      default:
        return UnavailableError("origin " + origin.Url(*target) + " answered " +
                                std::to_string(response->status));
    }
  };
}

Result<Getter> MakeHttpLoader(std::string_view templ, const LoaderOptions& options,
                              LoadCounter* counter, OriginStats* origin_stats) {
  Result<OriginTemplate> origin = ParseOriginTemplate(templ);
  if (!origin.ok()) return origin.status();
  if (!origin->tls && !options.origin_ca.empty()) {
    return InvalidArgumentError("--origin-ca is only for an https:// origin, not '" +
                                std::string(templ) + "'");
  }
  if (options.origin_default_ttl < std::chrono::milliseconds::zero()) {
    return InvalidArgumentError("--origin-default-ttl must not be negative");
  }
  OriginClientOptions client_options{.timeout = options.origin_timeout,
                                     .max_body_bytes = options.origin_max_bytes,
                                     .ca_file = options.origin_ca};
  auto client = OriginClient::Create(*origin, client_options, origin_stats);
  if (!client.ok()) return client.status();
  // Shared by the copies of the getter (a std::function); the last one
  // closes the pooled connections.
  return OriginLoader(std::shared_ptr<OriginClient>(std::move(*client)), std::move(*origin),
                      options.origin_default_ttl, counter);
}

// "synthetic:SIZE[:DELAY_MS]" after its prefix.
struct SyntheticSpec {
  size_t bytes = 0;
  int64_t delay_ms = 0;
};
Result<SyntheticSpec> ParseSynthetic(std::string_view rest) {
  Result<int64_t> size = ParseNumber(rest.substr(0, rest.find(':')), "size");
  if (!size.ok()) return size.status();
  SyntheticSpec spec{.bytes = static_cast<size_t>(*size)};
  if (size_t colon = rest.find(':'); colon != std::string_view::npos) {
    Result<int64_t> delay = ParseNumber(rest.substr(colon + 1), "delay");
    if (!delay.ok()) return delay.status();
    spec.delay_ms = *delay;
  }
  return spec;
}

}  // namespace

bool LoaderNeverBlocks(std::string_view spec) {
  if (spec.substr(0, 10) != "synthetic:") return false;
  Result<SyntheticSpec> synthetic = ParseSynthetic(spec.substr(10));
  return synthetic.ok() && synthetic->delay_ms == 0;
}

Result<Getter> MakeLoader(std::string_view spec, const LoaderOptions& options, LoadCounter* counter,
                          OriginStats* origin_stats) {
  if (spec.substr(0, 10) == "synthetic:") {
    Result<SyntheticSpec> synthetic = ParseSynthetic(spec.substr(10));
    if (!synthetic.ok()) return synthetic.status();
    return Getter([bytes = synthetic->bytes, delay_ms = synthetic->delay_ms, counter](
                      const Context& ctx, std::string_view key, Sink& dest) {
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
    if (options.dir_max_file_bytes == 0) {
      return InvalidArgumentError("--dir-max-file-bytes must be at least 1");
    }
    return DirLoader(std::move(root), options.dir_max_file_bytes, counter);
  }
  if (spec.substr(0, 5) == "http:") {
    return MakeHttpLoader(spec.substr(5), options, counter, origin_stats);
  }
  return InvalidArgumentError(
      "--loader must be synthetic:SIZE[:DELAY_MS], dir:PATH or http:URL_TEMPLATE, not '" +
      std::string(spec) + "'");
}

}  // namespace groupcache::daemon
