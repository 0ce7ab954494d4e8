#include "peer_handler.h"

#include <utility>

#include "escape.h"
#include "groupcache.pb.h"

namespace groupcache::internal {

PeerHandler::PeerHandler(Registry* registry, const HttpPoolOptions& options, Logger* logger)
    : registry_(registry),
      base_path_(options.base_path),
      max_key_bytes_(options.max_key_bytes),
      logger_(logger) {}

void PeerHandler::WarnLimited(std::string_view message, std::string_view key,
                              std::string_view value) const {
  if (!logger_->Enabled(LogLevel::kWarn)) return;
  int64_t suppressed = 0;
  if (!bad_request_log_.Allow(Clock::now(), &suppressed)) return;
  logger_->Warn(message, {{key, value}, {"suppressed", std::to_string(suppressed)}});
}

PeerReply PeerHandler::Error(int status, std::string message) {
  // Go's http.Error: the message and a newline, as plain text.
  return {status, "text/plain; charset=utf-8", std::move(message) + "\n", std::nullopt, {}};
}

size_t PeerReply::size() const {
  if (value && raw_value) return value->size();
  return value ? FrameGetResponse(*value).Size(value->size()) : body.size();
}

void PeerHandler::FillValue(PeerReply* reply, ByteView value) {
  reply->status = 200;
  reply->content_type = kValueType;
  reply->value.emplace(std::move(value));
}

bool PeerHandler::Handle(std::string_view method, std::string_view path, const std::string& body,
                         PeerReply* reply, Pending* pending) const {
  auto answer = [reply](PeerReply r) {
    *reply = std::move(r);
    return true;
  };
  if (method != "GET" && method != "PUT" && method != "DELETE") {
    return answer(Error(405, "method not allowed: " + std::string(method)));
  }
  std::string storage;  // only a path with escapes is copied
  std::optional<std::string_view> decoded = PercentDecodeView(path, &storage);
  if (!decoded || !decoded->starts_with(base_path_)) {
    WarnLimited("bad request path", "path", path);
    return answer(Error(400, "bad request"));
  }
  std::string_view rest = decoded->substr(base_path_.size());
  // The decoded path splits at its first '/': group names cannot contain
  // one (Registry refuses them), keys can.
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return answer(Error(400, "bad request"));
  std::string_view group_name = rest.substr(0, slash);
  std::string_view key = rest.substr(slash + 1);
  if (key.size() > max_key_bytes_) {
    return answer(Error(414, "key of " + std::to_string(key.size()) +
                                 " bytes is over the limit of " + std::to_string(max_key_bytes_)));
  }
  std::shared_ptr<Group> group = registry_->GetGroup(group_name);
  if (group == nullptr) return answer(Error(404, "no such group: " + std::string(group_name)));

  if (method == "PUT") {
    groupcachepb::SetRequest request;
    if (!request.ParseFromString(body)) {
      WarnLimited("undecodable PUT body", "group", group_name);
      return answer(Error(400, "undecodable SetRequest body"));
    }
    // The key is the URL's: a body naming another key must not redirect
    // the write (a defect of the reference we do not copy).
    group->SetFromPeer(
        key, ByteView(std::move(*request.mutable_value()), FromUnixNanos(request.expire())));
    return answer(PeerReply{200, "text/plain; charset=utf-8", "", std::nullopt, {}});
  }
  if (method == "DELETE") {
    group->RemoveFromPeer(key);
    return answer(PeerReply{200, "text/plain; charset=utf-8", "", std::nullopt, {}});
  }
  if (ByteView value; group->LookupForPeer(key, &value)) {
    FillValue(reply, std::move(value));
    return true;
  }
  pending->group = std::move(group);
  pending->key = std::string(key);
  return false;
}

bool PeerHandler::IsForwarded(std::string_view query) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    if (query.substr(0, amp) == kForwardedQuery) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

void PeerHandler::LoadAsync(const Context& ctx, const Pending& pending,
                            const Group::LocalRunner& run_local,
                            std::function<void(PeerReply)> done) {
  pending.group->GetForPeerAsync(
      ctx, pending.key, run_local,
      [done = std::move(done)](const Result<ByteView>& value) { done(ReplyFor(value)); },
      pending.forwarded);
}

PeerReply PeerHandler::ReplyFor(const Result<ByteView>& value) {
  if (value.ok()) {
    PeerReply reply;
    FillValue(&reply, *value);
    return reply;
  }
  const Status& s = value.status();
  if (s.code() == StatusCode::kNotFound) return Error(404, s.message());
  // The loader refused the key itself: the asking peer must not retry it.
  if (s.code() == StatusCode::kInvalidArgument) return Error(400, s.message());
  return Error(503, s.ToString());
}

}  // namespace groupcache::internal
