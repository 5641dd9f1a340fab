// The cache's analyzer source (cache_perf.h): its series, rules and score from its own metrics
// and a shadow curve.
#include "cache/server/cache_perf.h"

#include <gtest/gtest.h>

#include "cache/server/cache_metric_names.h"
#include "pier/perf/testing.h"

namespace pier::cache::server {
namespace {

namespace names = metric_names;

struct CachePerfTest : perf::testing::Harness, ::testing::Test {
  CachePerfTest() {
    a.AddSource(PerfSource([] {
      Curve c;
      c.policy = "allkeys-lru";
      c.maxmemory = 1 << 20;
      c.points = {{"allkeys-lru", 1, 1 << 20, 0.60, 50000},
                  {"allkeys-s3fifo", 1, 1 << 20, 0.68, 50000},
                  {"allkeys-lru", 2, 2 << 20, 0.63, 50000},
                  {"allkeys-lru", 0.5, 1 << 19, 0.52, 50000}};
      return c;
    }));
  }
};

TEST_F(CachePerfTest, TheCacheCurveSuggestsABetterPolicyWithItsEvidence) {
  auto& hits = m.GetCounter(names::kKeyspaceHitsTotal, "");
  auto& misses = m.GetCounter(names::kKeyspaceMissesTotal, "");
  auto& ops = m.GetCounter(names::kCommandsTotal, "", {{"cmd", "get"}});
  a.Sample();
  for (int i = 0; i < 10; ++i) {
    hits.Inc(600);
    misses.Inc(400);
    ops.Inc(1000);
    Step();
  }
  auto s = Find("cache");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].title, "switch maxmemory-policy to allkeys-s3fifo");
  EXPECT_EQ(s[0].knob, "cache.policy");
  EXPECT_EQ(s[0].value, "allkeys-s3fifo");
  EXPECT_EQ(s[0].effect, "hit ratio +8.0 points");
  EXPECT_GT(s[0].confidence, 0.9);                    // the shadow's 60% matches the real 60%
  EXPECT_TRUE(Find("memory").empty());                // 2x gains 3 points (< 5), 0.5x loses 8
  EXPECT_EQ(a.ComputeScore().areas.at("cache"), 88);  // 0.60 / 0.68
}

TEST_F(CachePerfTest, TheSnapshotShowsTheCurve) {
  a.Sample();
  const auto snap = a.Snapshot();
  EXPECT_EQ(snap["cache"]["policy"], "allkeys-lru");
  EXPECT_EQ(snap["cache"]["curve"].size(), 4u);
  EXPECT_EQ(snap["cache"]["curve"][1]["policy"], "allkeys-s3fifo");
}

}  // namespace
}  // namespace pier::cache::server
