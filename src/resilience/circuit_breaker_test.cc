#include "pier/resilience/circuit_breaker.h"

#include <gtest/gtest.h>

namespace pier::resilience {
namespace {

class BreakerTest : public ::testing::Test {
 protected:
  BreakerOptions Options() {
    BreakerOptions o;
    o.window_size = 10;
    o.minimum_calls = 5;
    o.failure_rate_threshold = 50;
    o.slow_call_ms = 1000;
    o.slow_call_rate_threshold = 80;
    o.wait_in_open_ms = 1000;
    o.open_backoff = 2;
    o.max_wait_in_open_ms = 3000;
    o.permitted_calls_in_half_open = 3;
    o.max_wait_in_half_open_ms = 5000;
    o.now_ms = [this] { return now_; };
    return o;
  }
  void Calls(CircuitBreaker& b, int n, bool ok, int64_t ms = 1) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(b.TryAcquire());
      b.OnResult(ok, ms);
    }
  }
  int64_t now_ = 1000000;
};

TEST_F(BreakerTest, OpensAtTheFailureRateOnceItHasTheMinimumCalls) {
  CircuitBreaker b(Options());
  Calls(b, 4, false);  // 100% failures, but fewer than minimum_calls
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.stats().failure_rate, -1);
  Calls(b, 1, false);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
  EXPECT_FALSE(b.TryAcquire());
  EXPECT_EQ(b.stats().not_permitted, 1u);
}

TEST_F(BreakerTest, TheCountWindowForgetsOldCalls) {
  CircuitBreaker b(Options());
  Calls(b, 6, true);
  Calls(b, 4, false);  // 4 of 10
  Calls(b, 10, true);  // the failures slid out of the 10-call window
  EXPECT_EQ(b.stats().failures, 0u);
  Calls(b, 4, false);  // 4 of the last 10
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  Calls(b, 1, false);  // 5 of 10 = 50%
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST_F(BreakerTest, SlowCallsTripItToo) {
  CircuitBreaker b(Options());
  Calls(b, 4, true, 1500);  // 4 slow successes of 5 = 80%
  Calls(b, 1, true, 10);
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST_F(BreakerTest, HalfOpenProbesCloseItOrReopenItWithALongerWait) {
  std::vector<std::pair<BreakerState, BreakerState>> events;
  CircuitBreaker b(Options());
  b.OnStateChange([&](BreakerState f, BreakerState t) { events.emplace_back(f, t); });
  Calls(b, 5, false);
  now_ += 999;
  EXPECT_FALSE(b.TryAcquire());
  now_ += 1;
  // Half-open: three probes pass, the fourth waits for their verdict.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.TryAcquire());
  EXPECT_FALSE(b.TryAcquire());
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  b.OnResult(false, 1);
  b.OnResult(false, 1);
  b.OnResult(true, 1);
  EXPECT_EQ(b.state(), BreakerState::kOpen);  // 2 of 3 failed
  now_ += 1999;                               // the wait doubled: 2000
  EXPECT_FALSE(b.TryAcquire());
  now_ += 1;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.TryAcquire());
    b.OnResult(true, 1);
  }
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.stats().calls, 0u);  // a fresh window
  using S = BreakerState;
  EXPECT_EQ(events, (std::vector<std::pair<S, S>>{{S::kClosed, S::kOpen},
                                                  {S::kOpen, S::kHalfOpen},
                                                  {S::kHalfOpen, S::kOpen},
                                                  {S::kOpen, S::kHalfOpen},
                                                  {S::kHalfOpen, S::kClosed}}));
  // Closing resets the backoff: the next trip waits the base time again.
  Calls(b, 5, false);
  now_ += 1000;
  EXPECT_TRUE(b.TryAcquire());
}

TEST_F(BreakerTest, TheWaitInOpenGrowsUpToItsMaximum) {
  CircuitBreaker b(Options());
  Calls(b, 5, false);
  for (int64_t wait : {1000, 2000, 3000, 3000}) {
    now_ += wait - 1;
    EXPECT_FALSE(b.TryAcquire()) << wait;
    now_ += 1;
    ASSERT_TRUE(b.TryAcquire()) << wait;
    b.OnResult(false, 1);
    b.OnResult(false, 1);  // outcomes of calls it never gave: ignored once open again
    ASSERT_EQ(b.state(), BreakerState::kHalfOpen);
    ASSERT_TRUE(b.TryAcquire());
    ASSERT_TRUE(b.TryAcquire());
    b.OnResult(false, 1);
    ASSERT_EQ(b.state(), BreakerState::kOpen);
  }
}

TEST_F(BreakerTest, AHalfOpenBreakerWhoseProbesNeverReturnOpensAgain) {
  CircuitBreaker b(Options());
  Calls(b, 5, false);
  now_ += 1000;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.TryAcquire());  // probes that hang
  now_ += 4999;
  EXPECT_FALSE(b.TryAcquire());
  EXPECT_EQ(b.state(), BreakerState::kHalfOpen);
  now_ += 1;
  EXPECT_FALSE(b.TryAcquire());
  EXPECT_EQ(b.state(), BreakerState::kOpen);  // not stuck: it waits and probes again
  now_ += 2000;
  EXPECT_TRUE(b.TryAcquire());
}

TEST_F(BreakerTest, TheTimeWindowDropsOldSeconds) {
  BreakerOptions o = Options();
  o.window = BreakerOptions::Window::kTime;
  o.window_size = 10;  // seconds
  CircuitBreaker b(o);
  Calls(b, 4, false);
  now_ += 10000;  // those seconds left the window
  Calls(b, 4, true);
  EXPECT_EQ(b.stats().calls, 4u);
  Calls(b, 4, false);  // 4 of 8
  EXPECT_EQ(b.state(), BreakerState::kOpen);
}

TEST_F(BreakerTest, ForcedOpenDisabledAndReset) {
  CircuitBreaker b(Options());
  b.ForceOpen();
  now_ += 1000000;
  EXPECT_FALSE(b.TryAcquire());  // forced open does not time out
  b.Disable();
  Calls(b, 20, false);
  EXPECT_EQ(b.state(), BreakerState::kDisabled);  // never trips
  b.Reset();
  EXPECT_EQ(b.state(), BreakerState::kClosed);
  EXPECT_EQ(b.stats().transitions, 3u);
  EXPECT_STREQ(BreakerStateName(b.state()), "closed");
}

TEST_F(BreakerTest, ValidateNamesTheBadOption) {
  BreakerOptions o = Options();
  o.failure_rate_threshold = 0;
  EXPECT_NE(CircuitBreaker::Validate(o).message().find("failure_rate_threshold"),
            std::string::npos);
  EXPECT_TRUE(CircuitBreaker::Validate(Options()).ok());
}

}  // namespace
}  // namespace pier::resilience
