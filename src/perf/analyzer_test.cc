// The analyzer's mechanism: sources' inputs of every kind, their series, rules and score
// cards, the process source, and the snapshot. Each module's own source is tested beside it.
#include "pier/perf/analyzer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "pier/perf/testing.h"
#include "pier/perf/tuner.h"

namespace pier::perf {
namespace {

// A module as the analyzer sees it: one of each kind of input, series derived from them, a rule
// and a score card.
struct Demo : Source {
  Demo() {
    inputs = {{"demo_requests_total", "demo.requests"},
              {"demo_responses_total", "demo.errors", Input::kCounter, "code", "5xx"},
              {"demo_queue_depth", "demo.depth", Input::kGauge},
              {"demo_oldest_seconds", "demo.oldest_s", Input::kMax},
              {"demo_request_seconds", "demo.latency", Input::kHistogram},
              {"demo_upstream_requests_total", "up", Input::kCounter, "", "", true}};
  }
  void Derive(Sampling& s) const override {
    if (!s.Has("demo.requests")) return;
    const double req = s.Delta("demo.requests");
    s.Record("demo.rps", s.Rate("demo.requests"));
    s.Record("demo.error_ratio", req > 0 ? s.Delta("demo.errors") / req : 0);
    s.RecordLatency("demo.latency", "demo");
    for (const auto& k : s.Keys("up:")) s.Record("demo.host.rps{" + k.substr(3) + "}", s.Rate(k));
  }
  void Suggest(const Analyzer& a, std::vector<Suggestion>* out) const override {
    const auto depth = a.Recent("demo.depth", a.options().window);
    if (!depth.empty() && depth.back() > 100) {
      out->push_back({.area = "demo", .title = "drain the demo queue", .confidence = 0.4});
    }
    out->push_back({.area = "demo", .title = "always", .confidence = 0.9});
  }
  void Score(const Analyzer& a, ScoreCard* card) const override {
    const auto p99 = a.Recent("demo.p99_ms", a.options().window);
    card->p99_ms.insert(card->p99_ms.end(), p99.begin(), p99.end());
    const auto e = a.Recent("demo.error_ratio", a.options().window);
    card->error_ratios.insert(card->error_ratios.end(), e.begin(), e.end());
  }
  void Describe(nlohmann::json* snapshot) const override { (*snapshot)["demo"] = {{"up", true}}; }
};

struct AnalyzerTest : testing::Harness, ::testing::Test {
  AnalyzerTest() { a.AddSource(std::make_shared<Demo>()); }
};

TEST_F(AnalyzerTest, InputsOfEveryKindBecomeTheSourcesSeries) {
  auto& ok = m.GetCounter("demo_requests_total", "", {{"route", "/a"}});
  auto& ok2 = m.GetCounter("demo_requests_total", "", {{"route", "/b"}});
  auto& c5 = m.GetCounter("demo_responses_total", "", {{"code", "5xx"}});
  auto& c2 = m.GetCounter("demo_responses_total", "", {{"code", "2xx"}});
  m.GetGauge("demo_queue_depth", "", {{"q", "1"}}).Set(3);
  m.GetGauge("demo_queue_depth", "", {{"q", "2"}}).Set(4);
  m.GetGauge("demo_oldest_seconds", "", {{"q", "1"}}).Set(9);
  m.GetGauge("demo_oldest_seconds", "", {{"q", "2"}}).Set(2);
  auto& lat = m.GetHistogram("demo_request_seconds", "", {}, 1e-6);
  auto& up = m.GetCounter("demo_upstream_requests_total", "", {{"cluster", "api"}, {"host", "h1"}});
  a.Sample();
  EXPECT_TRUE(a.Recent("demo.rps", 1).empty());  // rates need two samples
  ok.Inc(60);
  ok2.Inc(40);
  c5.Inc(5);
  c2.Inc(95);
  up.Inc(20);
  for (int i = 0; i < 100; ++i) lat.Record(2000);  // 2 ms
  Step();
  EXPECT_DOUBLE_EQ(a.Recent("demo.rps", 1).at(0), 100);           // summed over labels
  EXPECT_DOUBLE_EQ(a.Recent("demo.error_ratio", 1).at(0), 0.05);  // only code=5xx
  EXPECT_DOUBLE_EQ(a.Recent("demo.depth", 1).at(0), 7);           // a gauge, summed
  EXPECT_DOUBLE_EQ(a.Recent("demo.oldest_s", 1).at(0), 9);        // the largest
  EXPECT_NEAR(a.Recent("demo.p99_ms", 1).at(0), 2, 0.3);
  EXPECT_NEAR(a.Recent("demo.p50_ms", 1).at(0), 2, 0.3);
  EXPECT_DOUBLE_EQ(a.Recent("demo.host.rps{api/h1}", 1).at(0), 20);  // per cluster/host
  // The next window sees only its own observations.
  ok.Inc(10);
  for (int i = 0; i < 10; ++i) lat.Record(40000);  // 40 ms
  Step();
  EXPECT_DOUBLE_EQ(a.Recent("demo.rps", 1).at(0), 10);
  EXPECT_NEAR(a.Recent("demo.p99_ms", 1).at(0), 40, 6);
  EXPECT_EQ(a.History("demo.rps").size(), 2u);
  EXPECT_TRUE(a.History("nope").empty());
  const auto snap = a.Snapshot();
  EXPECT_GT(snap["analyzer"]["sample_cpu_us"].get<double>(), 0);
  EXPECT_EQ(snap["demo"]["up"], true);  // the source's Describe
  EXPECT_DOUBLE_EQ(snap["series"]["demo.depth"].get<double>(), 7);
}

TEST_F(AnalyzerTest, SuggestionsOfEverySourceComeMostConfidentFirst) {
  m.GetGauge("demo_queue_depth", "").Set(500);
  a.Sample();
  auto s = a.Suggestions();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].title, "always");
  EXPECT_EQ(s[1].title, "drain the demo queue");
  EXPECT_EQ(Analyzer::ToJson(s[1])["title"], "drain the demo queue");
}

TEST_F(AnalyzerTest, TheScoreWeighsLatencyErrorsAndHeadroom) {
  auto& req = m.GetCounter("demo_requests_total", "");
  auto& c5 = m.GetCounter("demo_responses_total", "", {{"code", "5xx"}});
  auto& lat = m.GetHistogram("demo_request_seconds", "", {}, 1e-6);
  EXPECT_EQ(a.ComputeScore().total, 100);  // nothing measured yet
  a.Sample();
  for (int i = 0; i < 10; ++i) {
    req.Inc(100);
    if (i < 5) c5.Inc(50);                                            // half the samples fail
    for (int k = 0; k < 100; ++k) lat.Record(i < 2 ? 200000 : 1000);  // 2 of 10 slow
    Step();
  }
  Score s = a.ComputeScore();
  EXPECT_EQ(s.areas.at("latency"), 80);
  EXPECT_EQ(s.areas.at("errors"), 50);
  EXPECT_EQ(s.total, 65);  // (80 * 30 + 50 * 30) / 60
  EXPECT_EQ(Analyzer::ToJson(s)["score"], 65);
}

TEST_F(AnalyzerTest, TheProcessSourceNamesACpuBoundProcess) {
  for (int i = 0; i < 20; ++i) {
    now += 1000;
    a.Record("process.cpu_cores", now, 1.97);
  }
  auto cpu = Find("cpu");
  ASSERT_EQ(cpu.size(), 1u);
  EXPECT_EQ(cpu[0].why, "it used 1.97 of 2 cores on average");
  EXPECT_EQ(a.ComputeScore().areas.at("resources"), 5);  // 1.5% free of the 30% for full marks
}

TEST_F(AnalyzerTest, TheLatencyRuleSeesQueueingOrAStep) {
  for (int i = 0; i < 30; ++i) {
    now += 1000;
    a.Record("x.p99_ms", now, 10 + 4 * i);
    a.Record("x.rps", now, 1000);
    a.Record("y.p99_ms", now, i < 20 ? 5 : 50);
    a.Record("y.rps", now, 100 + 10 * i);
  }
  auto x = LatencyRule(a, "x", "x.p99_ms", "x.rps");
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->area, "concurrency");
  EXPECT_EQ(x->title, "x: requests are queueing (latency rises, throughput does not)");
  auto y = LatencyRule(a, "y", "y.p99_ms", "y.rps");
  ASSERT_TRUE(y.has_value());
  EXPECT_EQ(y->title, "y: p99 stepped up");
  EXPECT_FALSE(LatencyRule(a, "z", "z.p99_ms", "z.rps").has_value());
}

// Under TSan in CI: the sampling thread, metric writers and API readers at once.
TEST(AnalyzerConcurrent, SamplingWhileMetricsChangeAndReadersRead) {
  metrics::Registry m;
  Analyzer a(m, {.interval_ms = 1, .history = 50});
  a.AddSource(std::make_shared<Demo>());
  Tuner t(a, {.baseline_ms = 5, .settle_ms = 1, .measure_ms = 5});
  std::string value = "a";
  std::mutex value_mu;
  t.AddKnob({.name = "k",
             .get =
                 [&] {
                   std::lock_guard l(value_mu);
                   return value;
                 },
             .set =
                 [&](const std::string& v) {
                   std::lock_guard l(value_mu);
                   value = v;
                   return Status::Ok();
                 },
             .objective = "demo.rps"});
  a.OnSample([&] { t.Tick(); });
  auto& req = m.GetCounter("demo_requests_total", "", {{"route", "/"}});
  auto& lat = m.GetHistogram("demo_request_seconds", "", {{"route", "/"}}, 1e-6);
  a.Start();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    while (!done) {
      req.Inc();
      lat.Record(1000);
    }
  });
  // Read until the sampling thread has taken a few samples (its interval is 1 ms).
  for (int i = 0; i < 200 || a.History("demo.rps").size() < 3; ++i) {
    a.Snapshot();
    a.Suggestions();
    a.ComputeScore();
    a.History("demo.rps");
    t.State();
    if (i == 50) (void)t.Try("k", "b", "test");  // may lack a baseline yet: only the race counts
  }
  done = true;
  writer.join();
  a.Stop();
  EXPECT_FALSE(a.History("demo.rps").empty());
}

}  // namespace
}  // namespace pier::perf
