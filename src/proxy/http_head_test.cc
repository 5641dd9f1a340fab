#include "proxy/http_head.h"

#include <gtest/gtest.h>

namespace pier::proxy {
namespace {

HeadParse Req(std::string_view text, HttpHead* h, std::string* err, size_t max = 4096) {
  return ParseRequestHead(text, max, h, err);
}

TEST(HttpHead, ParsesARequestWithFraming) {
  HttpHead h;
  std::string err;
  const std::string text =
      "POST /api/x?y=1 HTTP/1.1\r\nHost: a.example.com:8080\r\nContent-Length: 5\r\n"
      "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\n\r\nhello";
  ASSERT_EQ(Req(text, &h, &err), HeadParse::kComplete) << err;
  EXPECT_EQ(h.method, "POST");
  EXPECT_EQ(h.target, "/api/x?y=1");
  EXPECT_EQ(h.host, "a.example.com:8080");
  EXPECT_EQ(h.content_length, 5);
  EXPECT_FALSE(h.close);
  EXPECT_EQ(h.size, text.size() - 5);
  EXPECT_TRUE(h.IsHopByHop("x-secret"));  // named by Connection
  EXPECT_TRUE(h.IsHopByHop("Keep-Alive"));
  EXPECT_FALSE(h.IsHopByHop("content-length"));
  EXPECT_EQ(h.Find("CONTENT-length"), "5");
}

TEST(HttpHead, IncompleteUntilTheBlankLineAndTooLargeAtTheLimit) {
  HttpHead h;
  std::string err;
  EXPECT_EQ(Req("GET / HTTP/1.1\r\nHost: a\r\n", &h, &err), HeadParse::kIncomplete);
  const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(5000, 'v');
  EXPECT_EQ(Req(big, &h, &err), HeadParse::kTooLarge);
}

TEST(HttpHead, RejectsSmugglingAndMalformedInput) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       "both Transfer-Encoding and Content-Length"},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       "invalid Content-Length"},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"},
      {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "other than chunked"},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "obsolete line folding"},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", "line 2: malformed header field"},
      {"GET / HTTP/1.1\r\n\r\n", "no Host header"},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host"},
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", "unsupported HTTP version"},
      {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", "malformed request line"},
  };
  for (const auto& c : cases) {
    HttpHead h;
    std::string err;
    EXPECT_EQ(Req(c.text, &h, &err), HeadParse::kError) << c.text;
    EXPECT_NE(err.find(c.error), std::string::npos) << c.text << " -> " << err;
  }
}

TEST(HttpHead, Http10ClosesUnlessKeepAliveAndUpgradeNeedsBothHeaders) {
  HttpHead h;
  std::string err;
  ASSERT_EQ(Req("GET / HTTP/1.0\r\n\r\n", &h, &err), HeadParse::kComplete);
  EXPECT_TRUE(h.close);
  ASSERT_EQ(Req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &h, &err),
            HeadParse::kComplete);
  EXPECT_FALSE(h.close);
  ASSERT_EQ(Req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
                &h, &err),
            HeadParse::kComplete);
  EXPECT_TRUE(h.upgrade);
  ASSERT_EQ(Req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n\r\n", &h, &err),
            HeadParse::kComplete);
  EXPECT_FALSE(h.upgrade);
}

TEST(HttpHead, ParsesResponses) {
  HttpHead h;
  std::string err;
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n", 4096,
                              &h, &err),
            HeadParse::kComplete);
  EXPECT_EQ(h.status, 404);
  EXPECT_EQ(h.reason, "Not Found");
  EXPECT_TRUE(h.chunked);
  ASSERT_EQ(ParseResponseHead("HTTP/1.1 204\r\n\r\n", 4096, &h, &err), HeadParse::kComplete);
  EXPECT_EQ(h.status, 204);
  EXPECT_EQ(ParseResponseHead("HTTP/1.1 2x0 OK\r\n\r\n", 4096, &h, &err), HeadParse::kError);
  EXPECT_EQ(ParseResponseHead("ICY 200 OK\r\n\r\n", 4096, &h, &err), HeadParse::kError);
}

TEST(ChunkedDecoder, FollowsChunksAcrossSplitsAndCollectsPayload) {
  const std::string body = "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  for (size_t split = 0; split <= body.size(); ++split) {
    ChunkedDecoder d;
    std::vector<std::string_view> payload;
    auto a = d.Feed(std::string_view(body).substr(0, split), &payload);
    ASSERT_FALSE(a.error);
    size_t consumed = a.consumed;
    if (!a.done) {
      auto b = d.Feed(std::string_view(body).substr(consumed), &payload);
      ASSERT_FALSE(b.error);
      consumed += b.consumed;
    }
    EXPECT_TRUE(d.done()) << split;
    EXPECT_EQ(body.substr(consumed), "NEXT") << split;
    std::string joined;
    for (auto p : payload) joined += p;
    EXPECT_EQ(joined, "hello world") << split;
  }
}

TEST(ChunkedDecoder, RejectsBadSizesAndMissingCrlf) {
  for (const char* bad : {"x\r\n", "5\r\nhelloX", "12345678901234567\r\n", "5\nhello"}) {
    ChunkedDecoder d;
    EXPECT_TRUE(d.Feed(bad).error) << bad;
  }
}

}  // namespace
}  // namespace pier::proxy
