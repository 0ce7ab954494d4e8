#include "pods.h"

#include <algorithm>
#include <set>
#include <utility>

namespace groupcache::discovery::kubernetes_internal {
namespace {

// The string at `key` of `object`, or "" when absent or not a string.
std::string StringAt(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const nlohmann::json& ObjectAt(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : kEmpty;
}

const nlohmann::json& ArrayAt(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  if (!object.is_object()) return kEmpty;
  auto it = object.find(key);
  return it != object.end() && it->is_array() ? *it : kEmpty;
}

bool Ready(const nlohmann::json& status) {
  for (const auto& condition : ArrayAt(status, "conditions")) {
    if (StringAt(condition, "type") == "Ready") return StringAt(condition, "status") == "True";
  }
  return false;
}

// The first container port named group-port, in container order.
std::optional<int> GroupPort(const nlohmann::json& spec) {
  for (const auto& container : ArrayAt(spec, "containers")) {
    for (const auto& port : ArrayAt(container, "ports")) {
      if (StringAt(port, "name") != kPortName) continue;
      auto it = port.find("containerPort");
      if (it == port.end() || !it->is_number_integer()) return std::nullopt;
      int value = it->get<int>();
      if (value < 1 || value > 65535) return std::nullopt;
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<PodView> ParsePod(const nlohmann::json& pod) {
  if (!pod.is_object()) return InvalidArgumentError("pod is not a JSON object");
  const nlohmann::json& metadata = ObjectAt(pod, "metadata");
  PodView view;
  view.name = StringAt(metadata, "name");
  if (view.name.empty()) return InvalidArgumentError("pod without metadata.name");
  view.resource_version = StringAt(metadata, "resourceVersion");
  const nlohmann::json& status = ObjectAt(pod, "status");
  const std::string phase = StringAt(status, "phase");
  auto deletion = metadata.find("deletionTimestamp");
  const std::string ip = StringAt(status, "podIP");
  const std::optional<int> port = GroupPort(ObjectAt(pod, "spec"));
  if (deletion != metadata.end() && !deletion->is_null()) {
    view.not_a_peer = "terminating";
  } else if (phase != "Running") {
    view.not_a_peer = "phase " + (phase.empty() ? std::string("unknown") : phase);
  } else if (!Ready(status)) {
    view.not_a_peer = "not Ready";
  } else if (ip.empty()) {
    view.not_a_peer = "no podIP";
  } else if (!port) {
    view.not_a_peer = "no container port named " + std::string(kPortName);
  } else {
    view.node = Node{view.name, ip, *port};
  }
  return view;
}

Result<WatchEvent> ParseWatchLine(std::string_view line) {
  nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return InvalidArgumentError("watch line is not a JSON object (" + std::to_string(line.size()) +
                                " bytes)");
  }
  WatchEvent event;
  const std::string type = StringAt(parsed, "type");
  if (type == "ADDED") {
    event.type = WatchEvent::Type::kAdded;
  } else if (type == "MODIFIED") {
    event.type = WatchEvent::Type::kModified;
  } else if (type == "DELETED") {
    event.type = WatchEvent::Type::kDeleted;
  } else if (type == "BOOKMARK") {
    event.type = WatchEvent::Type::kBookmark;
  } else if (type == "ERROR") {
    event.type = WatchEvent::Type::kError;
  } else {
    return InvalidArgumentError("unknown watch event type '" + type.substr(0, 64) + "'");
  }
  auto object = parsed.find("object");
  if (object == parsed.end() || !object->is_object()) {
    return InvalidArgumentError("watch event " + type + " without an object");
  }
  event.object = std::move(*object);
  event.resource_version = StringAt(ObjectAt(event.object, "metadata"), "resourceVersion");
  if (event.type == WatchEvent::Type::kError) {
    auto code = event.object.find("code");
    event.code = code != event.object.end() && code->is_number_integer() ? code->get<int>() : 0;
    event.message = StringAt(event.object, "message");
  }
  return event;
}

void PodSet::Diff(const std::optional<Node>& before, const std::optional<Node>& after,
                  std::vector<Event>* events) const {
  const bool was = Counts(before);
  const bool is = Counts(after);
  if (was && is && before->Address() == after->Address()) {
    if (!(*before == *after)) events->push_back({Event::Kind::kModified, *after, *before});
    return;
  }
  if (was) events->push_back({Event::Kind::kRemoved, *before, {}});
  if (is) events->push_back({Event::Kind::kAdded, *after, {}});
}

void PodSet::Upsert(const PodView& pod, std::vector<Event>* events) {
  auto it = pods_.find(pod.name);
  std::optional<Node> before = it == pods_.end() ? std::nullopt : it->second;
  Diff(before, pod.node, events);
  pods_[pod.name] = pod.node;
}

void PodSet::Remove(std::string_view name, std::vector<Event>* events) {
  auto it = pods_.find(name);
  if (it == pods_.end()) return;
  Diff(it->second, std::nullopt, events);
  pods_.erase(it);
}

void PodSet::Relist(const std::vector<PodView>& pods, std::vector<Event>* events) {
  std::set<std::string, std::less<>> listed;
  for (const PodView& pod : pods) listed.insert(pod.name);
  std::vector<std::string> gone;
  for (const auto& [name, node] : pods_) {
    if (listed.count(name) == 0) gone.push_back(name);
  }
  const size_t first = events->size();
  for (const std::string& name : gone) Remove(name, events);
  for (const PodView& pod : pods) Upsert(pod, events);
  // Every removal before any addition: a new pod that took an old pod's
  // address (listed before it) must not be removed by the old one's event.
  std::stable_partition(events->begin() + static_cast<std::ptrdiff_t>(first), events->end(),
                        [](const Event& e) { return e.kind == Event::Kind::kRemoved; });
}

std::vector<Node> PodSet::Nodes() const {
  std::vector<Node> out;
  for (const auto& [name, node] : pods_) {
    if (Counts(node)) out.push_back(*node);
  }
  std::sort(out.begin(), out.end(),
            [](const Node& a, const Node& b) { return a.Address() < b.Address(); });
  return out;
}

}  // namespace groupcache::discovery::kubernetes_internal
