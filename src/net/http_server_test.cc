#include "pier/net/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/net/http_query.h"

namespace pier::net {
namespace {

namespace asio = boost::asio;

// Sends raw bytes and returns everything the server answers until it closes.
std::string RoundTrip(const std::string& address, const std::string& raw) {
  auto hp = ParseHostPort(address, "test");
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address(hp->first), hp->second});
  asio::write(s, asio::buffer(raw));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  for (;;) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(
        pool_, HttpServerOptions{.max_header_bytes = 1024, .max_body_bytes = 64});
    server_->Route("GET", "/health",
                   [](const HttpRequest&) { return HttpResponse::Text(200, "ok\n"); });
    server_->Route("POST", "/echo",
                   [](const HttpRequest& r) { return HttpResponse::Text(200, r.body()); });
    server_->RoutePrefix(
        "PUT", "/v1/item/", [](const HttpRequest& r) -> asio::awaitable<HttpResponse> {
          // Waits on a timer without holding the I/O thread.
          asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
          co_await t.async_wait(asio::use_awaitable);
          co_return HttpResponse::Text(200, "item " + std::string(r.target()));
        });
    server_->RoutePrefix("PUT", "/v1/item/special/",
                         [](const HttpRequest&) -> asio::awaitable<HttpResponse> {
                           co_return HttpResponse::Text(200, "special");
                         });
    ASSERT_TRUE(server_->Start().ok());
    pool_.Start();
  }
  void TearDown() override {
    server_->Shutdown();
    server_->CloseAll();
    pool_.Stop(false);
    pool_.Join();
  }
  IoPool pool_{2};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, ServesRoutes) {
  std::string r = RoundTrip(server_->address(),
                            "GET /health?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK", 0), 0u) << r;
  EXPECT_NE(r.find("\r\n\r\nok\n"), std::string::npos);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequests) {
  std::string r = RoundTrip(
      server_->address(),
      "GET /health HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_NE(r.find("ok\n"), std::string::npos);
  EXPECT_NE(r.find("hello"), std::string::npos);
}

TEST_F(HttpServerTest, PrefixRoutesPickTheLongestAndMayWait) {
  std::string r = RoundTrip(
      server_->address(), "PUT /v1/item/abc?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("\r\n\r\nitem /v1/item/abc?x=1"), std::string::npos) << r;
  r = RoundTrip(server_->address(),
                "PUT /v1/item/special/9 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("\r\n\r\nspecial"), std::string::npos) << r;
  r = RoundTrip(server_->address(),
                "GET /v1/item/abc HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 405", 0), 0u) << r;
  r = RoundTrip(server_->address(), "PUT /v1/ite HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 404", 0), 0u) << r;
}

TEST(HttpQueryTest, SplitsAndDecodes) {
  auto q = ParseQuery("/v1/x?passing&tag=a%20b&index=12&tag=c+d&bad=%zz");
  EXPECT_EQ(q.path, "/v1/x");
  EXPECT_TRUE(q.Has("passing"));
  EXPECT_EQ(q.Get("passing"), "");
  EXPECT_EQ(q.Get("tag"), "a b");
  EXPECT_EQ(q.All("tag"), (std::vector<std::string>{"a b", "c d"}));
  EXPECT_EQ(q.Get("index"), "12");
  EXPECT_EQ(q.Get("bad"), "%zz");
  EXPECT_FALSE(q.Has("missing"));
  EXPECT_EQ(UrlDecode("%2Fa%2fb"), "/a/b");
}

TEST_F(HttpServerTest, UnknownPathAndMethod) {
  EXPECT_EQ(RoundTrip(server_->address(), "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n")
                .rfind("HTTP/1.1 404", 0),
            0u);
  std::string r =
      RoundTrip(server_->address(), "DELETE /health HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_NE(r.find("method DELETE not allowed on /health"), std::string::npos);
}

TEST_F(HttpServerTest, LimitsAnswer413And431) {
  std::string big_body =
      "POST /echo HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x');
  EXPECT_EQ(RoundTrip(server_->address(), big_body).rfind("HTTP/1.1 413", 0), 0u);
  std::string big_header = "GET /health HTTP/1.1\r\nX-Big: " + std::string(2000, 'y') + "\r\n\r\n";
  EXPECT_EQ(RoundTrip(server_->address(), big_header).rfind("HTTP/1.1 431", 0), 0u);
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  std::string r = RoundTrip(server_->address(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
}

TEST(ParseHostPort, AcceptsAndRejects) {
  auto ok = ParseHostPort("127.0.0.1:7379", "--listen");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->first, "127.0.0.1");
  EXPECT_EQ(ok->second, 7379);
  EXPECT_EQ(ParseHostPort("[::1]:80", "x")->first, "::1");
  EXPECT_EQ(ParseHostPort("nohost", "--listen").status().message(),
            "--listen: expected HOST:PORT, got 'nohost'");
  EXPECT_FALSE(ParseHostPort("h:99999", "--listen").ok());
  EXPECT_TRUE(IsLoopbackHost("127.0.0.2"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
}

}  // namespace
}  // namespace pier::net
