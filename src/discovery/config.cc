#include "groupcache/discovery/config.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "../text.h"
#include "key_error.h"

namespace groupcache::discovery {
namespace {

using groupcache::internal::Quote;
using groupcache::internal::TrimBlanks;

constexpr std::string_view kPrefix = "discovery config: ";

Status Missing(std::string_view key) {
  return InvalidArgumentError(std::string(kPrefix) + "missing key \"" + std::string(key) + "\"");
}

Status WrongType(std::string_view key, const Config::Value& value, std::string_view want) {
  std::string m(kPrefix);
  m += "key \"" + std::string(key) + "\" is a";
  // "an int64", "a string": the article follows the type name.
  std::string_view have = TypeName(value);
  if (have.front() == 'i') m += 'n';
  m += ' ';
  m += have;
  m += ", want ";
  m += want;
  return InvalidArgumentError(std::move(m));
}

// A string that does not parse as the wanted type: keep the parser's reason,
// which quotes the text.
Status Unparsable(std::string_view key, std::string_view want, const Status& why) {
  return InvalidArgumentError(std::string(kPrefix) + "key \"" + std::string(key) +
                              "\" is a string, want " + std::string(want) + ": " + why.message());
}

// Shared shape of every getter: exact type, else a string parsed by `parse`.
template <typename T, typename Parse>
Result<T> Get(const Config& config, std::string_view key, std::string_view want, Parse parse) {
  const Config::Value* v = config.Find(key);
  if (v == nullptr) return Missing(key);
  if (const T* exact = std::get_if<T>(v)) return *exact;
  if (const std::string* s = std::get_if<std::string>(v)) {
    Result<T> parsed = parse(*s);
    if (!parsed.ok()) return Unparsable(key, want, parsed.status());
    return parsed;
  }
  return WrongType(key, *v, want);
}

}  // namespace

void Config::Set(std::string key, Value value) { values_[std::move(key)] = std::move(value); }

bool Config::Has(std::string_view key) const { return values_.find(key) != values_.end(); }

bool Config::Erase(std::string_view key) {
  auto it = values_.find(key);
  if (it == values_.end()) return false;
  values_.erase(it);
  return true;
}

const Config::Value* Config::Find(std::string_view key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

std::vector<std::string> Config::Keys() const {
  std::vector<std::string> keys;
  keys.reserve(values_.size());
  for (const auto& [k, v] : values_) keys.push_back(k);
  return keys;
}

Result<std::string> Config::GetString(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return Missing(key);
  if (const std::string* s = std::get_if<std::string>(v)) return *s;
  return WrongType(key, *v, "string");
}

Result<int64_t> Config::GetInt(std::string_view key) const {
  return Get<int64_t>(*this, key, "int64", ParseInt);
}

Result<bool> Config::GetBool(std::string_view key) const {
  return Get<bool>(*this, key, "bool", ParseBool);
}

Result<double> Config::GetDouble(std::string_view key) const {
  // An integer is a fine double ("ratio": 1); the reverse would lose data.
  if (const Value* v = Find(key)) {
    if (const int64_t* i = std::get_if<int64_t>(v)) return static_cast<double>(*i);
  }
  return Get<double>(*this, key, "double", ParseDouble);
}

Result<Duration> Config::GetDuration(std::string_view key) const {
  return Get<Duration>(*this, key, "duration", ParseDuration);
}

Result<StringList> Config::GetStringList(std::string_view key) const {
  return Get<StringList>(*this, key, "string list", [](std::string_view s) -> Result<StringList> {
    return ParseStringList(s);
  });
}

Result<std::string> Config::GetStringOr(std::string_view key, std::string fallback) const {
  return Has(key) ? GetString(key) : Result<std::string>(std::move(fallback));
}
Result<int64_t> Config::GetIntOr(std::string_view key, int64_t fallback) const {
  return Has(key) ? GetInt(key) : Result<int64_t>(fallback);
}
Result<bool> Config::GetBoolOr(std::string_view key, bool fallback) const {
  return Has(key) ? GetBool(key) : Result<bool>(fallback);
}
Result<double> Config::GetDoubleOr(std::string_view key, double fallback) const {
  return Has(key) ? GetDouble(key) : Result<double>(fallback);
}
Result<Duration> Config::GetDurationOr(std::string_view key, Duration fallback) const {
  return Has(key) ? GetDuration(key) : Result<Duration>(fallback);
}
Result<StringList> Config::GetStringListOr(std::string_view key, StringList fallback) const {
  return Has(key) ? GetStringList(key) : Result<StringList>(std::move(fallback));
}

std::string_view TypeName(const Config::Value& value) {
  switch (value.index()) {
    case 0: return "string";
    case 1: return "int64";
    case 2: return "bool";
    case 3: return "double";
    case 4: return "duration";
    case 5: return "string list";
    default: return "unknown";
  }
}

Result<bool> ParseBool(std::string_view text) {
  if (text == "1" || text == "t" || text == "T" || text == "TRUE" || text == "true" ||
      text == "True") {
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "FALSE" || text == "false" ||
      text == "False") {
    return false;
  }
  return InvalidArgumentError("bad bool " + Quote(text) + " (want true or false)");
}

Result<int64_t> ParseInt(std::string_view text) {
  std::string_view s = text;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
    return InvalidArgumentError("bad integer " + Quote(text));
  }
  return value;
}

Result<double> ParseDouble(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(s.c_str(), &end);
  if (s.empty() || errno != 0 || end != s.c_str() + s.size() || !std::isfinite(value)) {
    return InvalidArgumentError("bad number " + Quote(text));
  }
  return value;
}

StringList ParseStringList(std::string_view text) {
  StringList out;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = TrimBlanks(text.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

namespace internal {

std::string KeyError(std::string_view key, std::string_view what) {
  return std::string(kPrefix) + "key \"" + std::string(key) + "\" " + std::string(what);
}

}  // namespace internal
}  // namespace groupcache::discovery
