#include "pier/resilience/concurrency_limiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

namespace pier::resilience {
namespace {

TEST(ConcurrencyLimitParse, AcceptsOffAdaptiveAndNumbers) {
  EXPECT_EQ(ParseConcurrencyLimit("off")->mode, ConcurrencyLimitOptions::Mode::kOff);
  EXPECT_EQ(ParseConcurrencyLimit("adaptive")->mode, ConcurrencyLimitOptions::Mode::kAdaptive);
  auto fixed = ParseConcurrencyLimit("64");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->mode, ConcurrencyLimitOptions::Mode::kFixed);
  EXPECT_EQ(fixed->limit, 64u);
  EXPECT_EQ(ConcurrencyLimitText(*fixed), "64");
  auto bad = ParseConcurrencyLimit("lots");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("is not off, adaptive or a number"), std::string::npos);
  EXPECT_FALSE(ParseConcurrencyLimit("-1").ok());
}

TEST(ConcurrencyLimiterTest, FixedLimitRejectsTheRequestBeyondIt) {
  ConcurrencyLimiter l(*ParseConcurrencyLimit("2"));
  EXPECT_TRUE(l.TryAcquire(0));
  EXPECT_TRUE(l.TryAcquire(0));
  EXPECT_FALSE(l.TryAcquire(0));
  EXPECT_EQ(l.state().in_flight, 2u);
  l.Release(1000, true, 1000);
  EXPECT_TRUE(l.TryAcquire(1000));
  EXPECT_EQ(l.state().rejected, 1u);
  l.Reset(*ParseConcurrencyLimit("off"));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(l.TryAcquire(2000));
}

// Drives an adaptive limiter with windows of completions at a given latency.
class AdaptiveTest : public ::testing::Test {
 protected:
  AdaptiveTest() : l_(*ParseConcurrencyLimit("adaptive")) {}
  // One 100 ms window: `n` requests completing with `latency_us` each.
  void Window(int64_t latency_us, int n = 20) {
    for (int i = 0; i < n; ++i) {
      now_ += 100000 / n;
      l_.TryAcquire(now_ - latency_us);  // one at a time: never over the limit
      l_.Release(latency_us, true, now_);
    }
  }
  void MeasureMinRtt(int64_t latency_us) {
    for (int i = 0; i < 50; ++i) {
      now_ += latency_us;
      l_.TryAcquire(now_ - latency_us);
      l_.Release(latency_us, true, now_);
    }
  }
  ConcurrencyLimiter l_;  // starts at the minimum, 3
  int64_t now_ = 1000000;
};

TEST_F(AdaptiveTest, StartsByMeasuringTheNoLoadLatencyAtTheMinimum) {
  EXPECT_TRUE(l_.state().measuring_min_rtt);
  EXPECT_EQ(l_.state().limit, 3u);
  MeasureMinRtt(10000);
  EXPECT_FALSE(l_.state().measuring_min_rtt);
  EXPECT_DOUBLE_EQ(l_.state().min_rtt_ms, 10.0);
  EXPECT_EQ(l_.state().limit, 3u);  // where it starts: never unlimited
}

TEST_F(AdaptiveTest, GrowsWhileLatencyStaysNearTheBaselineAndShrinksWhenItRises) {
  MeasureMinRtt(10000);
  uint32_t before = l_.state().limit;
  for (int i = 0; i < 10; ++i) Window(10500);  // within the 25% buffer: gradient above 1
  const uint32_t grown = l_.state().limit;
  EXPECT_GT(grown, before * 4);
  Window(40000);  // 4x the baseline: the gradient bottoms out at 0.5
  EXPECT_DOUBLE_EQ(l_.state().gradient, 0.5);
  EXPECT_LT(l_.state().limit, grown * 0.6 + 1);
}

TEST_F(AdaptiveTest, SettlesNearTheConcurrencyAnOverloadedUpstreamServesWell) {
  MeasureMinRtt(10000);
  // An upstream serving 8 requests at a time in 10 ms; beyond 8 they queue, and a closed loop
  // of clients keeps the limit full: latency = 10 ms * max(1, limit / 8).
  for (int i = 0; i < 200; ++i) {
    const double limit = l_.state().limit;
    Window(static_cast<int64_t>(10000 * std::max(1.0, limit / 8)));
    ASSERT_FALSE(l_.state().measuring_min_rtt) << "window " << i;
  }
  // The fixed point of limit = 12.5/(10*limit/8) * limit + sqrt(limit): about 13.7.
  EXPECT_GE(l_.state().limit, 10u);
  EXPECT_LE(l_.state().limit, 18u);
}

TEST_F(AdaptiveTest, MeasuresTheBaselineAgainAfterItsInterval) {
  MeasureMinRtt(10000);
  for (int i = 0; i < 5; ++i) Window(10000);
  EXPECT_GT(l_.state().limit, 3u);
  now_ += 60000000;
  Window(10000, 1);
  EXPECT_TRUE(l_.state().measuring_min_rtt);
  EXPECT_EQ(l_.state().limit, 3u);
  // A request that started before the measurement is not a no-load sample.
  ASSERT_TRUE(l_.TryAcquire(now_));
  l_.Release(500000, true, now_ + 1000);
  MeasureMinRtt(20000);
  EXPECT_DOUBLE_EQ(l_.state().min_rtt_ms, 20.0);
  EXPECT_GT(l_.state().limit, 3u);  // back where it was
}

TEST(ConcurrencyLimiterConcurrent, NeverLetsMoreThanTheLimitThrough) {
  ConcurrencyLimiter l(*ParseConcurrencyLimit("4"));
  std::atomic<int> inside{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (!l.TryAcquire(i)) continue;
        const int n = ++inside;
        int m = most.load();
        while (n > m && !most.compare_exchange_weak(m, n)) {
        }
        --inside;
        l.Release(10, true, i);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 4);
  EXPECT_EQ(l.state().in_flight, 0u);
  // Adaptive under contention: the bookkeeping stays consistent.
  l.Reset(*ParseConcurrencyLimit("adaptive"));
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&l, t] {
      for (int64_t i = 0; i < 20000; ++i) {
        const int64_t now = i * 1000 + t;
        if (l.TryAcquire(now)) l.Release(500, true, now + 500);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(l.state().in_flight, 0u);
  EXPECT_GE(l.state().limit, 3u);
}

}  // namespace
}  // namespace pier::resilience
