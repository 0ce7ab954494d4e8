#include "groupcache/discovery/kubernetes_provider.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "access.h"
#include "api_client.h"
#include "event_dispatcher.h"
#include "key_error.h"
#include "lifecycle.h"
#include "pods.h"

namespace groupcache::discovery {

using internal::Call;
using internal::CheckCall;
using internal::KeyError;
using internal::State;
using kubernetes_internal::ApiAccess;
using kubernetes_internal::ApiClient;
using kubernetes_internal::PodSet;
using kubernetes_internal::PodView;
using kubernetes_internal::WatchEvent;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

// The environment, read when the provider initializes.
std::string Env(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read-only use
  return value == nullptr ? std::string() : std::string(value);
}

// A Kubernetes Status body's message, or the body itself (shortened).
std::string StatusMessage(const std::string& body) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
    return parsed["message"].get<std::string>();
  }
  return body.substr(0, 200);
}

}  // namespace

class KubernetesProvider::Impl {
 public:
  explicit Impl(std::shared_ptr<Logger> logger)
      : logger_(logger ? std::move(logger) : NewDefaultLogger(LogLevel::kInfo, "discovery")) {}

  ~Impl() { Close().IgnoreError(); }

  Status SetConfig(const Config& config) {
    std::lock_guard api(api_mu_);
    std::lock_guard lock(mu_);
    if (Status s = CheckCall(kId, Call::kSetConfig, state_); !s.ok()) return s;
    Settings next;
    Result<std::string> app = config.GetStringOr(kAppName, "");
    if (!app.ok()) return app.status();
    if (app->empty()) return InvalidArgumentError(KeyError(kAppName, "is required"));
    next.app = *app;
    Result<std::string> ns = config.GetStringOr(kNamespace, "");
    if (!ns.ok()) return ns.status();
    next.namespace_name = *ns;
    Result<std::string> kubeconfig = config.GetStringOr(kKubeconfig, "");
    if (!kubeconfig.ok()) return kubeconfig.status();
    next.kubeconfig = *kubeconfig;
    Result<std::string> sa = config.GetStringOr(
        kServiceAccountDir, std::string(kubernetes_internal::kServiceAccountDir));
    if (!sa.ok()) return sa.status();
    next.service_account_dir = *sa;
    struct {
      std::string_view key;
      Duration fallback;
      Duration* out;
    } durations[] = {
        {kRequestTimeout, std::chrono::seconds(5), &next.request_timeout},
        {kWatchTimeout, std::chrono::seconds(30), &next.watch_timeout},
        {kBackoffInitial, milliseconds(250), &next.backoff_initial},
        {kBackoffMax, std::chrono::seconds(10), &next.backoff_max},
    };
    for (auto& d : durations) {
      Result<Duration> value = config.GetDurationOr(d.key, d.fallback);
      if (!value.ok()) return value.status();
      if (*value < milliseconds(1)) {
        return InvalidArgumentError(KeyError(d.key, "must be at least 1ms"));
      }
      *d.out = *value;
    }
    if (next.watch_timeout < std::chrono::seconds(1)) {
      return InvalidArgumentError(KeyError(kWatchTimeout, "must be at least 1s"));
    }
    Result<int64_t> max_list = config.GetIntOr(kMaxListBytes, int64_t{32} << 20);
    if (!max_list.ok()) return max_list.status();
    if (*max_list < 1024) {
      return InvalidArgumentError(KeyError(kMaxListBytes, "must be at least 1024"));
    }
    next.max_list_bytes = static_cast<size_t>(*max_list);
    if (config.Has(kSelfHost) || config.Has(kSelfPort)) {
      Result<Node> self = GetSelf(config);
      if (!self.ok()) return self.status();
      next.self_address = self->Address();
    }
    settings_ = std::move(next);
    state_ = State::kConfigured;
    return {};
  }

  Status Initialize() {
    // Serialised with SetConfig and Close for its whole length: it does I/O
    // with the lock below released.
    std::lock_guard api(api_mu_);
    std::unique_lock lock(mu_);
    if (Status s = CheckCall(kId, Call::kInitialize, state_); !s.ok()) return s;
    const Settings settings = settings_;
    lock.unlock();
    Result<ApiAccess> access =
        settings.kubeconfig.empty()
            ? kubernetes_internal::InClusterAccess(settings.service_account_dir,
                                                   Env("KUBERNETES_SERVICE_HOST"),
                                                   Env("KUBERNETES_SERVICE_PORT"))
            : kubernetes_internal::KubeconfigAccess(settings.kubeconfig);
    if (!access.ok()) {
      return InvalidArgumentError("kubernetes discovery: " +
                                  std::string(access.status().message()));
    }
    std::string ns =
        settings.namespace_name.empty() ? access->namespace_name : settings.namespace_name;
    if (ns.empty()) {
      return InvalidArgumentError(
          KeyError(kNamespace, "is not given, and " + access->source + " names none"));
    }
    if (access->insecure) {
      logger_->Warn("kubernetes discovery: TLS verification of the API server is off",
                    {{"source", access->source}});
    }
    auto client = std::make_unique<ApiClient>(*access);
    if (Status s = client->Init(); !s.ok()) return s;
    lock.lock();
    if (stopping_) return CancelledError("kubernetes discovery: closed while initializing");
    namespace_ = ns;
    client_ = std::move(client);
    pods_ = PodSet(settings.self_address);
    const std::string selector = "app.kubernetes.io/part-of=" + settings.app +
                                 ",app.kubernetes.io/component=" + settings.app +
                                 ",app.kubernetes.io/name=" + settings.app;
    path_ =
        "/api/v1/namespaces/" + QueryEscape(ns) + "/pods?labelSelector=" + QueryEscape(selector);
    lock.unlock();
    if (Status s = List(); !s.ok()) return s;
    lock.lock();
    if (stopping_) return CancelledError("kubernetes discovery: closed while initializing");
    state_ = State::kInitialized;
    logger_->Info("kubernetes discovery: listing and watching pods",
                  {{"namespace", ns}, {"app", settings.app}, {"source", access->source}});
    return {};
  }

  Status Move(Call call, State to) {
    std::lock_guard lock(mu_);
    if (Status s = CheckCall(kId, call, state_); !s.ok()) return s;
    if (call == Call::kDeregister && state_ != State::kRegistered) return {};
    state_ = to;
    return {};
  }

  Result<std::vector<Node>> DiscoverNodes() {
    std::lock_guard lock(mu_);
    if (Status s = CheckCall(kId, Call::kDiscoverNodes, state_); !s.ok()) return s;
    return pods_.Nodes();
  }

  Status Watch(WatchCallback callback) {
    if (!callback)
      return InvalidArgumentError("kubernetes discovery: Watch with an empty callback");
    std::lock_guard lock(mu_);
    if (Status s = CheckCall(kId, Call::kWatch, state_); !s.ok()) return s;
    if (!dispatcher_.Start(std::move(callback))) {
      return FailedPreconditionError("kubernetes discovery: Watch called twice");
    }
    for (const Node& node : pods_.Nodes()) dispatcher_.Post(Event{Event::Kind::kAdded, node, {}});
    thread_ = std::thread([this] { Loop(); });
    return {};
  }

  Status Close() {
    if (dispatcher_.OnDispatcherThread()) {
      return FailedPreconditionError("kubernetes discovery: Close called from the Watch callback");
    }
    {
      // First stop whatever is under way (an Initialize's list included),
      // then wait for it.
      std::lock_guard lock(mu_);
      state_ = State::kClosed;
      stopping_ = true;
      if (client_) client_->Cancel();
    }
    wake_.notify_all();
    std::lock_guard api(api_mu_);
    if (thread_.joinable()) thread_.join();
    dispatcher_.Stop();
    return {};
  }

  Stats GetStats() const {
    std::lock_guard lock(mu_);
    Stats out = stats_;
    if (last_success_) out.since_success = SteadyClock::now() - *last_success_;
    return out;
  }

 private:
  struct Settings {
    std::string app;
    std::string namespace_name;
    std::string kubeconfig;
    std::string service_account_dir;
    std::string self_address;
    Duration request_timeout{};
    Duration watch_timeout{};
    Duration backoff_initial{};
    Duration backoff_max{};
    size_t max_list_bytes = 0;
  };

  static milliseconds Ms(Duration d) { return std::chrono::duration_cast<milliseconds>(d); }

  // Lists the pods and makes the set equal to the list; the differences
  // are events. The watch thread, or Initialize before it exists.
  Status List() {
    Result<ApiClient::Response> response =
        client_->Get(path_, Ms(settings_.request_timeout), settings_.max_list_bytes);
    if (!response.ok()) return Failed(response.status(), 0);
    if (response->status != 200) return FailedHttp("list", *response);
    auto list = nlohmann::json::parse(response->body, nullptr, false);
    if (!list.is_object() || !list.contains("items") || !list["items"].is_array()) {
      return Failed(UnavailableError("kubernetes discovery: the pod list is not a PodList"), 0);
    }
    std::vector<PodView> views;
    for (const auto& item : list["items"]) {
      Result<PodView> view = kubernetes_internal::ParsePod(item);
      if (!view.ok()) {
        logger_->Warn("kubernetes discovery: skipping a pod", {{"error", view.status().message()}});
        continue;
      }
      views.push_back(std::move(*view));
    }
    std::string rv;
    if (list.contains("metadata") && list["metadata"].is_object() &&
        list["metadata"].contains("resourceVersion") &&
        list["metadata"]["resourceVersion"].is_string()) {
      rv = list["metadata"]["resourceVersion"].get<std::string>();
    }
    std::vector<Event> events;
    {
      std::lock_guard lock(mu_);
      pods_.Relist(views, &events);
      ++stats_.lists;
      last_success_ = SteadyClock::now();
      resource_version_ = rv;
      for (Event& e : events) dispatcher_.Post(std::move(e));
    }
    Recovered();
    return {};
  }

  // The watch thread: watch, resume, relist after a 410, back off after a
  // failure, until Close.
  void Loop() {
    milliseconds next_backoff = Ms(settings_.backoff_initial);
    std::mt19937 jitter(std::random_device{}());
    auto pause = [&] {
      // Full jitter in [d/2, d], then double up to the cap.
      milliseconds d = next_backoff;
      std::uniform_int_distribution<int64_t> pick(d.count() / 2, d.count());
      next_backoff = std::min(next_backoff * 2, Ms(settings_.backoff_max));
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, milliseconds(pick(jitter)), [this] { return stopping_; });
    };
    bool relist = false;
    bool first = true;
    while (!Stopping()) {
      // Whether this watch starts from a list made just now.
      bool fresh = false;
      if (relist) {
        if (!List().ok()) {  // logged by List
          pause();
          continue;
        }
        relist = false;
        fresh = true;
      }
      std::string rv;
      {
        std::lock_guard lock(mu_);
        rv = resource_version_;
        if (!first) ++stats_.watch_restarts;
      }
      first = false;
      const auto timeout_seconds =
          std::chrono::duration_cast<std::chrono::seconds>(settings_.watch_timeout).count();
      std::string target = path_ +
                           "&watch=1&allowWatchBookmarks=true&resourceVersion=" + QueryEscape(rv) +
                           "&timeoutSeconds=" + std::to_string(timeout_seconds);
      bool gone = false;
      bool failed = false;
      int lines = 0;
      bool any_healthy = false;
      const auto began = SteadyClock::now();
      ApiClient::Response response;
      // A watch is silent between events; bookmarks and its own timeout
      // bound the silence, this bounds a dead connection.
      const milliseconds idle = Ms(settings_.watch_timeout) + std::chrono::seconds(15);
      Status s = client_->Watch(
          target, idle, settings_.max_list_bytes,
          [&](std::string_view line) {
            ++lines;
            bool healthy = false;
            bool go_on = OnLine(line, &gone, &failed, &healthy);
            // It works again, but only an event or a bookmark says so: a
            // watch that is answered with an ERROR at once, every time,
            // must keep backing off.
            if (healthy) {
              next_backoff = Ms(settings_.backoff_initial);
              any_healthy = true;
            }
            return go_on;
          },
          &response);
      if (Stopping()) break;
      if (gone) {
        logger_->Info("kubernetes discovery: resourceVersion too old (410); listing again");
        relist = true;
        // A watch that says nothing but 410 right after a fresh list (a
        // proxy or an API server with a stale cache) would have us list
        // and watch in a tight loop: back off as after a failure. A 410
        // after a resumed watch (the usual one: history compacted while
        // we were away) relists at once.
        if (fresh && !any_healthy) pause();
        continue;
      }
      if (!s.ok() || failed) {
        if (!s.ok()) Failed(s, 0).IgnoreError();  // logged; the loop retries
        pause();
        continue;
      }
      if (response.status == 410) {
        relist = true;
        if (fresh) pause();  // as above
        continue;
      }
      if (response.status != 200) {
        FailedHttp("watch", response).IgnoreError();  // logged; the loop retries
        pause();
        continue;
      }
      // A watch that ended at its timeout: resume at once. One that ended
      // at once with nothing in it (a proxy, a misbehaving server) is not
      // healthy: resuming at once would be a tight loop.
      if (lines == 0 && SteadyClock::now() - began < std::chrono::seconds(1)) pause();
    }
  }

  // One line of a watch stream; false stops the watch. Sets *healthy when
  // the line was an event or a bookmark (not an ERROR, not garbage).
  bool OnLine(std::string_view line, bool* gone, bool* failed, bool* healthy) {
    Result<WatchEvent> event = kubernetes_internal::ParseWatchLine(line);
    if (!event.ok()) {
      std::lock_guard lock(mu_);
      ++stats_.events["invalid"];
      logger_->Warn("kubernetes discovery: skipping a watch line",
                    {{"error", event.status().message()}});
      return true;
    }
    std::vector<Event> events;
    std::lock_guard lock(mu_);
    switch (event->type) {
      case WatchEvent::Type::kAdded:
      case WatchEvent::Type::kModified:
      case WatchEvent::Type::kDeleted: {
        Result<PodView> pod = kubernetes_internal::ParsePod(event->object);
        if (!pod.ok()) {
          ++stats_.events["invalid"];
          logger_->Warn("kubernetes discovery: skipping a pod",
                        {{"error", pod.status().message()}});
          break;
        }
        if (event->type == WatchEvent::Type::kDeleted) {
          ++stats_.events["DELETED"];
          pods_.Remove(pod->name, &events);
        } else {
          ++stats_.events[event->type == WatchEvent::Type::kAdded ? "ADDED" : "MODIFIED"];
          pods_.Upsert(*pod, &events);
        }
        break;
      }
      case WatchEvent::Type::kBookmark: ++stats_.events["BOOKMARK"]; break;
      case WatchEvent::Type::kError:
        ++stats_.events["ERROR"];
        ++stats_.api_errors[event->code];
        if (event->code == 410) {
          *gone = true;
        } else {
          // Resumed after a backoff, from the same resourceVersion.
          *failed = true;
          last_failure_ = "watch error " + std::to_string(event->code);
          logger_->Warn("kubernetes discovery: watch error",
                        {{"code", std::to_string(event->code)}, {"message", event->message}});
        }
        return false;
    }
    *healthy = true;
    if (!event->resource_version.empty()) resource_version_ = event->resource_version;
    last_success_ = SteadyClock::now();
    for (Event& e : events) dispatcher_.Post(std::move(e));
    return true;
  }

  bool Stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Logs a failure when it is of a new kind; returns it as Unavailable.
  Status Failed(const Status& status, int http_status) {
    if (status.code() == StatusCode::kCancelled) return status;  // Close, not a failure
    std::string kind = std::to_string(http_status) + ":" + std::string(status.message());
    bool is_new = false;
    {
      std::lock_guard lock(mu_);
      ++stats_.api_errors[http_status];
      is_new = kind != last_failure_;
      last_failure_ = kind;
    }
    if (is_new) {
      logger_->Warn("kubernetes discovery: API server failing; keeping the last membership",
                    {{"error", status.message()}});
    }
    return status.code() == StatusCode::kResourceExhausted ? status
                                                           : UnavailableError(status.message());
  }

  Status FailedHttp(std::string_view what, const ApiClient::Response& response) {
    std::string message = StatusMessage(response.body);
    std::string text;
    if (response.status == 401) {
      text = "kubernetes discovery: " + std::string(what) +
             ": 401 Unauthorized: the API server rejected the credentials of " +
             client_->access().source + " (a token file is re-read after each 401): " + message;
    } else if (response.status == 403) {
      text = "kubernetes discovery: " + std::string(what) +
             ": 403 Forbidden: the account needs the RBAC verbs get, list and watch on pods in "
             "namespace " +
             namespace_ + " (see deploy/kubernetes/role.yaml): " + message;
    } else {
      text = "kubernetes discovery: " + std::string(what) + ": HTTP " +
             std::to_string(response.status) + ": " + message;
    }
    Status s = Failed(UnavailableError(text), response.status);
    return response.status == 401 || response.status == 403 ? InvalidArgumentError(text) : s;
  }

  void Recovered() {
    bool was_failing = false;
    {
      std::lock_guard lock(mu_);
      was_failing = !last_failure_.empty();
      last_failure_.clear();
    }
    if (was_failing) logger_->Info("kubernetes discovery: API server reachable again");
  }

  const std::shared_ptr<Logger> logger_;
  std::mutex api_mu_;  // serialises SetConfig, Initialize and Close
  mutable std::mutex mu_;
  std::condition_variable wake_;
  State state_ = State::kNew;          // GUARDED_BY(mu_)
  Settings settings_;                  // set by SetConfig; read-only once initialized
  std::string namespace_;              // set by Initialize
  std::string path_;                   // set by Initialize
  std::unique_ptr<ApiClient> client_;  // set by Initialize
  PodSet pods_{""};                    // GUARDED_BY(mu_)
  std::string resource_version_;       // GUARDED_BY(mu_)
  Stats stats_;                        // GUARDED_BY(mu_)
  std::optional<SteadyClock::time_point> last_success_;  // GUARDED_BY(mu_)
  std::string last_failure_;                             // GUARDED_BY(mu_)
  bool stopping_ = false;                                // GUARDED_BY(mu_)
  internal::EventDispatcher dispatcher_;
  std::thread thread_;
};

KubernetesProvider::KubernetesProvider(std::shared_ptr<Logger> logger)
    : impl_(std::make_unique<Impl>(std::move(logger))) {}
KubernetesProvider::~KubernetesProvider() { Close().IgnoreError(); }
Status KubernetesProvider::SetConfig(const Config& config) { return impl_->SetConfig(config); }
Status KubernetesProvider::Initialize() { return impl_->Initialize(); }
Status KubernetesProvider::Register() { return impl_->Move(Call::kRegister, State::kRegistered); }
Status KubernetesProvider::Deregister() {
  return impl_->Move(Call::kDeregister, State::kInitialized);
}
Result<std::vector<Node>> KubernetesProvider::DiscoverNodes() { return impl_->DiscoverNodes(); }
Status KubernetesProvider::Watch(WatchCallback callback) {
  return impl_->Watch(std::move(callback));
}
Status KubernetesProvider::Close() { return impl_->Close(); }
KubernetesProvider::Stats KubernetesProvider::GetStats() const { return impl_->GetStats(); }

}  // namespace groupcache::discovery
