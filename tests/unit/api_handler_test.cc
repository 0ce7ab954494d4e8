// The client API's requests and replies, without a server: routing,
// limits, status codes, headers, and the source of each value.

#include "api_handler.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace groupcache::internal {
namespace {

class ApiHandlerTest : public ::testing::Test {
 protected:
  ApiHandlerTest() {
    options_.max_key_bytes = 16;
    group_ = *registry_.NewGroup(
        "g", 1 << 20, [this](const Context&, std::string_view key, Sink& dest) -> Status {
          ++loads_[std::string(key)];
          if (key == "missing") return NotFoundError("no value for missing");
          if (key == "refused") return InvalidArgumentError("refused key");
          if (key == "broken") return UnavailableError("origin said 500");
          if (key == "expiring") {
            return dest.SetView(ByteView("soon", WallClock::now() + std::chrono::seconds(30)));
          }
          return dest.SetString("value of " + std::string(key));
        });
  }

  struct Outcome {
    std::optional<PeerReply> reply;
    ApiHandler::Pending pending;
    std::function<PeerReply()> job;
    std::chrono::milliseconds job_timeout{0};
  };
  Outcome Handle(std::string_view method, std::string_view path, std::string_view query = "",
                 const std::string& body = "") {
    ApiHandler handler(&registry_, options_);
    Outcome out;
    PeerReply reply;
    if (handler.Handle(method, path, query, body, &reply, &out.pending, &out.job,
                       &out.job_timeout)) {
      out.reply = std::move(reply);
    }
    return out;
  }
  // Runs a GET that missed to its reply (the getter runs inline).
  PeerReply Load(const ApiHandler::Pending& pending) {
    std::optional<PeerReply> reply;
    ApiHandler::LoadAsync(
        Context::Background(), pending,
        [](const std::function<void()>& job) {
          job();
          return true;
        },
        [&](PeerReply r) { reply = std::move(r); });
    EXPECT_TRUE(reply.has_value());
    return reply.value_or(PeerReply{});
  }

  HttpPoolOptions options_;
  Registry registry_;
  std::shared_ptr<Group> group_;
  std::map<std::string, int> loads_;
};

TEST_F(ApiHandlerTest, AGetLoadsOnceThenHitsWithItsSourceAndRawBytes) {
  Outcome first = Handle("GET", "/api/v1/groups/g/keys/a%2Fb%20c");
  ASSERT_FALSE(first.reply);
  ASSERT_FALSE(first.job);
  EXPECT_EQ(first.pending.key, "a/b c");  // percent-decoded, '/' kept
  PeerReply loaded = Load(first.pending);
  EXPECT_EQ(loaded.status, 200);
  EXPECT_TRUE(loaded.raw_value);
  EXPECT_EQ(loaded.type(), "application/octet-stream");
  ASSERT_TRUE(loaded.value);
  EXPECT_EQ(loaded.value->view(), "value of a/b c");
  EXPECT_EQ(loaded.size(), loaded.value->size());  // no protobuf frame
  EXPECT_NE(loaded.headers.find("X-Groupcache-Source: load\r\n"), std::string::npos);
  EXPECT_EQ(loaded.headers.find("Cache-Control"), std::string::npos);  // never expires

  // The second is a hit, answered by Handle itself: no pending load.
  Outcome second = Handle("GET", "/api/v1/groups/g/keys/a%2Fb%20c");
  ASSERT_TRUE(second.reply);
  EXPECT_FALSE(second.pending.group);
  const PeerReply& hit = *second.reply;
  EXPECT_EQ(hit.status, 200);
  EXPECT_TRUE(hit.raw_value);
  EXPECT_FALSE(hit.head_only);
  EXPECT_EQ(hit.type(), "application/octet-stream");
  ASSERT_TRUE(hit.value);
  EXPECT_EQ(hit.value->view(), "value of a/b c");
  EXPECT_EQ(hit.headers, "X-Groupcache-Source: hit\r\n");
  EXPECT_EQ(loads_["a/b c"], 1);
}

TEST_F(ApiHandlerTest, AHitCountsAsAGetAndInTheClientHistogram) {
  Load(Handle("GET", "/api/v1/groups/g/keys/k").pending);
  const GroupStats before = group_->Stats();
  Outcome hit = Handle("HEAD", "/api/v1/groups/g/keys/k");
  ASSERT_TRUE(hit.reply);
  EXPECT_TRUE(hit.reply->head_only);
  EXPECT_EQ(hit.reply->size(), std::string("value of k").size());
  const GroupStats after = group_->Stats();
  EXPECT_EQ(after.gets, before.gets + 1);
  EXPECT_EQ(after.cache_hits, before.cache_hits + 1);
  const Group::Latencies latencies = group_->GetLatencies();
  EXPECT_EQ(latencies.client_get[static_cast<size_t>(Group::Source::kHit)].count(), 1);
  EXPECT_EQ(latencies.client_get[static_cast<size_t>(Group::Source::kLoad)].count(), 1);

  // A miss counts one Get, not two: Handle's look and the load's.
  Outcome miss = Handle("GET", "/api/v1/groups/g/keys/new");
  ASSERT_FALSE(miss.reply);
  Load(miss.pending);
  EXPECT_EQ(group_->Stats().gets, after.gets + 1);
}

TEST_F(ApiHandlerTest, HeadHasTheHeadersButNoBody) {
  Outcome o = Handle("HEAD", "/api/v1/groups/g/keys/k");
  PeerReply r = Load(o.pending);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.head_only);
  EXPECT_EQ(r.size(), std::string("value of k").size());  // Content-Length of the GET
}

TEST_F(ApiHandlerTest, AnExpiringValueCarriesMaxAgeAndExpires) {
  Outcome o = Handle("GET", "/api/v1/groups/g/keys/expiring");
  PeerReply r = Load(o.pending);
  EXPECT_NE(r.headers.find("Cache-Control: max-age=29\r\n"), std::string::npos) << r.headers;
  EXPECT_NE(r.headers.find("Expires: "), std::string::npos);
  EXPECT_NE(r.headers.find(" GMT\r\n"), std::string::npos);
}

TEST_F(ApiHandlerTest, LoaderErrorsBecomeHttpStatuses) {
  EXPECT_EQ(Load(Handle("GET", "/api/v1/groups/g/keys/missing").pending).status, 404);
  EXPECT_EQ(Load(Handle("GET", "/api/v1/groups/g/keys/refused").pending).status, 400);
  PeerReply broken = Load(Handle("GET", "/api/v1/groups/g/keys/broken").pending);
  EXPECT_EQ(broken.status, 502);
  EXPECT_NE(broken.body.find("origin said 500"), std::string::npos);
  EXPECT_NE(broken.headers.find("X-Groupcache-Source: load"), std::string::npos);
  PeerReply late = ApiHandler::ReplyFor(DeadlineExceededError("late"), Group::Source::kPeer, false);
  EXPECT_EQ(late.status, 504);
  // Cancelled: the server stopped the load (Shutdown past its grace).
  EXPECT_EQ(ApiHandler::ReplyFor(CancelledError("stopping"), Group::Source::kLoad, false).status,
            503);
}

TEST_F(ApiHandlerTest, BadRequestsAreRefusedWithClearStatuses) {
  struct Case {
    std::string method, path, query;
    int status;
  } cases[] = {
      {"POST", "/api/v1/groups/g/keys/k", "", 405},
      {"GET", "/api/v1/groups/g/k", "", 400},
      {"GET", "/api/v1/groups/g/keys/", "", 400},
      {"GET", "/api/v1/groups/g/keys/%zz", "", 400},
      {"GET", "/api/v1/groups/nope/keys/k", "", 404},
      {"GET", "/api/v1/groups/g/keys/" + std::string(17, 'k'), "", 414},
      {"GET", "/api/v1/groups/g/keys/k", "timeout=soon", 400},
      {"GET", "/api/v1/groups/g/keys/k", "timeout=0s", 400},
      {"PUT", "/api/v1/groups/g/keys/k", "ttl=-1s", 400},
      // Would overflow now + ttl (int64 nanoseconds end in 2262).
      {"PUT", "/api/v1/groups/g/keys/k", "ttl=2500000h", 400},
  };
  for (const Case& c : cases) {
    Outcome o = Handle(c.method, c.path, c.query);
    ASSERT_TRUE(o.reply) << c.method << " " << c.path << "?" << c.query;
    EXPECT_EQ(o.reply->status, c.status) << c.method << " " << c.path << "?" << c.query;
  }
  EXPECT_NE(Handle("POST", "/api/v1/groups/g/keys/k").reply->headers.find("Allow: GET, HEAD"),
            std::string::npos);
  EXPECT_TRUE(loads_.empty());
}

TEST_F(ApiHandlerTest, TheTimeoutQueryIsTheLoadsDeadline) {
  Outcome o = Handle("GET", "/api/v1/groups/g/keys/k", "x=1&timeout=250ms");
  EXPECT_EQ(o.pending.timeout, std::chrono::milliseconds(250));
  Outcome dflt = Handle("GET", "/api/v1/groups/g/keys/k");
  EXPECT_EQ(dflt.pending.timeout,
            std::chrono::duration_cast<std::chrono::milliseconds>(options_.request_timeout));
  EXPECT_EQ(ApiHandler::ParseDuration("2s"), std::chrono::milliseconds(2000));
  EXPECT_EQ(ApiHandler::ParseDuration("1m"), std::chrono::milliseconds(60000));
  EXPECT_FALSE(ApiHandler::ParseDuration("2"));
  EXPECT_FALSE(ApiHandler::ParseDuration("s"));
  EXPECT_FALSE(ApiHandler::ParseDuration("99999999999999h"));
  // Go's syntax, as the daemon's flags take; a sub-millisecond timeout is
  // rounded up rather than to none.
  EXPECT_EQ(ApiHandler::ParseDuration("1m30s"), std::chrono::milliseconds(90000));
  EXPECT_EQ(ApiHandler::ParseDuration("500us"), std::chrono::milliseconds(1));
  EXPECT_FALSE(ApiHandler::ParseDuration("876001h"));
}

TEST_F(ApiHandlerTest, PutSetsWithItsTtlAndDeleteRemoves) {
  Outcome put = Handle("PUT", "/api/v1/groups/g/keys/k", "ttl=30s", "new value");
  ASSERT_FALSE(put.reply);
  ASSERT_TRUE(put.job);
  EXPECT_EQ(put.job().status, 204);
  // The PUT's value is in the cache: a hit, answered by Handle.
  Outcome got = Handle("GET", "/api/v1/groups/g/keys/k");
  ASSERT_TRUE(got.reply);
  ASSERT_TRUE(got.reply->value);
  EXPECT_EQ(got.reply->value->view(), "new value");
  EXPECT_NE(got.reply->headers.find("X-Groupcache-Source: hit\r\n"), std::string::npos);
  EXPECT_NE(got.reply->headers.find("Cache-Control: max-age="), std::string::npos);
  EXPECT_EQ(loads_.count("k"), 0u);  // the PUT's value, not a load

  // The job's deadline, for the transport's wait: ?timeout=, else the
  // default.
  EXPECT_EQ(put.job_timeout, options_.request_timeout);
  EXPECT_EQ(Handle("PUT", "/api/v1/groups/g/keys/k", "timeout=45s", "v").job_timeout,
            std::chrono::seconds(45));

  Outcome del = Handle("DELETE", "/api/v1/groups/g/keys/k", "timeout=2s");
  EXPECT_EQ(del.job_timeout, std::chrono::seconds(2));
  ASSERT_TRUE(del.job);
  EXPECT_EQ(del.job().status, 204);
  PeerReply reloaded = Load(Handle("GET", "/api/v1/groups/g/keys/k").pending);
  EXPECT_EQ(reloaded.value->view(), "value of k");
  EXPECT_EQ(loads_["k"], 1);
}

}  // namespace
}  // namespace groupcache::internal
