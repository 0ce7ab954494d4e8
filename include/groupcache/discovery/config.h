// discovery::Config: the settings handed to a discovery provider, a
// string-keyed map of typed values (go: discovery.Config).
//
// Each provider documents the keys it reads (e.g. "nats-server",
// "nats-subject"). A value is a string, an int64, a bool, a double, a
// duration or a list of strings. The typed getters return the value or an
// InvalidArgument error that names the key, so a misconfigured node says
// exactly what to fix:
//   InvalidArgument: discovery config: missing key "nats-subject"
//   InvalidArgument: discovery config: key "timeout" is a bool, want duration
//
// Values that come from environment variables or command-line flags can be
// stored as plain strings: every getter other than GetString also accepts a
// string and parses it ("1s", "500ms", "true", "42", "a,b,c"); a string that
// does not parse is an error naming the key and quoting the text.
//
// A Config is a plain value type, not synchronised: share it between
// threads only by copying (providers copy what they need in SetConfig).
//
// Example:
//   discovery::Config config;
//   config.SetString("nats-server", "nats://127.0.0.1:4222");
//   config.SetString("timeout", std::getenv("DISCOVERY_TIMEOUT"));  // "2s"
//   auto timeout = config.GetDurationOr("timeout", std::chrono::seconds(1));
//   if (!timeout.ok()) return timeout.status();

#ifndef GROUPCACHE_DISCOVERY_CONFIG_H_
#define GROUPCACHE_DISCOVERY_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "groupcache/duration.h"
#include "groupcache/status.h"

namespace groupcache::discovery {

using groupcache::Duration;  // groupcache/duration.h
using StringList = std::vector<std::string>;

class Config {
 public:
  // One stored value. The alternatives are named by TypeName() in errors:
  // "string", "int64", "bool", "double", "duration", "string list".
  using Value = std::variant<std::string, int64_t, bool, double, Duration, StringList>;

  Config() = default;

  // Stores `value` under `key`, replacing any previous value of any type.
  // The typed setters exist so that a string literal never turns into a
  // bool by accident.
  void Set(std::string key, Value value);
  void SetString(std::string key, std::string value) { Set(std::move(key), std::move(value)); }
  void SetInt(std::string key, int64_t value) { Set(std::move(key), value); }
  void SetBool(std::string key, bool value) { Set(std::move(key), value); }
  void SetDouble(std::string key, double value) { Set(std::move(key), value); }
  void SetDuration(std::string key, Duration value) { Set(std::move(key), value); }
  void SetStringList(std::string key, StringList value) { Set(std::move(key), std::move(value)); }

  // True if `key` holds a value.
  bool Has(std::string_view key) const;
  // Removes `key`; false if it was not there.
  bool Erase(std::string_view key);
  // The raw value, or nullptr. Valid until the Config is next modified.
  const Value* Find(std::string_view key) const;
  // The keys, sorted.
  std::vector<std::string> Keys() const;
  bool empty() const { return values_.empty(); }
  size_t size() const { return values_.size(); }

  // Typed getters. Errors (InvalidArgument, naming the key): the key is
  // missing; it holds another type; it holds a string that does not parse
  // as the wanted type (see the Parse* functions below). Also accepted: an
  // int64 for GetDouble; a single string for GetStringList (split at
  // commas).
  Result<std::string> GetString(std::string_view key) const;
  Result<int64_t> GetInt(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  Result<double> GetDouble(std::string_view key) const;
  Result<Duration> GetDuration(std::string_view key) const;
  Result<StringList> GetStringList(std::string_view key) const;

  // Same, but a missing key yields `fallback`. A present key of the wrong
  // type is still an error: a typo'd value must not silently become the
  // default.
  Result<std::string> GetStringOr(std::string_view key, std::string fallback) const;
  Result<int64_t> GetIntOr(std::string_view key, int64_t fallback) const;
  Result<bool> GetBoolOr(std::string_view key, bool fallback) const;
  Result<double> GetDoubleOr(std::string_view key, double fallback) const;
  Result<Duration> GetDurationOr(std::string_view key, Duration fallback) const;
  Result<StringList> GetStringListOr(std::string_view key, StringList fallback) const;

  friend bool operator==(const Config& a, const Config& b) { return a.values_ == b.values_; }

 private:
  std::map<std::string, Value, std::less<>> values_;
};

// The name of the type a value holds, as used in error messages.
std::string_view TypeName(const Config::Value& value);

// The parsers the getters apply to string values; usable on their own for
// flags. Each returns InvalidArgument quoting the text on failure.
// Durations: Go's syntax, groupcache::ParseDuration (groupcache/duration.h).
using groupcache::ParseDuration;
// Go's strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
Result<bool> ParseBool(std::string_view text);
// Base-10, optionally signed, the whole text, within int64.
Result<int64_t> ParseInt(std::string_view text);
// A finite decimal floating-point number, the whole text.
Result<double> ParseDouble(std::string_view text);
// Comma-separated; items are trimmed of spaces and empty items dropped, so
// "" is the empty list and "a, b," is {"a", "b"}.
StringList ParseStringList(std::string_view text);

// Go's Duration.String (groupcache/duration.h).
using groupcache::FormatDuration;

}  // namespace groupcache::discovery

#endif  // GROUPCACHE_DISCOVERY_CONFIG_H_
