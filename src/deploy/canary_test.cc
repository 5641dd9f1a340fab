#include "pier/deploy/canary.h"

#include <gtest/gtest.h>

namespace pier::deploy {
namespace {

TEST(JudgeCanary, WaitsForEnoughRequests) {
  UpdatePolicy p;
  p.min_requests = 20;
  auto v = JudgeCanary({.requests = 19, .errors = 19}, {.requests = 500}, p);
  EXPECT_EQ(v.outcome, Verdict::kWait);
  EXPECT_EQ(v.why, "the canary has had 19 of the 20 requests a step needs");
}

TEST(JudgeCanary, FailsOnErrorsAboveTheStablesPlusTheAllowance) {
  UpdatePolicy p;                                                       // +5 points
  const Window stable{.requests = 1000, .errors = 10, .p99_us = 2000};  // 1%
  EXPECT_EQ(JudgeCanary({.requests = 100, .errors = 6, .p99_us = 2000}, stable, p).outcome,
            Verdict::kPass);  // 6% - 1% = 5 points: allowed
  auto v = JudgeCanary({.requests = 100, .errors = 21, .p99_us = 2000}, stable, p);
  EXPECT_EQ(v.outcome, Verdict::kFail);
  EXPECT_EQ(v.why, "error rate 21.0% vs stable 1.0% (allowed: +5.0 points)");
}

TEST(JudgeCanary, FailsOnP99AboveRatioPlusSlack) {
  UpdatePolicy p;  // 2x + 5 ms
  const Window stable{.requests = 1000, .errors = 0, .p99_us = 10000};
  EXPECT_EQ(JudgeCanary({.requests = 100, .p99_us = 25000}, stable, p).outcome, Verdict::kPass);
  auto v = JudgeCanary({.requests = 100, .p99_us = 60000}, stable, p);
  EXPECT_EQ(v.outcome, Verdict::kFail);
  EXPECT_EQ(v.why, "p99 60.0 ms vs stable 10.0 ms (allowed: 2.0x + 5 ms)");
}

TEST(JudgeCanary, WithoutStableTrafficHoldsErrorsAgainstZeroAndSkipsP99) {
  UpdatePolicy p;
  EXPECT_EQ(JudgeCanary({.requests = 100, .errors = 0, .p99_us = 900000}, {}, p).outcome,
            Verdict::kPass);
  EXPECT_EQ(JudgeCanary({.requests = 100, .errors = 10}, {}, p).outcome, Verdict::kFail);
}

}  // namespace
}  // namespace pier::deploy
