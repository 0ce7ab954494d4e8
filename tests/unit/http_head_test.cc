#include "http_head.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "http_head_oracle.h"

namespace groupcache::internal {
namespace {

constexpr size_t kLimit = 8192;

TEST(RequestHeadTest, ReadsWhatPeersSend) {
  // wrk's, Go's http.Client's and our own client's GETs.
  for (std::string_view head : {
           "GET /_groupcache/g/warm HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
           "GET /_groupcache/g/some%20key HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
           "User-Agent: Go-http-client/1.1\r\nAccept-Encoding: gzip\r\n\r\n",
           "GET /_groupcache/g/k HTTP/1.1\r\nHost: 10.0.0.2:8080\r\nUser-Agent: "
           "groupcache-cpp\r\n\r\n",
       }) {
    std::optional<SimpleRequestHead> r = ParseSimpleRequestHead(head, kLimit);
    ASSERT_TRUE(r.has_value()) << head;
    EXPECT_EQ(r->method, "GET");
    EXPECT_TRUE(r->target.starts_with("/_groupcache/g/"));
    EXPECT_EQ(r->version, 11);
    EXPECT_TRUE(r->keep_alive);
    EXPECT_EQ(r->size, head.size());
    EXPECT_EQ(RequestDisagreementWithBeast(head, kLimit), "");
  }
}

TEST(RequestHeadTest, StopsAtTheBlankLine) {
  std::string_view two = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  std::optional<SimpleRequestHead> r = ParseSimpleRequestHead(two, kLimit);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, "/a");
  EXPECT_EQ(two.substr(r->size), "GET /b HTTP/1.1\r\n\r\n");
  EXPECT_EQ(RequestDisagreementWithBeast(two, kLimit), "");
}

TEST(RequestHeadTest, KeepAliveAsBeastReadsIt) {
  auto keep_alive = [](std::string_view head) {
    std::optional<SimpleRequestHead> r = ParseSimpleRequestHead(head, kLimit);
    EXPECT_TRUE(r.has_value()) << head;
    EXPECT_EQ(RequestDisagreementWithBeast(head, kLimit), "") << head;
    return r && r->keep_alive;
  };
  EXPECT_TRUE(keep_alive("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\nconnection:TE ,\tClose\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(keep_alive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
}

TEST(RequestHeadTest, DeclinesWhatItCannotJudge) {
  for (std::string_view head : {
           "GET /_groupcache/g/k HTTP/1.1\r\nHost: x\r\n",  // not all in
           "PUT /_groupcache/g/k HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
           "GET / HTTP/1.1\r\ncontent-length: 0\r\n\r\n",
           "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
           "GET / HTTP/1.1\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n",
           "GET / HTTP/1.1\r\nConnection: close,,\r\n\r\n",
           "GET / HTTP/1.1\r\nHost : x\r\n\r\n",           // space before the colon
           "GET / HTTP/1.1\r\nHost: x\r\n y\r\n\r\n",      // obs-fold
           "GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n",  // obs-text
           "GET / HTTP/1.1\nHost: x\r\n\r\n",              // bare LF
           "GET /a b HTTP/1.1\r\n\r\n",
           "GET /a\"b HTTP/1.1\r\n\r\n",
           "GET http://x/a HTTP/1.1\r\n\r\n",  // absolute-form
           "OPTIONS * HTTP/1.1\r\n\r\n",
           "get / HTTP/1.1\r\n\r\n",
           "GET / HTTP/2.0\r\n\r\n",
           "GET / http/1.1\r\n\r\n",
           "\r\nGET / HTTP/1.1\r\n\r\n",
           "GET  / HTTP/1.1\r\n\r\n",
       }) {
    EXPECT_FALSE(ParseSimpleRequestHead(head, kLimit).has_value()) << head;
  }
  // At or over the limit: Beast refuses it with 431.
  std::string_view head = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_FALSE(ParseSimpleRequestHead(head, head.size()).has_value());
  EXPECT_TRUE(ParseSimpleRequestHead(head, head.size() + 1).has_value());
  EXPECT_EQ(RequestDisagreementWithBeast(head, head.size() + 1), "");
}

// Every one-byte change, removal and doubling of the seeds, each checked
// at two header limits: whatever a short way still accepts, Beast reads the
// same way. `parse` is the short way, `disagreement` its oracle. (The fuzz
// targets search far wider; this keeps the property in every test run.)
template <class Parse, class Disagreement>
void CheckEveryOneByteEdit(std::initializer_list<std::string_view> seeds, size_t small_limit,
                           Parse parse, Disagreement disagreement) {
  const std::string_view bytes(
      "\0\t\n\r ,:;%/\"\x7f\x80\xff"
      "AaZz09-_",
      22);
  int accepted = 0;
  int checked = 0;
  auto check = [&](const std::string& edited) {
    ++checked;
    for (size_t limit : {kLimit, small_limit}) {
      if (parse(edited, limit)) ++accepted;
      ASSERT_EQ(disagreement(edited, limit), "") << testing::PrintToString(edited);
    }
  };
  for (std::string_view seed : seeds) {
    for (size_t i = 0; i < seed.size(); ++i) {
      std::string s(seed);
      check(s.substr(0, i) + s.substr(i + 1));
      check(s.substr(0, i) + s[i] + s.substr(i));
      for (char b : bytes) {
        s[i] = b;
        check(s);
      }
    }
  }
  // The edits must leave many heads the short way still takes, or the
  // comparison proved nothing.
  EXPECT_GT(accepted, checked / 4);
}

TEST(RequestHeadTest, AgreesWithBeastOnEveryOneByteEdit) {
  CheckEveryOneByteEdit(
      {
          "GET /_groupcache/g/some%20key?x=1 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n"
          "Connection: keep-alive, TE\r\nAccept-Encoding: gzip\r\n\r\nGET",
          "DELETE /_groupcache/g/k HTTP/1.0\r\nconnection: keep-alive\r\n\r\n",
      },
      40, ParseSimpleRequestHead, RequestDisagreementWithBeast);
}

TEST(ResponseHeadTest, ReadsWhatPeersAnswer) {
  // groupcached's answer and Go's net/http server's.
  for (std::string_view head : {
           "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: "
           "1027\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nDate: Fri, 04 Dec 2026 "
           "16:00:00 GMT\r\nContent-Length: 1027\r\n\r\n",
       }) {
    std::optional<SimpleResponseHead> r = ParseSimpleResponseHead(head, kLimit);
    ASSERT_TRUE(r.has_value()) << head;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->version, 11);
    EXPECT_TRUE(r->keep_alive);
    EXPECT_EQ(r->content_length, 1027u);
    EXPECT_EQ(r->size, head.size());
    EXPECT_EQ(ResponseDisagreementWithBeast(head, kLimit), "");
  }
  std::string_view error =
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Content-Length:  10 \r\nConnection: close\r\n\r\nnot found\n";
  std::optional<SimpleResponseHead> r = ParseSimpleResponseHead(error, kLimit);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 404);
  EXPECT_FALSE(r->keep_alive);
  EXPECT_EQ(r->content_length, 10u);
  EXPECT_EQ(error.substr(r->size), "not found\n");
  EXPECT_EQ(ResponseDisagreementWithBeast(error, kLimit), "");
}

TEST(ResponseHeadTest, DeclinesWhatItCannotJudge) {
  for (std::string_view head : {
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n",  // not all in
           "HTTP/1.1 200 OK\r\n\r\n",                   // body up to the close
           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
           "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
           "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n",
           "HTTP/1.1 100 Continue\r\n\r\n", "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",  // no space after the code
           "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n x\r\n\r\n",  // obs-fold
       }) {
    EXPECT_FALSE(ParseSimpleResponseHead(head, kLimit).has_value()) << head;
  }
  std::string_view head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_FALSE(ParseSimpleResponseHead(head, head.size()).has_value());
  EXPECT_TRUE(ParseSimpleResponseHead(head, head.size() + 1).has_value());
  EXPECT_EQ(ResponseDisagreementWithBeast(head, head.size() + 1), "");
}

TEST(ResponseHeadTest, AgreesWithBeastOnEveryOneByteEdit) {
  CheckEveryOneByteEdit(
      {
          "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nConnection: keep-alive, "
          "TE\r\nContent-Length: 12\r\n\r\nvalue",
          "HTTP/1.0 503 Service Unavailable\r\nconnection: keep-alive\r\ncontent-length: "
          "0\r\n\r\n",
      },
      60, ParseSimpleResponseHead, ResponseDisagreementWithBeast);
}

}  // namespace
}  // namespace groupcache::internal
