#include "config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>
#include <utility>

#include "flags.h"
#include "groupcache/discovery/config.h"

namespace groupcache::daemon {
namespace {

using std::chrono::milliseconds;

// How a value is read. The limits go through LimitFlags::Check, so that
// the file and the flags can never disagree on what is a good value.
enum class Kind {
  kString,      // any scalar
  kList,        // a sequence of scalars (or one scalar), one flag value each
  kJoinedList,  // the same, given to the flag joined by ','
  kInt,         // a decimal integer within [min, max]
  kBool,        // true or false
  kChoice,      // one of `choices`
  kDuration,    // Go's syntax, not negative
  kLimit,       // as the limit flag takes it
  kLimitSize,   // a size, then as the limit flag takes it
};

struct Key {
  std::string_view path;
  std::string_view flag;
  Kind kind = Kind::kString;
  std::string_view choices{};  // kChoice: "a|b|c"
  int64_t min = 0;             // kInt
  int64_t max = 0;             // kInt
};

constexpr int64_t kIntMax = std::numeric_limits<int>::max();

constexpr Key kKeys[] = {
    {.path = "node.listen", .flag = "--listen"},
    {.path = "node.self", .flag = "--self"},
    {.path = "node.peers", .flag = "--peers", .kind = Kind::kList},
    {.path = "node.name", .flag = "--node-name"},
    {.path = "node.ip", .flag = "--node-ip"},
    {.path = "node.group_port", .flag = "--group-port", .kind = Kind::kInt, .min = 1, .max = 65535},
    {.path = "node.hash",
     .flag = "--hash",
     .kind = Kind::kChoice,
     .choices = "mailgun|golang|balanced"},
    {.path = "node.replicas", .flag = "--replicas", .kind = Kind::kInt, .min = 1, .max = kIntMax},
    {.path = "discovery.kind",
     .flag = "--discovery",
     .kind = Kind::kChoice,
     .choices = "static|nats|kubernetes|mdns"},
    {.path = "discovery.app_name", .flag = "--app-name"},
    {.path = "discovery.timeout", .flag = "--discovery-timeout", .kind = Kind::kDuration},
    {.path = "discovery.nats.server", .flag = "--nats-server", .kind = Kind::kJoinedList},
    {.path = "discovery.nats.subject", .flag = "--nats-subject"},
    {.path = "discovery.nats.heartbeat", .flag = "--nats-heartbeat", .kind = Kind::kDuration},
    {.path = "discovery.nats.node_ttl", .flag = "--nats-node-ttl", .kind = Kind::kDuration},
    {.path = "discovery.kubernetes.namespace", .flag = "--kube-namespace"},
    {.path = "discovery.kubernetes.kubeconfig", .flag = "--kubeconfig"},
    {.path = "discovery.kubernetes.watch_timeout",
     .flag = "--kube-watch-timeout",
     .kind = Kind::kDuration},
    {.path = "discovery.kubernetes.backoff_max",
     .flag = "--kube-backoff-max",
     .kind = Kind::kDuration},
    {.path = "discovery.mdns.name", .flag = "--mdns-name"},
    {.path = "discovery.mdns.service", .flag = "--mdns-service"},
    {.path = "discovery.mdns.domain", .flag = "--mdns-domain"},
    {.path = "discovery.mdns.ipv6", .flag = "--mdns-ipv6", .kind = Kind::kBool},
    {.path = "discovery.mdns.interfaces", .flag = "--mdns-interface", .kind = Kind::kList},
    {.path = "discovery.mdns.ttl", .flag = "--mdns-ttl", .kind = Kind::kDuration},
    {.path = "tls.cert", .flag = "--tls-cert"},
    {.path = "tls.key", .flag = "--tls-key"},
    {.path = "tls.ca", .flag = "--tls-ca"},
    {.path = "tls.client_cert", .flag = "--tls-client-cert"},
    {.path = "tls.client_key", .flag = "--tls-client-key"},
    {.path = "tls.require_client_cert", .flag = "--tls-require-client-cert", .kind = Kind::kBool},
    {.path = "limits.max_key_bytes", .flag = "--max-key-bytes", .kind = Kind::kLimitSize},
    {.path = "limits.max_body_bytes", .flag = "--max-body-bytes", .kind = Kind::kLimitSize},
    {.path = "limits.max_header_bytes", .flag = "--max-header-bytes", .kind = Kind::kLimitSize},
    {.path = "limits.max_body_bytes_in_flight",
     .flag = "--max-body-bytes-in-flight",
     .kind = Kind::kLimitSize},
    {.path = "limits.max_connections", .flag = "--max-connections", .kind = Kind::kLimit},
    {.path = "limits.idle_timeout", .flag = "--idle-timeout", .kind = Kind::kLimit},
    {.path = "limits.header_timeout", .flag = "--header-timeout", .kind = Kind::kLimit},
    {.path = "limits.request_timeout", .flag = "--request-timeout", .kind = Kind::kLimit},
    {.path = "limits.client_pool_size", .flag = "--client-pool-size", .kind = Kind::kLimit},
    {.path = "limits.client_idle_timeout", .flag = "--client-idle-timeout", .kind = Kind::kLimit},
    {.path = "limits.max_connections_per_peer",
     .flag = "--max-connections-per-peer",
     .kind = Kind::kLimit},
    {.path = "limits.io_threads", .flag = "--io-threads", .kind = Kind::kLimit},
    {.path = "limits.worker_threads", .flag = "--worker-threads", .kind = Kind::kLimit},
    {.path = "limits.worker_queue_limit", .flag = "--worker-queue-limit", .kind = Kind::kLimit},
    {.path = "limits.drain_timeout", .flag = "--drain-timeout", .kind = Kind::kLimit},
    {.path = "limits.shutdown_timeout", .flag = "--shutdown-timeout", .kind = Kind::kLimit},
    {.path = "limits.loads_max_keys", .flag = "--loads-max-keys", .kind = Kind::kLimit},
    {.path = "limits.dir_max_file_bytes", .flag = "--dir-max-file-bytes", .kind = Kind::kLimitSize},
    {.path = "limits.origin_timeout", .flag = "--origin-timeout", .kind = Kind::kLimit},
    {.path = "limits.origin_ca", .flag = "--origin-ca"},
    {.path = "limits.origin_default_ttl", .flag = "--origin-default-ttl", .kind = Kind::kLimit},
    {.path = "limits.origin_max_bytes", .flag = "--origin-max-bytes", .kind = Kind::kLimitSize},
    {.path = "logging.level",
     .flag = "--log-level",
     .kind = Kind::kChoice,
     .choices = "debug|info|warn|error|off"},
    {.path = "logging.format",
     .flag = "--log-format",
     .kind = Kind::kChoice,
     .choices = "text|json"},
};

// The maps that hold keys; "groups" is read on its own.
constexpr std::string_view kSections[] = {
    "node",           "discovery", "discovery.nats", "discovery.kubernetes",
    "discovery.mdns", "tls",       "limits",         "logging",
};

constexpr std::string_view kGroupKeys[] = {
    "name",           "loader",    "cache_bytes",        "cache_shards",     "dir_max_file_bytes",
    "origin_timeout", "origin_ca", "origin_default_ttl", "origin_max_bytes", "eviction",
};

constexpr std::string_view kLoaderWant = "synthetic:SIZE[:DELAY_MS], dir:PATH or http:URL_TEMPLATE";

const Key* FindKey(std::string_view path) {
  for (const Key& key : kKeys) {
    if (key.path == path) return &key;
  }
  return nullptr;
}

bool IsSection(std::string_view path) {
  for (std::string_view section : kSections) {
    if (section == path) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// The keys directly below `prefix` ("" for the top level), for "want one of".
std::string KeysBelow(std::string_view prefix) {
  std::vector<std::string> names;
  auto add = [&](std::string_view path) {
    if (!prefix.empty()) {
      if (path.size() <= prefix.size() + 1 || path.substr(0, prefix.size()) != prefix ||
          path[prefix.size()] != '.') {
        return;
      }
      path.remove_prefix(prefix.size() + 1);
    }
    std::string_view name = path.substr(0, path.find('.'));
    for (const std::string& n : names) {
      if (n == name) return;
    }
    names.emplace_back(name);
  };
  for (const Key& key : kKeys) add(key.path);
  for (std::string_view section : kSections) add(section);
  if (prefix.empty()) add("groups");
  return Join(names, ", ");
}

// What a value that is not what we want looks like, for "got ...".
std::string Got(const YAML::Node& value) {
  switch (value.Type()) {
    case YAML::NodeType::Scalar: return "\"" + value.Scalar() + "\"";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "nothing";
  }
}

// Reads the file and collects every error rather than stopping at the
// first: an operator fixing a file wants the whole list at once.
class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file) {}

  void Parse(const YAML::Node& root, Config* config);
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  // 1-based; a node without a position of its own falls back to `near`.
  static int Line(const YAML::Node& node, int near) {
    // A null value ("key:" alone) is marked where the next token starts.
    if (!node.IsDefined() || node.IsNull() || node.Mark().is_null()) return near;
    return node.Mark().line + 1;
  }
  void Error(int line, std::string_view path, std::string_view what) {
    errors_.push_back(file_ + ":" + std::to_string(line) + ": " + std::string(path) + ": " +
                      std::string(what));
  }
  void Want(int line, std::string_view path, std::string_view want, const YAML::Node& value) {
    Error(line, path, "want " + std::string(want) + ", got " + Got(value));
  }

  // Calls each(key, value, key_line) for the entries of `map`, reporting
  // keys that are not scalars or appear twice.
  template <typename Each>
  void Entries(const YAML::Node& map, std::string_view path, Each each);
  void Section(const YAML::Node& map, const std::string& path, int line, Config* config);
  void Leaf(const Key& key, const YAML::Node& value, int line, Config* config);
  void Groups(const YAML::Node& list, int line, Config* config);
  void Group(const YAML::Node& map, const std::string& path, int line, GroupConfig* group);

  // The scalar text of `value`, or an error wanting `want`.
  std::optional<std::string> Scalar(const YAML::Node& value, int line, std::string_view path,
                                    std::string_view want);
  // A size, checked as `limit_flag` takes it if not empty.
  std::optional<int64_t> Size(const YAML::Node& value, int line, std::string_view path,
                              std::string_view limit_flag);
  // A duration, checked as `limit_flag` takes it.
  std::optional<milliseconds> LimitDuration(const YAML::Node& value, int line,
                                            std::string_view path, std::string_view limit_flag);
  void CheckLimit(std::string_view flag, const std::string& text, int line, std::string_view path);

  std::string file_;
  std::vector<std::string> errors_;
};

template <typename Each>
void Parser::Entries(const YAML::Node& map, std::string_view path, Each each) {
  std::set<std::string, std::less<>> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const int line = Line(it->first, Line(map, 1));
    std::string sub = path.empty() ? "" : std::string(path) + ".";
    if (!it->first.IsScalar()) {
      Error(line, path.empty() ? "(top level)" : path, "keys must be names, got " + Got(it->first));
      continue;
    }
    const std::string& name = it->first.Scalar();
    if (!seen.insert(name).second) {
      Error(line, sub + name, "given twice");
      continue;
    }
    each(name, sub + name, it->second, line);
  }
}

void Parser::Parse(const YAML::Node& root, Config* config) {
  if (root.IsNull()) return;  // an empty file sets nothing
  if (!root.IsMap()) {
    Error(Line(root, 1), "(top level)", "want a map of " + KeysBelow("") + ", got " + Got(root));
    return;
  }
  Entries(root, "",
          [&](const std::string& name, const std::string& path, const YAML::Node& value, int line) {
            if (name == "groups") {
              Groups(value, Line(value, line), config);
            } else if (IsSection(path)) {
              Section(value, path, Line(value, line), config);
            } else {
              Error(line, path, "unknown key (want one of " + KeysBelow("") + ")");
            }
          });
}

void Parser::Section(const YAML::Node& map, const std::string& path, int line, Config* config) {
  if (map.IsNull()) return;  // "tls:" alone: nothing set
  if (!map.IsMap()) return Want(line, path, "a map of " + KeysBelow(path), map);
  Entries(map, path,
          [&](const std::string&, const std::string& sub, const YAML::Node& value, int key_line) {
            if (const Key* key = FindKey(sub)) {
              Leaf(*key, value, Line(value, key_line), config);
            } else if (IsSection(sub)) {
              Section(value, sub, Line(value, key_line), config);
            } else {
              Error(key_line, sub, "unknown key (want one of " + KeysBelow(path) + ")");
            }
          });
}

std::optional<std::string> Parser::Scalar(const YAML::Node& value, int line, std::string_view path,
                                          std::string_view want) {
  if (!value.IsScalar()) {
    Want(line, path, want, value);
    return std::nullopt;
  }
  return value.Scalar();
}

void Parser::CheckLimit(std::string_view flag, const std::string& text, int line,
                        std::string_view path) {
  Status s = LimitFlags::Check(flag, text);
  if (s.ok()) return;
  // "--flag: want ..., not 'x'": the file's reader knows the key, not the flag.
  std::string message = s.message();
  if (std::string prefix = std::string(flag) + ": "; message.rfind(prefix, 0) == 0) {
    message.erase(0, prefix.size());
  }
  Error(line, path, message);
}

std::optional<int64_t> Parser::Size(const YAML::Node& value, int line, std::string_view path,
                                    std::string_view limit_flag) {
  constexpr std::string_view kWant = "a size like 64MiB (bytes, KiB, MiB or GiB)";
  std::optional<std::string> text = Scalar(value, line, path, kWant);
  if (!text) return std::nullopt;
  Result<int64_t> size = ParseSize(*text);
  if (!size.ok()) {
    Want(line, path, kWant, value);
    return std::nullopt;
  }
  if (!limit_flag.empty()) {
    size_t before = errors_.size();
    CheckLimit(limit_flag, std::to_string(*size), line, path);
    if (errors_.size() != before) return std::nullopt;
  }
  return *size;
}

std::optional<milliseconds> Parser::LimitDuration(const YAML::Node& value, int line,
                                                  std::string_view path,
                                                  std::string_view limit_flag) {
  std::optional<std::string> text = Scalar(value, line, path, "a duration like 500ms or 2s");
  if (!text) return std::nullopt;
  size_t before = errors_.size();
  CheckLimit(limit_flag, *text, line, path);
  if (errors_.size() != before) return std::nullopt;
  // Checked above, so it parses.
  return std::chrono::duration_cast<milliseconds>(*discovery::ParseDuration(*text));
}

void Parser::Leaf(const Key& key, const YAML::Node& value, int line, Config* config) {
  FlagSetting setting{
      .flag = std::string(key.flag), .values = {}, .path = std::string(key.path), .line = line};
  switch (key.kind) {
    case Kind::kString:
    case Kind::kLimit: {
      std::optional<std::string> text =
          Scalar(value, line, key.path, key.kind == Kind::kString ? "a string" : "a value");
      if (!text) return;
      if (key.kind == Kind::kLimit) {
        size_t before = errors_.size();
        CheckLimit(key.flag, *text, line, key.path);
        if (errors_.size() != before) return;
      }
      setting.values.push_back(*text);
      break;
    }
    case Kind::kList:
    case Kind::kJoinedList: {
      if (value.IsScalar()) {
        setting.values.push_back(value.Scalar());
      } else if (value.IsSequence()) {
        for (size_t i = 0; i < value.size(); ++i) {
          std::optional<std::string> item =
              Scalar(value[i], Line(value[i], line),
                     std::string(key.path) + "[" + std::to_string(i) + "]", "a string");
          if (!item) return;
          setting.values.push_back(*item);
        }
      } else {
        return Want(line, key.path, "a list of strings", value);
      }
      if (key.kind == Kind::kJoinedList) setting.values = {Join(setting.values, ",")};
      break;
    }
    case Kind::kInt: {
      std::string want =
          "an integer from " + std::to_string(key.min) + " to " + std::to_string(key.max);
      std::optional<std::string> text = Scalar(value, line, key.path, want);
      if (!text) return;
      Result<int64_t> n = discovery::ParseInt(*text);
      if (!n.ok() || *n < key.min || *n > key.max) return Want(line, key.path, want, value);
      setting.values.push_back(std::to_string(*n));
      break;
    }
    case Kind::kBool: {
      std::optional<std::string> text = Scalar(value, line, key.path, "true or false");
      if (!text) return;
      if (*text != "true" && *text != "false") return Want(line, key.path, "true or false", value);
      setting.values.push_back(*text);
      break;
    }
    case Kind::kChoice: {
      std::string want = "one of " + std::string(key.choices);
      std::optional<std::string> text = Scalar(value, line, key.path, want);
      if (!text) return;
      bool found = false;
      std::string_view rest = key.choices;
      while (!found && !rest.empty()) {
        size_t bar = rest.find('|');
        found = rest.substr(0, bar) == *text;
        rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
      }
      if (!found) return Want(line, key.path, want, value);
      setting.values.push_back(*text);
      break;
    }
    case Kind::kDuration: {
      constexpr std::string_view kWant = "a duration like 500ms, 2s or 1m";
      std::optional<std::string> text = Scalar(value, line, key.path, kWant);
      if (!text) return;
      Result<discovery::Duration> d = discovery::ParseDuration(*text);
      if (!d.ok() || d->count() < 0) return Want(line, key.path, kWant, value);
      setting.values.push_back(*text);
      break;
    }
    case Kind::kLimitSize: {
      std::optional<int64_t> size = Size(value, line, key.path, key.flag);
      if (!size) return;
      setting.values.push_back(std::to_string(*size));
      break;
    }
  }
  config->flags.push_back(std::move(setting));
}

void Parser::Groups(const YAML::Node& list, int line, Config* config) {
  if (!list.IsSequence() || list.size() == 0) {
    return Want(line, "groups", "a list of at least one group (name, loader, ...)", list);
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = "groups[" + std::to_string(i) + "]";
    const YAML::Node entry = list[i];
    const int entry_line = Line(entry, line);
    if (!entry.IsMap()) {
      Want(entry_line, path, "a map with name, loader, ...", entry);
      continue;
    }
    GroupConfig group;
    group.line = entry_line;
    size_t before = errors_.size();
    Group(entry, path, entry_line, &group);
    if (errors_.size() != before) continue;
    for (const GroupConfig& other : config->groups) {
      if (other.name == group.name) {
        Error(Line(entry["name"], entry_line), path + ".name",
              "\"" + group.name + "\" is the name of the group at line " +
                  std::to_string(other.line) + " too");
      }
    }
    config->groups.push_back(std::move(group));
  }
}

void Parser::Group(const YAML::Node& map, const std::string& path, int line, GroupConfig* group) {
  bool has_name = false;
  bool has_loader = false;
  Entries(
      map, path,
      [&](const std::string& name, const std::string& sub, const YAML::Node& value, int key_line) {
        const int at = Line(value, key_line);
        if (name == "name") {
          has_name = true;
          std::optional<std::string> text = Scalar(value, at, sub, "a name without '/'");
          if (!text) return;
          if (text->empty() || text->find('/') != std::string::npos) {
            return Want(at, sub, "a name without '/'", value);
          }
          group->name = *text;
        } else if (name == "loader") {
          has_loader = true;
          std::optional<std::string> text = Scalar(value, at, sub, kLoaderWant);
          if (!text) return;
          if (text->rfind("synthetic:", 0) != 0 && text->rfind("dir:", 0) != 0 &&
              text->rfind("http:", 0) != 0) {
            return Want(at, sub, kLoaderWant, value);
          }
          group->loader = *text;
        } else if (name == "cache_bytes") {
          if (std::optional<int64_t> size = Size(value, at, sub, "")) group->cache_bytes = *size;
        } else if (name == "cache_shards") {
          constexpr std::string_view kWant = "an integer from 0 to 1024 (0: one per 4 MiB)";
          std::optional<std::string> text = Scalar(value, at, sub, kWant);
          if (!text) return;
          Result<int64_t> n = discovery::ParseInt(*text);
          if (!n.ok() || *n < 0 || *n > 1024) return Want(at, sub, kWant, value);
          group->cache_shards = static_cast<int>(*n);
        } else if (name == "eviction") {
          constexpr std::string_view kWant = "s3fifo or lru";
          std::optional<std::string> text = Scalar(value, at, sub, kWant);
          if (!text) return;
          if (std::optional<Eviction> e = ParseEviction(*text)) {
            group->eviction = *e;
          } else {
            return Want(at, sub, kWant, value);
          }
        } else if (name == "dir_max_file_bytes") {
          if (auto size = Size(value, at, sub, "--dir-max-file-bytes")) {
            group->dir_max_file_bytes = static_cast<size_t>(*size);
          }
        } else if (name == "origin_max_bytes") {
          if (auto size = Size(value, at, sub, "--origin-max-bytes")) {
            group->origin_max_bytes = static_cast<size_t>(*size);
          }
        } else if (name == "origin_timeout") {
          group->origin_timeout = LimitDuration(value, at, sub, "--origin-timeout");
        } else if (name == "origin_default_ttl") {
          group->origin_default_ttl = LimitDuration(value, at, sub, "--origin-default-ttl");
        } else if (name == "origin_ca") {
          group->origin_ca = Scalar(value, at, sub, "a file name");
        } else {
          std::vector<std::string> names(std::begin(kGroupKeys), std::end(kGroupKeys));
          Error(key_line, sub, "unknown key (want one of " + Join(names, ", ") + ")");
        }
      });
  if (!has_name) Error(line, path, "missing key name");
  if (!has_loader) Error(line, path, "missing key loader (" + std::string(kLoaderWant) + ")");
}

// The pairings the command line enforces with CLI11's needs(), for the
// file's own settings.
std::string Where(const Config& config, int line, std::string_view path) {
  return config.file + ":" + std::to_string(line) + ": " + std::string(path);
}

}  // namespace

const FlagSetting* Config::Find(std::string_view flag) const {
  for (const FlagSetting& setting : flags) {
    if (setting.flag == flag) return &setting;
  }
  return nullptr;
}

Result<Config> ParseConfig(std::string_view text, std::string_view file) {
  Config config;
  config.file = std::string(file);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(config.file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  Parser parser(file);
  try {
    parser.Parse(root, &config);
  } catch (const YAML::Exception& e) {
    // Not expected from a parsed tree; never let one escape main().
    return InvalidArgumentError(config.file + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!parser.errors().empty()) return InvalidArgumentError(Join(parser.errors(), "\n"));
  return config;
}

Result<Config> ReadConfig(const std::string& path) {
  // A directory opens, and reads as an empty file: a mounted ConfigMap
  // given instead of the file in it would drop every setting silently.
  if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
    return InvalidArgumentError(path + ": is a directory, not a config file");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (!in || !(text << in.rdbuf())) {
    // An empty file makes rdbuf() extraction fail too; tell it apart.
    if (in && in.peek() == std::ifstream::traits_type::eof()) return ParseConfig("", path);
    return InvalidArgumentError(path + ": cannot read the config file");
  }
  return ParseConfig(text.str(), path);
}

Status ApplyConfig(const Config& config, CLI::App* app, FlagSources* from_file) {
  for (const FlagSetting& setting : config.flags) {
    CLI::Option* option = nullptr;
    try {
      option = app->get_option(setting.flag);
    } catch (const CLI::OptionNotFound&) {
      return InvalidArgumentError(Where(config, setting.line, setting.path) +
                                  ": this groupcached has no " + setting.flag);
    }
    if (option->count() > 0) continue;  // the command line (or environment) wins
    try {
      // What CLI11 itself does for a value it parsed: validators, then the
      // callback that stores it.
      option->add_result(setting.values);
      option->run_callback();
    } catch (const CLI::Error& e) {
      return InvalidArgumentError(Where(config, setting.line, setting.path) + ": " + e.what());
    }
    from_file->insert(setting.flag);
  }
  return {};
}

std::optional<Eviction> ParseEviction(std::string_view name) {
  if (name == "s3fifo") return Eviction::kS3Fifo;
  if (name == "lru") return Eviction::kLru;
  return std::nullopt;
}

Result<std::vector<GroupPlan>> PlanGroups(const Config* config, const CLI::App& app,
                                          const FlagSources& from_file, const CommandLineGroup& cli,
                                          const LoaderOptions& base) {
  auto on_command_line = [&](std::string_view flag) {
    return app.count(std::string(flag)) > 0 && !from_file.contains(flag);
  };
  std::vector<GroupPlan> plans;
  if (config == nullptr || config->groups.empty()) {
    if (cli.loader.empty()) {
      return InvalidArgumentError("--loader is required (or groups: in a --config file)");
    }
    plans.push_back({.name = cli.name,
                     .cache_bytes = cli.cache_bytes,
                     .eviction = cli.eviction,
                     .loader = cli.loader,
                     .loader_options = base,
                     .where = "--loader"});
    return plans;
  }
  const bool group_flags =
      on_command_line("--group") || on_command_line("--cache-bytes") || on_command_line("--loader");
  if (group_flags && config->groups.size() > 1) {
    return InvalidArgumentError(
        "--group, --cache-bytes and --loader override the group of a config file that declares "
        "one; " +
        config->file + " declares " + std::to_string(config->groups.size()) +
        ": edit its groups: instead");
  }
  for (size_t i = 0; i < config->groups.size(); ++i) {
    const GroupConfig& group = config->groups[i];
    GroupPlan plan{.name = group.name,
                   .cache_bytes = group.cache_bytes,
                   .cache_shards = group.cache_shards,
                   .eviction = group.eviction.value_or(cli.eviction),
                   .loader = group.loader,
                   .loader_options = base,
                   .where = Where(*config, group.line, "groups[" + std::to_string(i) + "]")};
    if (on_command_line("--group")) plan.name = cli.name;
    if (on_command_line("--cache-bytes")) plan.cache_bytes = cli.cache_bytes;
    if (on_command_line("--loader")) plan.loader = cli.loader;
    if (on_command_line("--eviction")) plan.eviction = cli.eviction;
    LoaderOptions& options = plan.loader_options;
    if (group.dir_max_file_bytes && !on_command_line("--dir-max-file-bytes")) {
      options.dir_max_file_bytes = *group.dir_max_file_bytes;
    }
    if (group.origin_timeout && !on_command_line("--origin-timeout")) {
      options.origin_timeout = *group.origin_timeout;
    }
    if (group.origin_ca && !on_command_line("--origin-ca")) options.origin_ca = *group.origin_ca;
    if (group.origin_default_ttl && !on_command_line("--origin-default-ttl")) {
      options.origin_default_ttl = *group.origin_default_ttl;
    }
    if (group.origin_max_bytes && !on_command_line("--origin-max-bytes")) {
      options.origin_max_bytes = *group.origin_max_bytes;
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

std::string DescribeGroups(const std::vector<GroupPlan>& groups) {
  std::vector<std::string> parts;
  parts.reserve(groups.size());
  for (const GroupPlan& group : groups) {
    parts.push_back(group.name + " (" + group.loader + ", " + FormatSize(group.cache_bytes) + ")");
  }
  return std::to_string(groups.size()) + (groups.size() == 1 ? " group: " : " groups: ") +
         Join(parts, ", ");
}

Result<int64_t> ParseSize(std::string_view text) {
  auto bad = [&] {
    return InvalidArgumentError("want a size like 64MiB, not '" + std::string(text) + "'");
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return bad();
  std::string_view unit = text.substr(digits);
  if (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  int shift = 0;
  if (unit == "KiB") {
    shift = 10;
  } else if (unit == "MiB") {
    shift = 20;
  } else if (unit == "GiB") {
    shift = 30;
  } else if (!unit.empty() && unit != "B") {
    return bad();
  }
  Result<int64_t> n = discovery::ParseInt(text.substr(0, digits));
  if (!n.ok() || *n > (std::numeric_limits<int64_t>::max() >> shift)) return bad();
  return *n << shift;
}

std::string FormatSize(int64_t bytes) {
  constexpr std::pair<int, const char*> kUnits[] = {{30, "GiB"}, {20, "MiB"}, {10, "KiB"}};
  for (const auto& [shift, unit] : kUnits) {
    const int64_t one = int64_t{1} << shift;
    if (bytes >= one && bytes % one == 0) return std::to_string(bytes >> shift) + unit;
  }
  return std::to_string(bytes);
}

Status CheckTlsPairs(const CLI::App& app, const Config* config, const FlagSources& from_file) {
  auto given = [&app](std::string_view flag) {
    const CLI::Option* option = app.get_option_no_throw(std::string(flag));
    if (option == nullptr || option->count() == 0) return false;
    // A boolean set to false (in the file, or --flag=false) is not given.
    return option->results() != std::vector<std::string>{"false"};
  };
  // Where a setting came from, for the message: FILE:LINE: key, or the flag.
  auto name = [&](std::string_view flag) -> std::string {
    if (config != nullptr && from_file.contains(flag)) {
      if (const FlagSetting* setting = config->Find(flag)) {
        return Where(*config, setting->line, setting->path);
      }
    }
    return std::string(flag);
  };
  auto wanted = [](std::string_view flag) -> std::string {
    for (const Key& key : kKeys) {
      if (key.flag == flag) return std::string(flag) + " (" + std::string(key.path) + ")";
    }
    return std::string(flag);
  };
  static constexpr std::pair<std::string_view, std::string_view> kPairs[] = {
      {"--tls-cert", "--tls-key"},
      {"--tls-key", "--tls-cert"},
      {"--tls-client-cert", "--tls-client-key"},
      {"--tls-client-key", "--tls-client-cert"},
      {"--tls-require-client-cert", "--tls-cert"},
      {"--tls-require-client-cert", "--tls-ca"},
  };
  for (const auto& [flag, needed] : kPairs) {
    if (given(flag) && !given(needed)) {
      return InvalidArgumentError(name(flag) + ": needs " + wanted(needed));
    }
  }
  return {};
}

}  // namespace groupcache::daemon
