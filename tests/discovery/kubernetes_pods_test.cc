// The Kubernetes provider's pod rules, without an API server.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pods.h"

namespace groupcache::discovery::kubernetes_internal {
namespace {

using json = nlohmann::json;

// A pod as the API server sends it; `mutate` edits it before use.
json Pod(const std::string& name, const std::string& ip, int port = 8080) {
  return json::parse(R"({
    "kind": "Pod", "apiVersion": "v1",
    "metadata": {"name": ")" +
                     name + R"(", "namespace": "ns", "resourceVersion": "7",
                 "labels": {"app.kubernetes.io/name": "app"}},
    "spec": {"containers": [
      {"name": "sidecar", "ports": [{"name": "metrics", "containerPort": 9090}]},
      {"name": "groupcached", "ports": [{"name": "http", "containerPort": 80},
                                        {"name": "group-port", "containerPort": )" +
                     std::to_string(port) + R"(}]}]},
    "status": {"phase": "Running", "podIP": ")" +
                     ip + R"(",
               "conditions": [{"type": "PodScheduled", "status": "True"},
                              {"type": "Ready", "status": "True"}]}
  })");
}

PodView View(const json& pod) {
  auto view = ParsePod(pod);
  EXPECT_TRUE(view.ok()) << view.status().ToString();
  return view.ok() ? *view : PodView{};
}

TEST(KubernetesPodsTest, ARunningReadyPodWithAGroupPortIsAPeer) {
  PodView v = View(Pod("web-1", "10.0.0.5", 8081));
  EXPECT_EQ(v.name, "web-1");
  EXPECT_EQ(v.resource_version, "7");
  ASSERT_TRUE(v.node.has_value()) << v.not_a_peer;
  EXPECT_EQ(*v.node, (Node{"web-1", "10.0.0.5", 8081}));
}

TEST(KubernetesPodsTest, EveryRuleThatMakesAPodNotAPeer) {
  struct Case {
    const char* why;
    std::function<void(json&)> mutate;
  };
  std::vector<Case> cases = {
      {"phase Pending", [](json& p) { p["status"]["phase"] = "Pending"; }},
      {"not Ready", [](json& p) { p["status"]["conditions"][1]["status"] = "False"; }},
      {"not Ready", [](json& p) { p["status"]["conditions"].erase(1); }},
      {"terminating", [](json& p) { p["metadata"]["deletionTimestamp"] = "2026-12-03T08:00:00Z"; }},
      {"no podIP", [](json& p) { p["status"].erase("podIP"); }},
      {"no container port named group-port",
       [](json& p) { p["spec"]["containers"][1]["ports"][1]["name"] = "other"; }},
      {"no container port named group-port",
       [](json& p) { p["spec"]["containers"][1]["ports"][1]["containerPort"] = "8080"; }},
      {"no container port named group-port",
       [](json& p) { p["spec"]["containers"][1]["ports"][1]["containerPort"] = 70000; }},
      {"phase unknown", [](json& p) { p.erase("status"); }},
  };
  for (const Case& c : cases) {
    json pod = Pod("p", "10.0.0.1");
    c.mutate(pod);
    PodView v = View(pod);
    EXPECT_FALSE(v.node.has_value()) << c.why;
    EXPECT_EQ(v.not_a_peer, c.why);
  }
}

TEST(KubernetesPodsTest, MalformedPodsAreErrors) {
  EXPECT_FALSE(ParsePod(json::array()).ok());
  EXPECT_FALSE(ParsePod(json::object()).ok());
  EXPECT_FALSE(ParsePod(json::parse(R"({"metadata": {"name": 5}})")).ok());
  // Wrong types deep inside are "not a peer", never a crash.
  PodView v = View(json::parse(R"({"metadata": {"name": "x"}, "spec": {"containers": 3},
                                   "status": {"phase": "Running", "conditions": "no"}})"));
  EXPECT_FALSE(v.node.has_value());
}

TEST(KubernetesPodsTest, WatchLines) {
  auto added = ParseWatchLine(R"({"type":"ADDED","object":)" + Pod("a", "10.0.0.1").dump() + "}");
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->type, WatchEvent::Type::kAdded);
  EXPECT_EQ(added->resource_version, "7");
  auto bookmark = ParseWatchLine(
      R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"42"}}})");
  ASSERT_TRUE(bookmark.ok());
  EXPECT_EQ(bookmark->type, WatchEvent::Type::kBookmark);
  EXPECT_EQ(bookmark->resource_version, "42");
  auto gone =
      ParseWatchLine(R"j({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired",)j"
                     R"j("message":"too old resource version: 1 (40)"}})j");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone->type, WatchEvent::Type::kError);
  EXPECT_EQ(gone->code, 410);
  EXPECT_EQ(gone->message, "too old resource version: 1 (40)");

  EXPECT_FALSE(ParseWatchLine(R"({"type":"ADDED","object":{"metadata":)").ok());  // truncated
  EXPECT_FALSE(ParseWatchLine(R"({"type":"RENAMED","object":{}})").ok());
  EXPECT_FALSE(ParseWatchLine(R"({"type":"ADDED"})").ok());
  EXPECT_FALSE(ParseWatchLine("").ok());
  EXPECT_FALSE(ParseWatchLine("[1,2]").ok());
}

TEST(KubernetesPodsTest, UpsertsAndRemovalsBecomeEvents) {
  PodSet set("10.0.0.9:8080");
  std::vector<Event> events;
  set.Upsert(View(Pod("a", "10.0.0.1")), &events);
  set.Upsert(View(Pod("self", "10.0.0.9")), &events);  // this node: never reported
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0], (Event{Event::Kind::kAdded, {"a", "10.0.0.1", 8080}, {}}));

  events.clear();
  set.Upsert(View(Pod("a", "10.0.0.1")), &events);  // no change
  EXPECT_TRUE(events.empty());

  // Not Ready: leaves. Ready again: back.
  json not_ready = Pod("a", "10.0.0.1");
  not_ready["status"]["conditions"][1]["status"] = "False";
  set.Upsert(View(not_ready), &events);
  set.Upsert(View(Pod("a", "10.0.0.1")), &events);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0].kind, Event::Kind::kRemoved);
  EXPECT_EQ(events[1].kind, Event::Kind::kAdded);

  // A new IP: the old address goes, the new one comes.
  events.clear();
  set.Upsert(View(Pod("a", "10.0.0.2")), &events);
  ASSERT_EQ(events.size(), 2U);
  EXPECT_EQ(events[0], (Event{Event::Kind::kRemoved, {"a", "10.0.0.1", 8080}, {}}));
  EXPECT_EQ(events[1], (Event{Event::Kind::kAdded, {"a", "10.0.0.2", 8080}, {}}));

  events.clear();
  set.Remove("a", &events);
  set.Remove("never-seen", &events);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].kind, Event::Kind::kRemoved);
  EXPECT_TRUE(set.Nodes().empty());
}

TEST(KubernetesPodsTest, ARelistReportsOnlyTheDifference) {
  PodSet set("10.0.0.9:8080");
  std::vector<Event> events;
  set.Relist({View(Pod("a", "10.0.0.1")), View(Pod("b", "10.0.0.2")), View(Pod("c", "10.0.0.3"))},
             &events);
  EXPECT_EQ(events.size(), 3U);
  // After a 410: b was deleted and d added while we were not watching, c
  // moved.
  events.clear();
  set.Relist({View(Pod("a", "10.0.0.1")), View(Pod("c", "10.0.0.4")), View(Pod("d", "10.0.0.5"))},
             &events);
  std::vector<Event> want = {
      {Event::Kind::kRemoved, {"b", "10.0.0.2", 8080}, {}},
      {Event::Kind::kRemoved, {"c", "10.0.0.3", 8080}, {}},
      {Event::Kind::kAdded, {"c", "10.0.0.4", 8080}, {}},
      {Event::Kind::kAdded, {"d", "10.0.0.5", 8080}, {}},
  };
  EXPECT_EQ(events, want);
  std::vector<Node> nodes = set.Nodes();
  ASSERT_EQ(nodes.size(), 3U);
  EXPECT_EQ(nodes[0].host, "10.0.0.1");
  EXPECT_EQ(set.pods(), 3U);
}

}  // namespace
}  // namespace groupcache::discovery::kubernetes_internal
