#include "pier/perf/tuner.h"

#include <gtest/gtest.h>

namespace pier::perf {
namespace {

// A simulated system whose objective depends on the knob: the tuner sees it through the
// analyzer's series, advanced one second at a time on a fake clock.
struct TunerTest : ::testing::Test {
  metrics::Registry m;
  int64_t now = 1000;
  Analyzer a{m, {.interval_ms = 1000, .cores = 2, .window = 30}, [this] { return now; }};
  Tuner t{a, {.baseline_ms = 10000, .settle_ms = 3000, .measure_ms = 10000, .min_gain = 0.01}};
  std::string policy = "allkeys-lru";
  std::map<std::string, double> hit_ratio = {
      {"allkeys-lru", 0.60}, {"allkeys-s3fifo", 0.68}, {"allkeys-random", 0.50}};
  double p99 = 1.0;

  void SetUp() override {
    t.AddKnob({.name = "cache.policy",
               .get = [this] { return policy; },
               .set =
                   [this](const std::string& v) {
                     if (!hit_ratio.count(v)) return Status::InvalidArgument("unknown " + v);
                     policy = v;
                     return Status::Ok();
                   },
               .objective = "cache.hit_ratio",
               .guards = {"cache.p99_ms"}});
  }
  void Run(int seconds) {
    for (int i = 0; i < seconds; ++i) {
      now += 1000;
      a.Record("cache.hit_ratio", now, hit_ratio[policy]);
      a.Record("cache.p99_ms", now, p99);
      t.Tick();
    }
  }
  std::string LastLog() { return t.State()["log"].back()["what"]; }
};

TEST_F(TunerTest, KeepsAChangeThatImprovesTheObjective) {
  Run(15);
  ASSERT_TRUE(t.Try("cache.policy", "allkeys-s3fifo", "by hand").ok());
  EXPECT_EQ(t.Try("cache.policy", "allkeys-random", "again").code(),
            StatusCode::kFailedPrecondition);
  Run(12);  // settle 3 s + measure 10 s not over yet
  EXPECT_TRUE(t.State().contains("trial"));
  Run(2);
  EXPECT_FALSE(t.State().contains("trial"));
  EXPECT_EQ(policy, "allkeys-s3fifo");
  EXPECT_EQ(LastLog(), "kept allkeys-s3fifo: cache.hit_ratio 0.6 -> 0.68");
}

TEST_F(TunerTest, RevertsAChangeThatMakesThingsWorse) {
  Run(15);
  ASSERT_TRUE(t.Try("cache.policy", "allkeys-random", "by hand").ok());
  Run(14);
  EXPECT_EQ(policy, "allkeys-lru");
  EXPECT_EQ(LastLog(), "reverted to allkeys-lru: cache.hit_ratio 0.6 -> 0.5 (gain below 0.01)");
}

TEST_F(TunerTest, RevertsWhenAGuardGetsWorseEvenIfTheObjectiveImproves) {
  Run(15);
  ASSERT_TRUE(t.Try("cache.policy", "allkeys-s3fifo", "by hand").ok());
  p99 = 2.0;  // the new policy doubles the latency
  Run(14);
  EXPECT_EQ(policy, "allkeys-lru");
  EXPECT_EQ(LastLog(),
            "reverted to allkeys-lru: cache.hit_ratio 0.6 -> 0.68 (cache.p99_ms rose from 1 to 2)");
}

// The proxy's knob: p99 lower is better, by at least 10%, and the 503s it answers beyond the
// limit may raise the error ratio by at most one point.
struct ConcurrencyKnobTest : TunerTest {
  std::string limit = "config";
  std::map<std::string, std::pair<double, double>> effect = {// limit -> (p99 ms, error ratio)
                                                             {"config", {100, 0}},
                                                             {"adaptive", {40, 0.004}},
                                                             {"4", {20, 0.2}}};
  void SetUp() override {
    t.AddKnob({.name = "proxy.concurrency_limit",
               .get = [this] { return limit; },
               .set =
                   [this](const std::string& v) {
                     limit = v;
                     return Status::Ok();
                   },
               .objective = "proxy.p99_ms",
               .higher_is_better = false,
               .guards = {"proxy.error_ratio"},
               .guard_slack = 0.01,
               .min_gain_ratio = 0.1});
  }
  void RunProxy(int seconds) {
    for (int i = 0; i < seconds; ++i) {
      now += 1000;
      a.Record("proxy.p99_ms", now, effect[limit].first);
      a.Record("proxy.error_ratio", now, effect[limit].second);
      t.Tick();
    }
  }
};

TEST_F(ConcurrencyKnobTest, KeepsALimitThatCutsP99WithinTheErrorSlack) {
  RunProxy(15);
  ASSERT_TRUE(t.Try("proxy.concurrency_limit", "adaptive", "by hand").ok());
  RunProxy(14);
  EXPECT_EQ(limit, "adaptive");
  EXPECT_EQ(LastLog(), "kept adaptive: proxy.p99_ms 100 -> 40");
}

TEST_F(ConcurrencyKnobTest, RevertsALimitThatShedsTooMuch) {
  RunProxy(15);
  ASSERT_TRUE(t.Try("proxy.concurrency_limit", "4", "by hand").ok());
  RunProxy(14);
  EXPECT_EQ(limit, "config");
  EXPECT_EQ(LastLog(),
            "reverted to config: proxy.p99_ms 100 -> 20 (proxy.error_ratio rose from 0 to 0.2)");
}

TEST_F(ConcurrencyKnobTest, RevertsAGainUnderItsShareOfTheBaseline) {
  effect["adaptive"] = {95, 0};  // 5% better: under the 10% asked
  RunProxy(15);
  ASSERT_TRUE(t.Try("proxy.concurrency_limit", "adaptive", "by hand").ok());
  RunProxy(14);
  EXPECT_EQ(limit, "config");
  EXPECT_EQ(LastLog(), "reverted to config: proxy.p99_ms 100 -> 95 (gain below 10)");
}

TEST_F(TunerTest, AutoModeActsOnConfidentSuggestionsOnlyWhenTurnedOn) {
  // A source that says what a cache's shadow would: s3fifo hits more.
  struct Advice : Source {
    const std::string* policy;
    explicit Advice(const std::string* p) : policy(p) {}
    void Suggest(const Analyzer&, std::vector<Suggestion>* out) const override {
      if (*policy == "allkeys-s3fifo") return;
      out->push_back({.area = "cache",
                      .title = "switch to s3fifo",
                      .confidence = 0.9,
                      .knob = "cache.policy",
                      .value = "allkeys-s3fifo"});
    }
  };
  a.AddSource(std::make_shared<Advice>(&policy));
  a.Sample();
  Run(15);
  EXPECT_EQ(policy, "allkeys-lru");  // off by default
  ASSERT_TRUE(t.SetAuto("cache.policy", true).ok());
  Run(1);
  EXPECT_TRUE(t.State().contains("trial"));
  EXPECT_EQ(policy, "allkeys-s3fifo");
  Run(14);
  EXPECT_EQ(policy, "allkeys-s3fifo");
  EXPECT_EQ(LastLog(), "kept allkeys-s3fifo: cache.hit_ratio 0.6 -> 0.68");
  EXPECT_EQ(t.SetAuto("nope", true).code(), StatusCode::kNotFound);
}

TEST_F(TunerTest, NamedBaselinesCompareAScenarioWithNow) {
  Run(12);
  ASSERT_TRUE(t.SaveBaseline("steady").ok());
  policy = "allkeys-s3fifo";
  Run(12);
  auto b = t.State()["baselines"]["steady"]["cache.hit_ratio"];
  EXPECT_DOUBLE_EQ(b["baseline"].get<double>(), 0.60);
  EXPECT_DOUBLE_EQ(b["now"].get<double>(), 0.68);
  EXPECT_EQ(t.SaveBaseline("").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.SaveBaseline("../etc").code(), StatusCode::kInvalidArgument);
}

TEST_F(TunerTest, ClientsCannotGrowTheBaselinesWithoutBound) {
  Run(2);
  for (size_t i = 0; i < Tuner::kMaxBaselines; ++i) {
    ASSERT_TRUE(t.SaveBaseline("b" + std::to_string(i)).ok());
  }
  EXPECT_EQ(t.SaveBaseline("one-more").code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(t.SaveBaseline("b0").ok());  // replacing one by name is fine
  EXPECT_EQ(t.State()["baselines"].size(), Tuner::kMaxBaselines);
}

}  // namespace
}  // namespace pier::perf
