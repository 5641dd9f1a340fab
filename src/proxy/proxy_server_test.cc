// ProxyServer on a real I/O pool: concurrent clients through two threads, keep-alive reuse of
// upstream connections, and reloads while requests run (the TSan suite runs these).
#include "pier/proxy/proxy_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "pier/net/http_fetch.h"
#include "pier/net/http_server.h"

namespace pier::proxy {
namespace {

struct Backend {
  Backend(net::IoPool& pool, std::string name) : http(pool, {.listen = {.port = 0}}) {
    http.Route("GET", "/", [this, name](const net::HttpRequest&) {
      hits.fetch_add(1);
      return net::HttpResponse::Text(200, name);
    });
    EXPECT_TRUE(http.Start().ok());
  }
  net::HttpServer http;
  std::atomic<int> hits{0};
};

ProxyConfig Config(const std::string& a, const std::string& b) {
  auto c = ParseProxyConfig(
      "listeners:\n  - name: web\n    listen: 127.0.0.1:0\n"
      "    routes: [{cluster: app}]\n"
      "clusters:\n  app: {endpoints: [\"" +
          a + "\", \"" + b + "\"]}\n",
      "test.yaml");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return *c;
}

// Stops the servers, then the pool their coroutines run on.
void StopAll(net::IoPool& pool, ProxyServer& proxy, Backend& a, Backend& b) {
  proxy.Shutdown();
  a.http.Shutdown();
  b.http.Shutdown();
  proxy.CloseAll();
  a.http.CloseAll();
  b.http.CloseAll();
  pool.Stop();
  pool.Join();
}

uint16_t PortOf(const std::string& address) {
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

TEST(ProxyServerConcurrent, ClientsOnTwoThreadsWhileTheConfigReloads) {
  net::IoPool pool(2);
  Backend a(pool, "a"), b(pool, "b");
  ProxyServer proxy(pool, {.metrics = nullptr});
  ASSERT_TRUE(proxy.Start(Config(a.http.address(), b.http.address())).ok());
  pool.Start();
  const uint16_t port = PortOf(proxy.addresses().at(0).second);
  std::atomic<bool> stop{false};
  std::thread reloader([&] {
    bool flip = false;
    while (!stop.load()) {
      flip = !flip;
      auto cfg = flip ? Config(b.http.address(), a.http.address())
                      : Config(a.http.address(), b.http.address());
      EXPECT_TRUE(proxy.Reload(cfg).ok());
      std::this_thread::yield();
    }
  });
  std::vector<std::thread> clients;
  std::atomic<int> ok{0}, bad{0};
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        auto r = net::HttpFetch({.port = port, .target = "/"});
        (r.ok() && r->status == 200 && (r->body == "a" || r->body == "b") ? ok : bad)++;
      }
    });
  }
  for (auto& c : clients) c.join();
  stop = true;
  reloader.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(a.hits.load(), 0);
  EXPECT_GT(b.hits.load(), 0);
  auto d = proxy.Describe();
  EXPECT_EQ(d["clusters"][0]["name"], "app");
  StopAll(pool, proxy, a, b);
}

TEST(ProxyServerConcurrent, KeepAliveClientReusesOneUpstreamConnection) {
  net::IoPool pool(1);
  Backend a(pool, "a"), b(pool, "b");
  metrics::Registry registry;
  ProxyServer proxy(pool, {.metrics = &registry});
  ASSERT_TRUE(proxy.Start(Config(a.http.address(), a.http.address())).ok());
  pool.Start();
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), PortOf(proxy.addresses().at(0).second)});
  // Three pipelined requests in one write: three answers, in order.
  const std::string req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  boost::asio::write(s, boost::asio::buffer(req + req + req));
  std::string got;
  auto answers = [&] {
    size_t n = 0;
    for (size_t p = 0; (p = got.find("\r\n\r\na", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  while (answers() < 3) {
    char buf[4096];
    const size_t n = s.read_some(boost::asio::buffer(buf));
    got.append(buf, n);
  }
  EXPECT_EQ(answers(), 3u);
  EXPECT_EQ(a.hits.load(), 3);
  // One upstream connection served all three: the backend saw one connection.
  EXPECT_EQ(a.http.active_connections(), 1u);
  s.close();
  StopAll(pool, proxy, a, b);
  // Each request's stages were recorded; the connect once, for the one new connection.
  std::map<std::string, uint64_t> count;
  registry.Visit([&](const metrics::Registry::Sample& m) {
    if (m.name != "pier_proxy_stage_seconds") return;
    for (const auto& [k, v] : m.labels) {
      if (k == "stage") count[v] = m.histogram->Count();
    }
  });
  EXPECT_EQ(count,
            (std::map<std::string, uint64_t>{{"connect", 1}, {"first_byte", 3}, {"last_byte", 3}}));
}

}  // namespace
}  // namespace pier::proxy
