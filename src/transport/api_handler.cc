#include "api_handler.h"

#include <algorithm>
#include <ctime>
#include <utility>

#include "escape.h"
#include "groupcache/duration.h"

namespace groupcache::internal {

namespace {

constexpr std::string_view kText = "text/plain; charset=utf-8";

// The status of a failed request that reached the cluster: 504 past its
// deadline, 503 when the server stopped it, else 502 (a peer or the origin
// failed). A GET's reply adds 404 and 400 (ReplyFor).
int JobStatus(const Status& s) {
  if (s.code() == StatusCode::kDeadlineExceeded) return 504;
  if (s.code() == StatusCode::kCancelled) return 503;
  return 502;
}
// The longest ?timeout= honoured: a client cannot park a request forever.
constexpr std::chrono::minutes kMaxTimeout(5);

PeerReply Error(int status, std::string message) {
  PeerReply r = PeerHandler::Error(status, std::move(message));
  if (status == 405) r.headers = "Allow: GET, HEAD, PUT, DELETE\r\n";
  return r;
}

// The value of `name` in a raw query string ("a=1&b=2"), percent-decoded;
// nullopt if absent or undecodable.
std::optional<std::string> QueryValue(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Appends the header line naming where a value came from (one allocation
// for an empty `headers`; concatenated temporaries were three).
void AppendSourceHeader(std::string* headers, Group::Source source) {
  headers->append("X-Groupcache-Source: ").append(Group::SourceName(source)).append("\r\n");
}

// RFC 7231 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string HttpDate(Time t) {
  std::time_t secs = WallClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[40];
  size_t n = std::strftime(out, sizeof(out), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(out, n);
}

}  // namespace

ApiHandler::ApiHandler(Registry* registry, const HttpPoolOptions& options)
    : registry_(registry),
      max_key_bytes_(options.max_key_bytes),
      default_timeout_(
          std::chrono::duration_cast<std::chrono::milliseconds>(options.request_timeout)) {}

std::optional<std::chrono::milliseconds> ApiHandler::ParseDuration(std::string_view text) {
  Result<Duration> d = ParseTtl(text);
  if (!d.ok()) return std::nullopt;
  // Rounded up: "500us" is a short timeout, not none.
  return std::chrono::ceil<std::chrono::milliseconds>(*d);
}

bool ApiHandler::Handle(std::string_view method, std::string_view path, std::string_view query,
                        const std::string& body, PeerReply* reply, Pending* pending,
                        std::function<PeerReply()>* job, std::chrono::milliseconds* job_timeout,
                        const Context& parent) const {
  const Clock::time_point start = Clock::now();
  auto answer = [reply](PeerReply r) {
    *reply = std::move(r);
    return true;
  };
  const bool head = method == "HEAD";
  if (method != "GET" && !head && method != "PUT" && method != "DELETE") {
    return answer(Error(405, "method not allowed: " + std::string(method)));
  }
  std::string storage;  // only a path with escapes is copied
  std::optional<std::string_view> decoded = PercentDecodeView(path, &storage);
  if (!decoded || !decoded->starts_with(kPrefix)) return answer(Error(400, "bad request path"));
  // {group}/keys/{key}: group names hold no '/' (Registry refuses them).
  std::string_view rest = decoded->substr(kPrefix.size());
  size_t slash = rest.find('/');
  constexpr std::string_view kKeys = "/keys/";
  if (slash == std::string_view::npos || rest.substr(slash, kKeys.size()) != kKeys) {
    return answer(Error(400, "bad request path: want /api/v1/groups/{group}/keys/{key}"));
  }
  std::string_view group_name = rest.substr(0, slash);
  std::string_view key = rest.substr(slash + kKeys.size());
  if (key.empty()) return answer(Error(400, "empty key"));
  if (key.size() > max_key_bytes_) {
    return answer(Error(414, "key of " + std::to_string(key.size()) +
                                 " bytes is over the limit of " + std::to_string(max_key_bytes_)));
  }
  std::shared_ptr<Group> group = registry_->GetGroup(group_name);
  if (group == nullptr) return answer(Error(404, "no such group: " + std::string(group_name)));

  std::chrono::milliseconds timeout = default_timeout_;
  if (std::optional<std::string> t = QueryValue(query, "timeout")) {
    std::optional<std::chrono::milliseconds> d = ParseDuration(*t);
    if (!d) return answer(Error(400, "bad timeout '" + *t + "' (want e.g. 2s)"));
    timeout = std::min<std::chrono::milliseconds>(*d, kMaxTimeout);
  }

  if (method == "PUT") {
    Time expire = kNoExpiry;
    if (std::optional<std::string> t = QueryValue(query, "ttl")) {
      std::optional<std::chrono::milliseconds> d = ParseDuration(*t);
      if (!d) return answer(Error(400, "bad ttl '" + *t + "' (want e.g. 30s, at most 100 years)"));
      expire = WallClock::now() + *d;
    }
    *job_timeout = timeout;
    *job = [group, key = std::string(key), value = body, expire, parent,
            deadline = start + timeout] {
      Status s = group->SetEverywhere(parent.WithDeadline(deadline), key, value, expire);
      if (!s.ok()) return Error(JobStatus(s), "set failed: " + s.ToString());
      return PeerReply{204, {}, "", std::nullopt, {}};
    };
    return false;
  }
  if (method == "DELETE") {
    *job_timeout = timeout;
    *job = [group, key = std::string(key), parent, deadline = start + timeout] {
      Status s = group->Remove(parent.WithDeadline(deadline), key);
      if (!s.ok()) return Error(JobStatus(s), "remove failed: " + s.ToString());
      return PeerReply{204, {}, "", std::nullopt, {}};
    };
    return false;
  }
  // A hit is answered here, on the I/O thread, as the peer protocol's is.
  ByteView value;
  Group::Source source = Group::Source::kHit;
  if (group->LookupForClient(key, &value, &source)) {
    FillReply(reply, std::move(value), source, head);
    group->ObserveClientGet(source, Clock::now() - start);
    return true;
  }
  pending->group = std::move(group);
  pending->key = std::string(key);
  pending->head = head;
  pending->timeout = timeout;
  pending->start = start;
  return false;
}

void ApiHandler::LoadAsync(const Context& ctx, const Pending& pending,
                           const Group::LocalRunner& run_local,
                           std::function<void(PeerReply)> done) {
  // The callback holds the group: a request that gave up no longer does.
  pending.group->GetAsync(
      ctx, pending.key, run_local,
      [done = std::move(done), head = pending.head, start = pending.start, group = pending.group](
          const Result<ByteView>& value, Group::Source source) {
        PeerReply reply = ReplyFor(value, source, head);
        // Measured before the reply is handed over: the histogram is the
        // server's share of the latency, writing the reply aside.
        group->ObserveClientGet(source, Clock::now() - start);
        done(std::move(reply));
      });
}

PeerReply ApiHandler::ReplyFor(const Result<ByteView>& value, Group::Source source, bool head) {
  if (!value.ok()) {
    const Status& s = value.status();
    int status = JobStatus(s);
    if (s.code() == StatusCode::kNotFound) status = 404;
    if (s.code() == StatusCode::kInvalidArgument) status = 400;
    PeerReply r = Error(status, s.ToString());
    AppendSourceHeader(&r.headers, source);
    r.head_only = head;
    return r;
  }
  PeerReply r;
  FillReply(&r, *value, source, head);
  return r;
}

void ApiHandler::FillReply(PeerReply* reply, ByteView value, Group::Source source, bool head) {
  reply->status = 200;
  reply->content_type = "application/octet-stream";
  reply->raw_value = true;
  reply->head_only = head;
  AppendSourceHeader(&reply->headers, source);
  if (value.has_expiry()) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(value.expire() - WallClock::now());
    reply->headers +=
        "Cache-Control: max-age=" + std::to_string(std::max<int64_t>(0, left.count())) +
        "\r\nExpires: " + HttpDate(value.expire()) + "\r\n";
  }
  reply->value = std::move(value);
}

}  // namespace groupcache::internal
