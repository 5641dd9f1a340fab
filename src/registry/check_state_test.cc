#include "pier/registry/check_state.h"

#include <gtest/gtest.h>

namespace pier::registry {
namespace {

using namespace std::chrono_literals;
constexpr auto P = HealthStatus::kPassing;
constexpr auto W = HealthStatus::kWarning;
constexpr auto C = HealthStatus::kCritical;

CheckDefinition Http(int success_before = 0, int failures_before = 0) {
  CheckDefinition d;
  d.type = CheckType::kHttp;
  d.interval = 1s;
  d.success_before_passing = success_before;
  d.failures_before_critical = failures_before;
  return d;
}

TEST(CheckStateTest, StartsInItsInitialStatus) {
  FakeClock clock;
  EXPECT_EQ(CheckState(Http(), clock.Now()).status(), C);
  CheckDefinition d = Http();
  d.initial_status = P;
  EXPECT_EQ(CheckState(d, clock.Now()).status(), P);
}

TEST(CheckStateTest, WithoutThresholdsEveryResultCounts) {
  FakeClock clock;
  CheckState s(Http(), clock.Now());
  EXPECT_TRUE(s.Report(P, "200 OK", clock.Now()));
  EXPECT_EQ(s.status(), P);
  EXPECT_EQ(s.output(), "200 OK");
  EXPECT_FALSE(s.Report(P, "200 OK", clock.Now()));
  EXPECT_TRUE(s.Report(W, "429", clock.Now()));
  EXPECT_EQ(s.status(), W);
  EXPECT_TRUE(s.Report(C, "refused", clock.Now()));
  EXPECT_EQ(s.status(), C);
}

TEST(CheckStateTest, FailuresBeforeCriticalNeedsConsecutiveFailures) {
  FakeClock clock;
  CheckDefinition d = Http(0, 3);
  d.initial_status = P;
  CheckState s(d, clock.Now());
  EXPECT_FALSE(s.Report(C, "refused", clock.Now()));
  EXPECT_FALSE(s.Report(C, "refused", clock.Now()));
  EXPECT_EQ(s.status(), P);
  EXPECT_EQ(s.output(), "");                     // the output moves with the status, as Consul's
  EXPECT_FALSE(s.Report(P, "ok", clock.Now()));  // a success resets the count
  EXPECT_FALSE(s.Report(C, "refused", clock.Now()));
  EXPECT_FALSE(s.Report(C, "refused", clock.Now()));
  EXPECT_TRUE(s.Report(C, "refused", clock.Now()));
  EXPECT_EQ(s.status(), C);
  EXPECT_EQ(s.output(), "refused");
}

TEST(CheckStateTest, SuccessBeforePassingNeedsConsecutiveSuccesses) {
  FakeClock clock;
  CheckState s(Http(2, 0), clock.Now());
  EXPECT_FALSE(s.Report(P, "ok", clock.Now()));
  EXPECT_EQ(s.status(), C);
  EXPECT_FALSE(s.Report(C, "refused", clock.Now()));
  EXPECT_FALSE(s.Report(P, "ok", clock.Now()));
  EXPECT_TRUE(s.Report(P, "ok", clock.Now()));
  EXPECT_EQ(s.status(), P);
}

TEST(CheckStateTest, TtlExpiresWithoutHeartbeats) {
  FakeClock clock;
  CheckDefinition d;
  d.type = CheckType::kTtl;
  d.ttl = 10s;
  CheckState s(d, clock.Now());
  EXPECT_TRUE(s.Report(P, "alive", clock.Now()));
  clock.Advance(9s);
  EXPECT_FALSE(s.Tick(clock.Now()));
  EXPECT_FALSE(s.Report(P, "alive", clock.Now()));  // heartbeat pushes the deadline
  clock.Advance(9s);
  EXPECT_FALSE(s.Tick(clock.Now()));
  EXPECT_EQ(s.status(), P);
  clock.Advance(2s);
  EXPECT_TRUE(s.Tick(clock.Now()));
  EXPECT_EQ(s.status(), C);
  EXPECT_EQ(s.output(), "TTL expired");
  EXPECT_TRUE(s.Report(W, "degraded", clock.Now()));  // TTL checks ignore thresholds
  EXPECT_EQ(s.status(), W);
}

TEST(CheckStateTest, CriticalForMeasuresTheCurrentCriticalSpell) {
  FakeClock clock;
  CheckState s(Http(), clock.Now());
  clock.Advance(30s);
  EXPECT_TRUE(s.CriticalFor(30s, clock.Now()));
  s.Report(P, "ok", clock.Now());
  EXPECT_FALSE(s.CriticalFor(0s, clock.Now()));
  s.Report(C, "down", clock.Now());
  clock.Advance(10s);
  EXPECT_TRUE(s.CriticalFor(10s, clock.Now()));
  EXPECT_FALSE(s.CriticalFor(11s, clock.Now()));
}

TEST(CheckStateTest, FlappingIsHeldCriticalUntilStable) {
  FakeClock clock;
  FlapDamping damping{.max_changes = 4, .window = 60s, .hold = 30s};
  CheckState s(Http(), clock.Now(), damping);
  // passing/critical four times within a minute: flapping.
  for (int i = 0; i < 3; ++i) {
    s.Report(i % 2 == 0 ? P : C, "x", clock.Now());
    clock.Advance(5s);
  }
  EXPECT_FALSE(s.flapping());
  EXPECT_EQ(s.status(), P);
  s.Report(C, "down", clock.Now());
  EXPECT_TRUE(s.flapping());
  EXPECT_EQ(s.status(), C);
  // Passing again, but held critical until it has stayed passing for `hold`.
  EXPECT_FALSE(s.Report(P, "ok", clock.Now()));
  EXPECT_EQ(s.status(), C);
  clock.Advance(29s);
  EXPECT_FALSE(s.Tick(clock.Now()));
  EXPECT_EQ(s.status(), C);
  clock.Advance(1s);
  EXPECT_EQ(s.NextDeadline(), clock.Now());
  EXPECT_TRUE(s.Tick(clock.Now()));
  EXPECT_FALSE(s.flapping());
  EXPECT_EQ(s.status(), P);
}

TEST(CheckStateTest, AFailureDuringTheHoldRestartsIt) {
  FakeClock clock;
  FlapDamping damping{.max_changes = 2, .window = 60s, .hold = 30s};
  CheckState s(Http(), clock.Now(), damping);
  s.Report(P, "ok", clock.Now());
  s.Report(C, "down", clock.Now());
  ASSERT_TRUE(s.flapping());
  s.Report(P, "ok", clock.Now());
  clock.Advance(20s);
  s.Report(C, "down", clock.Now());
  s.Report(P, "ok", clock.Now());
  clock.Advance(20s);
  EXPECT_FALSE(s.Tick(clock.Now()));
  EXPECT_EQ(s.status(), C);
  clock.Advance(10s);
  EXPECT_TRUE(s.Tick(clock.Now()));
  EXPECT_EQ(s.status(), P);
}

TEST(CheckStateTest, SlowChangesAreNotFlapping) {
  FakeClock clock;
  FlapDamping damping{.max_changes = 3, .window = 60s, .hold = 30s};
  CheckState s(Http(), clock.Now(), damping);
  for (int i = 0; i < 10; ++i) {
    s.Report(i % 2 == 0 ? P : C, "x", clock.Now());
    clock.Advance(31s);
  }
  EXPECT_FALSE(s.flapping());
}

}  // namespace
}  // namespace pier::registry
