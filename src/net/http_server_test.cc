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
    HttpServerOptions o{.max_header_bytes = 1024, .max_body_bytes = 64};
    o.security.token = "t0k";
    o.security.unauthenticated_max_body_bytes = 8;
    o.security.request_header_timeout = std::chrono::milliseconds(200);
    server_ = std::make_unique<HttpServer>(pool_, o);
    server_->Route(
        "GET", "/health", [](const HttpRequest&) { return HttpResponse::Text(200, "ok\n"); },
        Access::kOpen);
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
  std::string r =
      RoundTrip(server_->address(),
                "GET /health?x=1 HTTP/1.1\r\nHost: 127.0.0.1:1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK", 0), 0u) << r;
  EXPECT_NE(r.find("\r\n\r\nok\n"), std::string::npos);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequests) {
  std::string r =
      RoundTrip(server_->address(),
                "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n"
                "POST /echo HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer t0k\r\n"
                "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_NE(r.find("ok\n"), std::string::npos);
  EXPECT_NE(r.find("hello"), std::string::npos);
}

TEST_F(HttpServerTest, PrefixRoutesPickTheLongestAndMayWait) {
  std::string r = RoundTrip(
      server_->address(),
      "PUT /v1/item/abc?x=1 HTTP/1.1\r\nX-Consul-Token: t0k\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("\r\n\r\nitem /v1/item/abc?x=1"), std::string::npos) << r;
  r = RoundTrip(server_->address(),
                "PUT /v1/item/special/9?token=t0k HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("\r\n\r\nspecial"), std::string::npos) << r;
  r = RoundTrip(server_->address(), "GET /v1/item/abc HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 405", 0), 0u) << r;
  r = RoundTrip(server_->address(), "PUT /v1/ite HTTP/1.1\r\nConnection: close\r\n\r\n");
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
      "POST /echo HTTP/1.1\r\nAuthorization: Bearer t0k\r\nContent-Length: 100\r\n\r\n" +
      std::string(100, 'x');
  EXPECT_EQ(RoundTrip(server_->address(), big_body).rfind("HTTP/1.1 413", 0), 0u);
  std::string big_header = "GET /health HTTP/1.1\r\nX-Big: " + std::string(2000, 'y') + "\r\n\r\n";
  EXPECT_EQ(RoundTrip(server_->address(), big_header).rfind("HTTP/1.1 431", 0), 0u);
}

TEST_F(HttpServerTest, MalformedRequestGets400) {
  std::string r = RoundTrip(server_->address(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 400", 0), 0u) << r;
}

std::string StatusLine(const std::string& response) { return response.substr(0, 12); }

TEST_F(HttpServerTest, MutatingRoutesNeedTheToken) {
  const std::string post = "POST /echo HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n";
  std::string r = RoundTrip(server_->address(), post + "\r\nhi");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 401") << r;
  EXPECT_NE(r.find("WWW-Authenticate: Bearer"), std::string::npos);
  EXPECT_EQ(
      StatusLine(RoundTrip(server_->address(), post + "Authorization: Bearer nope\r\n\r\nhi")),
      "HTTP/1.1 403");
  EXPECT_EQ(StatusLine(RoundTrip(server_->address(), post + "X-Consul-Token: t0k\r\n\r\nhi")),
            "HTTP/1.1 200");
}

TEST_F(HttpServerTest, BrowserDefencesAnswer421And403And415) {
  const std::string get = "GET /health HTTP/1.1\r\nConnection: close\r\n";
  // DNS rebinding: a name the server does not know.
  EXPECT_EQ(StatusLine(RoundTrip(server_->address(), get + "Host: attacker.example:7900\r\n\r\n")),
            "HTTP/1.1 421");
  // A cross-site page, even with the token in the URL.
  std::string post = "POST /echo?token=t0k HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n";
  EXPECT_EQ(
      StatusLine(RoundTrip(server_->address(), post + "Origin: https://evil.example\r\n\r\nhi")),
      "HTTP/1.1 403");
  EXPECT_EQ(
      StatusLine(RoundTrip(server_->address(), post + "Origin: http://localhost:3000\r\n\r\nhi")),
      "HTTP/1.1 200");
  // A body a form or fetch(no-cors) can send.
  EXPECT_EQ(StatusLine(RoundTrip(server_->address(), post + "Content-Type: text/plain\r\n\r\nhi")),
            "HTTP/1.1 415");
  EXPECT_EQ(
      StatusLine(RoundTrip(server_->address(), post + "Content-Type: application/json\r\n\r\nhi")),
      "HTTP/1.1 200");
}

TEST_F(HttpServerTest, RequestsWithoutTheTokenGetSmallBodies) {
  server_->Shutdown();  // a fresh server with a reading route that takes a body
  HttpServerOptions o{.max_body_bytes = 64};
  o.security.token = "t0k";
  o.security.unauthenticated_max_body_bytes = 8;
  HttpServer s(pool_, o);
  s.Route("GET", "/size", [](const HttpRequest& r) {
    return HttpResponse::Text(200, std::to_string(r.body().size()));
  });
  ASSERT_TRUE(s.Start().ok());
  const std::string head = "GET /size HTTP/1.1\r\nConnection: close\r\nContent-Length: 20\r\n";
  EXPECT_EQ(StatusLine(RoundTrip(s.address(), head + "\r\n" + std::string(20, 'x'))),
            "HTTP/1.1 413");
  std::string r =
      RoundTrip(s.address(), head + "Authorization: Bearer t0k\r\n\r\n" + std::string(20, 'x'));
  EXPECT_NE(r.find("\r\n\r\n20"), std::string::npos) << r;
  s.Shutdown();
  s.CloseAll();
}

TEST_F(HttpServerTest, AHeadThatTricklesIsClosed) {
  // The first byte starts the request's clock; the rest never comes (200 ms deadline here).
  std::string r = RoundTrip(server_->address(), "GET /health HTTP/1.1\r\nX-Slow: 1\r\n");
  EXPECT_EQ(r, "");
}

TEST_F(HttpServerTest, ListsEveryRouteWithItsAccess) {
  std::string r =
      RoundTrip(server_->address(), "GET /routes HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find(R"({"access":"mutate","method":"POST","path":"/echo","prefix":false})"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find(R"({"access":"open","method":"GET","path":"/health","prefix":false})"),
            std::string::npos);
  EXPECT_NE(r.find(R"({"access":"mutate","method":"PUT","path":"/v1/item/","prefix":true})"),
            std::string::npos);
}

TEST(HttpServerProtectedMode, RefusesAPublicBindWithoutAToken) {
  IoPool pool(1);
  HttpServerOptions o;
  o.listen.host = "0.0.0.0";
  HttpServer s(pool, o);
  Status st = s.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("without a token (protected mode)"), std::string::npos);
}

TEST(HttpServerProtectedMode, BeyondLoopbackReadingRoutesNeedTheTokenToo) {
  IoPool pool(1);
  HttpServerOptions o;
  o.listen.host = "0.0.0.0";
  o.security.token = "t0k";
  HttpServer s(pool, o);
  s.Route(
      "GET", "/health", [](const HttpRequest&) { return HttpResponse::Text(200, "ok"); },
      Access::kOpen);
  s.Route("GET", "/data", [](const HttpRequest&) { return HttpResponse::Text(200, "data"); });
  ASSERT_TRUE(s.Start().ok());
  pool.Start();
  const std::string addr = "127.0.0.1:" + s.address().substr(s.address().rfind(':') + 1);
  EXPECT_EQ(StatusLine(RoundTrip(addr, "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")),
            "HTTP/1.1 200");
  EXPECT_EQ(StatusLine(RoundTrip(addr, "GET /data HTTP/1.1\r\nConnection: close\r\n\r\n")),
            "HTTP/1.1 401");
  EXPECT_EQ(
      StatusLine(RoundTrip(addr, "GET /data?token=t0k HTTP/1.1\r\nConnection: close\r\n\r\n")),
      "HTTP/1.1 200");
  s.Shutdown();
  s.CloseAll();
  pool.Stop(false);
  pool.Join();
}

TEST(HttpGuardTest, TokensCompareWhole) {
  EXPECT_TRUE(TokensEqual("abc", "abc"));
  EXPECT_FALSE(TokensEqual("abd", "abc"));
  EXPECT_FALSE(TokensEqual("ab", "abc"));
  EXPECT_FALSE(TokensEqual("", ""));  // no token configured: nothing matches
}

TEST(HttpGuardTest, HostsAndOrigins) {
  HttpGuard g({.allowed_origins = {"https://ops.example.com"}, .allowed_hosts = {"pier.lan"}});
  EXPECT_TRUE(g.HostAllowed("127.0.0.1:7900"));
  EXPECT_TRUE(g.HostAllowed("[::1]:7900"));
  EXPECT_TRUE(g.HostAllowed("10.1.2.3"));
  EXPECT_TRUE(g.HostAllowed("localhost:7900"));
  EXPECT_TRUE(g.HostAllowed("PIER.lan:80"));
  EXPECT_FALSE(g.HostAllowed("evil.example:7900"));
  EXPECT_TRUE(g.OriginAllowed("http://127.0.0.1:5173", "x"));
  EXPECT_TRUE(g.OriginAllowed("http://localhost", "x"));
  EXPECT_TRUE(g.OriginAllowed("https://ops.example.com", "x"));
  EXPECT_TRUE(g.OriginAllowed("http://10.0.0.5:7900", "10.0.0.5:7900"));  // same origin
  EXPECT_FALSE(g.OriginAllowed("http://10.0.0.5:7900", "127.0.0.1:7900"));
  EXPECT_FALSE(g.OriginAllowed("null", "127.0.0.1:7900"));
  EXPECT_FALSE(g.OriginAllowed("https://evil.example", "127.0.0.1:7900"));
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
