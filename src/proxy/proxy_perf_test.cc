// The proxy's analyzer source (proxy_perf.h): its series and rules from its own metrics.
#include "proxy/proxy_perf.h"

#include <gtest/gtest.h>

#include <map>

#include "pier/perf/testing.h"
#include "proxy/proxy_metric_names.h"

namespace pier::proxy {
namespace {

namespace names = metric_names;

struct ProxyPerfTest : perf::testing::Harness, ::testing::Test {
  ProxyPerfTest() { a.AddSource(PerfSource()); }
};

TEST_F(ProxyPerfTest, RatesWindowsAndP99FromCountersAndHistograms) {
  auto& req = m.GetCounter(names::kRequestsTotal, "", {{"route", "/"}});
  auto& c5 = m.GetCounter(names::kResponsesTotal, "", {{"route", "/"}, {"code", "5xx"}});
  auto& lat = m.GetHistogram(names::kRequestDurationSeconds, "", {{"route", "/"}}, 1e-6);
  a.Sample();
  req.Inc(100);
  c5.Inc(5);
  for (int i = 0; i < 100; ++i) lat.Record(2000);  // 2 ms
  Step();
  EXPECT_DOUBLE_EQ(a.Recent("proxy.rps", 1).at(0), 100);
  EXPECT_DOUBLE_EQ(a.Recent("proxy.error_ratio", 1).at(0), 0.05);
  EXPECT_NEAR(a.Recent("proxy.p99_ms", 1).at(0), 2, 0.3);
  EXPECT_NEAR(a.Recent("proxy.p50_ms", 1).at(0), 2, 0.3);
  // The next window sees only its own samples.
  req.Inc(10);
  for (int i = 0; i < 10; ++i) lat.Record(40000);  // 40 ms
  Step();
  EXPECT_DOUBLE_EQ(a.Recent("proxy.rps", 1).at(0), 10);
  EXPECT_NEAR(a.Recent("proxy.p99_ms", 1).at(0), 40, 6);
  EXPECT_EQ(a.History("proxy.rps").size(), 2u);
  EXPECT_TRUE(a.History("nope").empty());
  EXPECT_GT(a.Snapshot()["analyzer"]["sample_cpu_us"].get<double>(), 0);
}

TEST_F(ProxyPerfTest, QueueingBehindTheProxyAsksForAnAdaptiveConcurrencyLimit) {
  // Idle first: a 5 ms no-load p50. Then load: throughput flat, latency climbing.
  for (int i = 0; i < 10; ++i) {
    now += 1000;
    a.Record("proxy.p50_ms", now, 5);
    a.Record("proxy.p99_ms", now, 8);
    a.Record("proxy.rps", now, 50);
    a.Record("proxy.in_flight", now, 1);
  }
  for (int i = 0; i < 30; ++i) {
    now += 1000;
    a.Record("proxy.p50_ms", now, 10 + 2 * i);
    a.Record("proxy.p99_ms", now, 20 + 4 * i);
    a.Record("proxy.rps", now, 1000);
    a.Record("proxy.in_flight", now, 64);
  }
  perf::Suggestion limit;
  for (const auto& s : Find("concurrency")) {
    if (s.knob == "proxy.concurrency_limit") limit = s;
  }
  ASSERT_EQ(limit.value, "adaptive");
  EXPECT_NE(limit.why.find("against a 5.0 ms baseline"), std::string::npos) << limit.why;
  EXPECT_NE(limit.why.find("of the 64 requests in flight"), std::string::npos) << limit.why;
  EXPECT_EQ(limit.evidence.back().series, "proxy.in_flight");
}

TEST_F(ProxyPerfTest, OneSlowUpstreamAndAFlappingBreakerAreNamed) {
  std::vector<metrics::Histogram*> lat;
  std::vector<metrics::Counter*> req;
  for (const char* h : {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}) {
    const metrics::Labels l = {{"cluster", "api"}, {"host", h}};
    lat.push_back(&m.GetHistogram(names::kUpstreamLatencySeconds, "", l, 1e-6));
    req.push_back(&m.GetCounter(names::kUpstreamRequestsTotal, "", l));
  }
  auto& flips = m.GetCounter(names::kBreakerTransitionsTotal, "",
                             {{"cluster", "api"}, {"host", "10.0.0.2:80"}, {"to", "open"}});
  a.Sample();
  for (int i = 0; i < 10; ++i) {
    for (int h = 0; h < 3; ++h) {
      req[h]->Inc(50);
      for (int k = 0; k < 50; ++k) lat[h]->Record(h == 2 ? 60000 : 4000);  // 60 ms vs 4 ms
    }
    if (i % 2 == 0) flips.Inc();
    Step();
  }
  auto s = Find("proxy");
  ASSERT_EQ(s.size(), 2u);
  std::map<std::string, perf::Suggestion> by_title;
  for (auto& x : s) by_title[x.title] = x;
  ASSERT_TRUE(by_title.count("upstream api/10.0.0.3:80 is slow: check it, or lower its weight"));
  EXPECT_NE(by_title["upstream api/10.0.0.3:80 is slow: check it, or lower its weight"].why.find(
                "x its peers' median"),
            std::string::npos);
  ASSERT_TRUE(by_title.count("the breaker of api/10.0.0.2:80 is flapping"));
}

TEST_F(ProxyPerfTest, TheScoreWeighsLatencyErrorsAndHeadroom) {
  auto& req = m.GetCounter(names::kRequestsTotal, "", {{"route", "/"}});
  auto& c5 = m.GetCounter(names::kResponsesTotal, "", {{"route", "/"}, {"code", "5xx"}});
  auto& lat = m.GetHistogram(names::kRequestDurationSeconds, "", {{"route", "/"}}, 1e-6);
  EXPECT_EQ(a.ComputeScore().total, 100);  // nothing measured yet
  a.Sample();
  for (int i = 0; i < 10; ++i) {
    req.Inc(100);
    if (i < 5) c5.Inc(50);                                            // half the samples fail
    for (int k = 0; k < 100; ++k) lat.Record(i < 2 ? 200000 : 1000);  // 2 of 10 slow
    Step();
  }
  perf::Score s = a.ComputeScore();
  EXPECT_EQ(s.areas.at("latency"), 80);
  EXPECT_EQ(s.areas.at("errors"), 50);
  EXPECT_EQ(s.total, 65);                       // (80 * 30 + 50 * 30) / 60
  EXPECT_EQ(a.Suggestions()[0].area, "proxy");  // errors above the target
}

TEST_F(ProxyPerfTest, TheStageWhoseTailGrewIsNamed) {
  // Two listeners: a stage sums over them. The upstreams answer 20x later from step 12 on.
  std::map<std::string, std::vector<metrics::Histogram*>> h;
  for (const char* listener : {"web", "api"}) {
    for (const char* stage : {"connect", "first_byte", "last_byte"}) {
      h[listener].push_back(&m.GetHistogram(names::kStageSeconds, "",
                                            {{"listener", listener}, {"stage", stage}}, 1e-6));
    }
  }
  a.Sample();
  for (int i = 0; i < 20; ++i) {
    const uint64_t upstream_us = i < 12 ? 1000 : 20000;
    for (auto& [name, hs] : h) {
      hs[0]->Record(100, 5);
      hs[1]->Record(upstream_us, 100);
      hs[2]->Record(upstream_us + 200, 100);
    }
    Step();
  }
  std::vector<perf::Suggestion> grew;
  for (auto& s : Find("proxy")) {
    if (s.title.find("latency grew") != std::string::npos) grew.push_back(s);
  }
  ASSERT_EQ(grew.size(), 1u);
  EXPECT_EQ(grew[0].title,
            "proxy latency grew in the 'first_byte' stage: the upstreams answer later: see GET "
            "/v1/proxy/clusters for the slow hosts");
  EXPECT_EQ(grew[0].evidence[0].series, "proxy.first_byte_p99_ms");
}

}  // namespace
}  // namespace pier::proxy
