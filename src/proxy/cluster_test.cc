#include "proxy/cluster.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/runtime.h"
#include "proxy/worker.h"

namespace pier::proxy {
namespace {

ClusterConfig TwoHosts(int64_t* now) {
  ClusterConfig c;
  c.name = "api";
  c.endpoints = {{"10.0.0.1:80", 1}, {"10.0.0.2:80", 1}};
  c.breaker_enabled = true;
  c.breaker.minimum_calls = 4;
  c.breaker.window_size = 4;
  c.breaker.failure_rate_threshold = 50;
  c.breaker.wait_in_open_ms = 1000;
  c.breaker.permitted_calls_in_half_open = 1;
  c.breaker.now_ms = [now] { return *now; };
  c.outlier_enabled = false;
  return c;
}

TEST(Cluster, AnOpenBreakerSendsCallsToTheOtherHostUntilHalfOpenRecoversIt) {
  int64_t now = 0;
  metrics::Registry m;
  Cluster c(TwoHosts(&now), m);
  std::string why;
  // Fail host 1 four times: its breaker opens.
  for (int i = 0; i < 4;) {
    auto h = c.Pick({}, &why);
    ASSERT_NE(h, nullptr) << why;
    const bool bad = h->address() == "10.0.0.1:80";
    c.Report(*h, bad ? 503 : 200, 1000);
    i += bad;
  }
  for (int i = 0; i < 20; ++i) {
    auto h = c.Pick({}, &why);
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->address(), "10.0.0.2:80");
    c.Report(*h, 200, 1000);
  }
  auto described = c.Describe();
  EXPECT_EQ(described["hosts"][0]["breaker"]["state"], "open");
  now += 1000;  // half-open: one call may try host 1
  bool probed = false;
  for (int i = 0; i < 4; ++i) {
    auto h = c.Pick({}, &why);
    ASSERT_NE(h, nullptr);
    if (h->address() == "10.0.0.1:80") probed = true;
    c.Report(*h, 200, 1000);
  }
  EXPECT_TRUE(probed);
  EXPECT_EQ(c.Describe()["hosts"][0]["breaker"]["state"], "closed");
  EXPECT_GE(m.GetCounter("pier_proxy_breaker_transitions_total", "",
                         {{"cluster", "api"}, {"host", "10.0.0.1:80"}, {"to", "open"}})
                .Value(),
            1u);
}

TEST(Cluster, EveryBreakerOpenMeansNoHostWithAReason) {
  int64_t now = 0;
  metrics::Registry m;
  Cluster c(TwoHosts(&now), m);
  std::string why;
  for (int i = 0; i < 8; ++i) {
    auto h = c.Pick({}, &why);
    ASSERT_NE(h, nullptr);
    c.Report(*h, 0, 10);  // gateway failures
  }
  EXPECT_EQ(c.Pick({}, &why), nullptr);
  EXPECT_NE(why.find("circuit breaker is open"), std::string::npos) << why;
}

TEST(Cluster, GatewayFailuresEjectAHostAndEndpointChangesKeepState) {
  metrics::Registry m;
  ClusterConfig cfg;
  cfg.name = "api";
  cfg.endpoints = {{"10.0.0.1:80", 1}, {"10.0.0.2:80", 1}, {"10.0.0.3:80", 1}};
  cfg.outlier.consecutive_gateway_failures = 3;
  cfg.outlier.max_ejection_percent = 50;
  Cluster c(cfg, m);
  std::string why;
  for (int i = 0; i < 60; ++i) {
    auto h = c.Pick({}, &why);
    ASSERT_NE(h, nullptr);
    c.Report(*h, h->address() == "10.0.0.2:80" ? 0 : 200, 100);
  }
  auto d = c.Describe();
  EXPECT_EQ(d["hosts"][1]["ejected"], true);
  EXPECT_EQ(d["hosts"][1]["gateway_failures"], 3);
  for (int i = 0; i < 30; ++i) {
    auto h = c.Pick({}, &why);
    EXPECT_NE(h->address(), "10.0.0.2:80");
    c.Report(*h, 200, 100);
  }
  // The registry adds a host: the ejected one stays ejected, counters carry on.
  c.SetEndpoints({{"10.0.0.1:80", 1}, {"10.0.0.2:80", 1}, {"10.0.0.3:80", 1}, {"10.0.0.4:80", 1}});
  d = c.Describe();
  EXPECT_EQ(d["hosts"].size(), 4u);
  EXPECT_EQ(d["hosts"][1]["ejected"], true);
  EXPECT_EQ(d["hosts"][1]["gateway_failures"], 3);
}

TEST(Runtime, RoutesMatchHostWildcardPathPrefixAndHeaders) {
  auto cfg = ParseProxyConfig(R"(listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - match: {host: "*.example.com", path_prefix: /api/, headers: {x-canary: "1"}}
        cluster: canary
      - match: {host: "*.example.com", path_prefix: /api/}
        cluster: api
      - cluster: web
clusters:
  canary: {endpoints: ["127.0.0.1:1"]}
  api: {endpoints: ["127.0.0.1:2"]}
  web: {endpoints: ["127.0.0.1:3"]}
)",
                              "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  metrics::Registry m;
  auto rt = BuildRuntime(*cfg, nullptr, m);
  const auto& l = rt->listeners.at("web");
  auto route = [&](const std::string& head_text) {
    HttpHead h;
    std::string err;
    EXPECT_EQ(ParseRequestHead(head_text, 4096, &h, &err), HeadParse::kComplete) << err;
    const Route* r = l.Match(h, HostWithoutPort(h.host), h.target);
    return r ? r->cluster->name() : std::string("none");
  };
  EXPECT_EQ(route("GET /api/v1 HTTP/1.1\r\nHost: A.Example.com:80\r\nX-Canary: 1\r\n\r\n"),
            "canary");
  EXPECT_EQ(route("GET /api/v1 HTTP/1.1\r\nHost: a.example.com\r\n\r\n"), "api");
  EXPECT_EQ(route("GET /api/v1 HTTP/1.1\r\nHost: example.com\r\n\r\n"), "web");
  EXPECT_EQ(route("GET /apix HTTP/1.1\r\nHost: a.example.com\r\n\r\n"), "web");

  // A reload keeps an unchanged cluster (and its host state) and rebuilds a changed one.
  auto cfg2 = *cfg;
  cfg2.clusters[1].endpoints = {{"127.0.0.1:9", 1}};  // api changes
  auto rt2 = BuildRuntime(cfg2, rt.get(), m);
  EXPECT_EQ(rt2->clusters.at("canary"), rt->clusters.at("canary"));
  EXPECT_NE(rt2->clusters.at("api"), rt->clusters.at("api"));
}

TEST(Runtime, ASplitSendsTrafficInProportionToItsWeightsAndNoneToWeightZero) {
  auto cfg = ParseProxyConfig(R"(listeners:
  - name: web
    listen: 127.0.0.1:0
    routes:
      - clusters: [{cluster: v1, weight: 95}, {cluster: v2, weight: 5}, {cluster: v3, weight: 0}]
clusters:
  v1: {service: api, tags: [v1]}
  v2: {service: api, tags: [v2]}
  v3: {service: api, tags: [v3]}
)",
                              "t.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.status().message();
  EXPECT_EQ(cfg->clusters[1].tags, std::vector<std::string>{"v2"});
  metrics::Registry m;
  auto rt = BuildRuntime(*cfg, nullptr, m);
  const Route& r = rt->listeners.at("web").routes[0];
  std::map<std::string, int> got;
  for (uint64_t i = 0; i < 1000; ++i)
    ++got[r.PickCluster(i).name()];  // every residue once (sum 100)
  EXPECT_EQ(got["v1"], 950);
  EXPECT_EQ(got["v2"], 50);
  EXPECT_EQ(got.count("v3"), 0u);

  // Changing only the weights keeps every cluster (a split change is a route change).
  auto cfg2 = *cfg;
  cfg2.listeners[0].routes[0].split[0].weight = 0;
  cfg2.listeners[0].routes[0].split[1].weight = 100;
  auto rt2 = BuildRuntime(cfg2, rt.get(), m);
  EXPECT_EQ(rt2->clusters.at("v1"), rt->clusters.at("v1"));
  EXPECT_EQ(rt2->listeners.at("web").routes[0].PickCluster(7).name(), "v2");
}

TEST(ConnectionPool, TakesFreshConnectionsOnlyAndCapsIdleOnes) {
  boost::asio::io_context io;
  ConnectionPool pool;
  auto make = [&] {
    auto c = std::make_unique<UpstreamConn>(io);
    c->stream.socket().open(tcp::v4());
    c->address = "10.0.0.1:80";
    return c;
  };
  pool.Put(make(), 1000, 2);
  pool.Put(make(), 1000, 2);
  pool.Put(make(), 1000, 2);  // over the cap: closed
  EXPECT_EQ(pool.idle(), 2u);
  EXPECT_NE(pool.Take("10.0.0.1:80", 1500, 1000), nullptr);
  EXPECT_EQ(pool.Take("10.0.0.1:80", 2500, 1000), nullptr);  // idle too long: dropped
  EXPECT_EQ(pool.idle(), 0u);
  pool.Put(make(), 1000, 2);
  pool.Expire(5000, 1000);
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(DeadlineList, SweepFiresOnlyDueDeadlinesAndCancelsTheirSockets) {
  boost::asio::io_context io;
  DeadlineList list(io);
  tcp::socket a(io), b(io);
  a.open(tcp::v4());
  b.open(tcp::v4());
  Deadline da, db;
  list.Arm(&da, 100, &a);
  list.Arm(&db, 200, &b);
  list.Sweep(150);
  EXPECT_TRUE(da.fired);
  EXPECT_FALSE(db.fired);
  list.Disarm(&db);
  list.Sweep(1000);
  EXPECT_FALSE(db.fired);
  list.Stop();
}

}  // namespace
}  // namespace pier::proxy
