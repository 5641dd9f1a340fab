#include "pier/proxy/config.h"

#include <gtest/gtest.h>

namespace pier::proxy {
namespace {

constexpr const char* kGood = R"(listeners:
  - name: web
    listen: 127.0.0.1:7080
    routes:
      - match: {host: "*.Example.com", path_prefix: /api/, headers: {X-Canary: "1"}}
        cluster: api
        timeout: 5s
        retries: {max: 3, on: [502, 503], base_backoff: 10ms, max_backoff: 1s}
      - cluster: web
  - name: db
    listen: 127.0.0.1:7081
    mode: tcp
    cluster: pg
clusters:
  api:
    endpoints: ["127.0.0.1:8081", "127.0.0.1:8082 weight=3"]
    policy: ring_hash
    hash_key: header:X-User
    breaker: {failure_rate: 40, minimum_calls: 10, wait_in_open: 2s}
    outlier: {consecutive_5xx: 3, base_ejection: 10s}
  web:
    endpoints: ["127.0.0.1:9000"]
  pg:
    service: postgres
    policy: least_request
)";

TEST(ProxyConfig, ParsesEverySection) {
  auto c = ParseProxyConfig(kGood, "proxy.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->listeners.size(), 2u);
  const auto& web = c->listeners[0];
  ASSERT_EQ(web.routes.size(), 2u);
  const auto& r = web.routes[0];
  EXPECT_EQ(r.host, "*.example.com");
  EXPECT_EQ(r.path_prefix, "/api/");
  EXPECT_EQ(r.headers, (std::vector<std::pair<std::string, std::string>>{{"x-canary", "1"}}));
  EXPECT_EQ(r.timeout_ms, 5000);
  EXPECT_EQ(r.retries.max_retries, 3u);
  EXPECT_EQ(r.retries.retry_on, (std::vector<int>{502, 503}));
  EXPECT_EQ(r.retries.max_backoff_ms, 1000);
  EXPECT_EQ(web.routes[1].path_prefix, "/");
  EXPECT_EQ(c->listeners[1].mode, ListenerConfig::Mode::kTcp);
  const auto* api = c->FindCluster("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->endpoints[1].weight, 3u);
  EXPECT_EQ(api->hash_key.kind, HashKey::Kind::kHeader);
  EXPECT_EQ(api->hash_key.name, "x-user");
  EXPECT_TRUE(api->breaker_enabled);
  EXPECT_EQ(api->breaker.failure_rate_threshold, 40);
  EXPECT_EQ(api->breaker.wait_in_open_ms, 2000);
  EXPECT_EQ(api->outlier.consecutive_5xx, 3u);
  EXPECT_FALSE(c->FindCluster("web")->breaker_enabled);
  EXPECT_EQ(c->FindCluster("pg")->service, "postgres");
}

TEST(ProxyConfig, PanicThresholdIsAPercentInTheFileAndAShareInside) {
  auto c = ParseProxyConfig(kGood, "proxy.yaml");
  ASSERT_TRUE(c.ok());
  EXPECT_DOUBLE_EQ(c->FindCluster("web")->panic_threshold, 0.5);  // the default, unchanged
  auto d = ParseProxyConfig(
      "listeners: [{routes: [{cluster: a}]}]\nclusters: {a: {endpoints: [\"h:1\"], "
      "panic_threshold: 30}}\n",
      "p.yaml");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_DOUBLE_EQ(d->clusters[0].panic_threshold, 0.3);
}

std::string ErrorOf(const std::string& yaml) {
  auto c = ParseProxyConfig(yaml, "p.yaml");
  return c.ok() ? "ok" : c.status().message();
}

TEST(ProxyConfig, ConcurrencyLimitIsOffAFixedNumberOrAdaptive) {
  const std::string head =
      "listeners: [{routes: [{cluster: a}]}]\nclusters: {a: {endpoints: [\"h:1\"]";
  using Mode = resilience::ConcurrencyLimitOptions::Mode;
  auto off = ParseProxyConfig(head + "}}\n", "p.yaml");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->clusters[0].concurrency.mode, Mode::kOff);
  auto fixed = ParseProxyConfig(head + ", concurrency_limit: 64}}\n", "p.yaml");
  ASSERT_TRUE(fixed.ok()) << fixed.status().message();
  EXPECT_EQ(fixed->clusters[0].concurrency.mode, Mode::kFixed);
  EXPECT_EQ(fixed->clusters[0].concurrency.limit, 64u);
  auto adaptive = ParseProxyConfig(head + ", concurrency_limit: adaptive}}\n", "p.yaml");
  ASSERT_TRUE(adaptive.ok());
  EXPECT_EQ(adaptive->clusters[0].concurrency.mode, Mode::kAdaptive);
  EXPECT_EQ(ErrorOf(head + ", concurrency_limit: many}}\n"),
            "p.yaml:2:55: clusters.a.concurrency_limit: 'many' is not off, adaptive or a number "
            "of requests (1 to 1000000)");
}

TEST(ProxyConfig, ErrorsNameTheFileLineAndField) {
  const std::string cluster = "clusters:\n  a:\n    endpoints: [\"127.0.0.1:1\"]\n";
  EXPECT_EQ(ErrorOf(cluster + "listeners:\n  - routes:\n      - cluster: b\n"),
            "p.yaml:6:18: listeners[0].routes[0].cluster: unknown cluster 'b'");
  EXPECT_EQ(
      ErrorOf(
          "clusters:\n  a:\n    endpoints: [\"nope\"]\nlisteners:\n  - routes: [{cluster: a}]\n"),
      "p.yaml:3:16: clusters.a.endpoints: 'nope' is not HOST:PORT");
  EXPECT_EQ(ErrorOf(cluster + "    policy: fastest\nlisteners:\n  - routes: [{cluster: a}]\n"),
            "p.yaml:4:13: clusters.a.policy: unknown policy 'fastest' (round_robin, "
            "weighted_round_robin, least_connections, least_request, random, ring_hash, maglev)");
  EXPECT_EQ(ErrorOf(cluster + "    hash_key: path\nlisteners:\n  - routes: [{cluster: a}]\n"),
            "p.yaml:4:15: clusters.a.hash_key: only ring_hash and maglev use a hash key (policy "
            "is round_robin)");
  EXPECT_EQ(ErrorOf(cluster + "listeners:\n  - routes: [{clusters: [{cluster: a, weight: 0}]}]\n"),
            "p.yaml:5:25: listeners[0].routes[0].clusters: the weights of a split add up to 0");
  EXPECT_EQ(ErrorOf(cluster + "listeners:\n  - routes: [{clusters: [{cluster: z, weight: 1}]}]\n"),
            "p.yaml:5:36: listeners[0].routes[0].clusters[0].cluster: unknown cluster 'z'");
  EXPECT_EQ(ErrorOf(cluster + "listeners:\n  - routes: [{cluster: a, clusters: [{cluster: a}]}]\n"),
            "p.yaml:5:37: listeners[0].routes[0].clusters: every route needs a cluster or a split "
            "over clusters (one of them)");
  EXPECT_EQ(ErrorOf(cluster + "listeners:\n  - routes: [{cluster: a, timeout: soon}]\n"),
            "p.yaml:5:36: listeners[0].routes[0].timeout: time: invalid duration \"soon\" "
            "(write e.g. 250ms, 30s, 1m30s)");
  EXPECT_EQ(ErrorOf(cluster + "listeners:\n  - routes: [{cluster: a, retry: {}}]\n"),
            "p.yaml:5:27: unknown key 'listeners[0].routes[0].retry'");
  EXPECT_EQ(ErrorOf(cluster + "listeners:\n  - {listen: \"127.0.0.1:1\", routes: [{cluster: a}]}\n"
                              "  - {listen: \"127.0.0.1:1\", routes: [{cluster: a}]}\n"),
            "p.yaml:6:14: listeners[1].listen: 127.0.0.1:1 is used by another listener");
  EXPECT_EQ(ErrorOf("clusters:\n  a: {}\nlisteners:\n  - routes: [{cluster: a}]\n"),
            "p.yaml:2:6: clusters.a.endpoints: a cluster needs endpoints or a registry service "
            "(one of them)");
  EXPECT_EQ(ErrorOf(cluster), "p.yaml:1:1: listeners: the proxy needs at least one listener");
}

TEST(ProxyConfig, DurationsAreGoDurations) {
  const std::string head = "clusters:\n  a:\n    endpoints: [\"127.0.0.1:1\"]\nlisteners:\n";
  auto c = ParseProxyConfig(head + "  - routes: [{cluster: a, timeout: 1m30s}]\n", "p.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->listeners[0].routes[0].timeout_ms, 90000);
  EXPECT_NE(ErrorOf(head + "  - routes: [{cluster: a, timeout: 15}]\n").find("missing unit"),
            std::string::npos);
  EXPECT_NE(ErrorOf(head + "  - routes: [{cluster: a, timeout: 0s}]\n").find("out of range"),
            std::string::npos);
}

}  // namespace
}  // namespace pier::proxy
