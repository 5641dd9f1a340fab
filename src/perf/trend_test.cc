#include "pier/perf/trend.h"

#include <gtest/gtest.h>

#include <random>

namespace pier::perf {
namespace {

std::vector<double> Noisy(size_t n, double level, double sd, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> d(level, sd);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(Trend, SlopeAndEwmaOfKnownSeries) {
  EXPECT_DOUBLE_EQ(Slope({1, 3, 5, 7}), 2);
  EXPECT_DOUBLE_EQ(Slope({4, 4, 4}), 0);
  EXPECT_DOUBLE_EQ(Slope({9}), 0);
  EXPECT_DOUBLE_EQ(Ewma({0, 10}, 0.5), 5);
  EXPECT_NEAR(Ewma(std::vector<double>(200, 3), 0.1), 3, 1e-12);
}

TEST(Trend, FindsAStepUpInP99AndWhereItHappened) {
  auto v = Noisy(60, 10, 0.5, 1);
  auto after = Noisy(40, 30, 0.5, 2);
  v.insert(v.end(), after.begin(), after.end());
  auto cp = DetectChangePoint(v);
  ASSERT_TRUE(cp.found);
  EXPECT_EQ(cp.index, 60u);
  EXPECT_NEAR(cp.before, 10, 0.5);
  EXPECT_NEAR(cp.after, 30, 0.5);
}

TEST(Trend, NoChangePointInNoiseOrInASmallShift) {
  EXPECT_FALSE(DetectChangePoint(Noisy(100, 10, 1, 3)).found);
  auto v = Noisy(50, 100, 1, 4);
  auto after = Noisy(50, 110, 1, 5);  // significant but only 10%
  v.insert(v.end(), after.begin(), after.end());
  EXPECT_FALSE(DetectChangePoint(v).found);
  EXPECT_FALSE(DetectChangePoint({1, 2, 3}).found);  // too short
  // A step in a flat (noise-free) series is found.
  std::vector<double> flat(20, 5);
  flat.resize(40, 50);
  EXPECT_TRUE(DetectChangePoint(flat).found);
}

TEST(Trend, SaturationSigns) {
  EXPECT_TRUE(CpuSaturated({1.9, 1.95, 1.85}, 2));
  EXPECT_FALSE(CpuSaturated({1.0, 1.2, 0.9}, 2));
  std::vector<double> p99, rps, rps_up;
  for (int i = 0; i < 30; ++i) {
    p99.push_back(10 + i);               // 10 -> 39 ms
    rps.push_back(1000 + (i % 3));       // flat
    rps_up.push_back(1000 + 100.0 * i);  // rising with the latency: just load
  }
  EXPECT_TRUE(LatencyRisingThroughputFlat(p99, rps));
  EXPECT_FALSE(LatencyRisingThroughputFlat(p99, rps_up));
  EXPECT_FALSE(LatencyRisingThroughputFlat(rps, rps));
}

}  // namespace
}  // namespace pier::perf
