#include <gtest/gtest.h>

#include <map>

#include "pier/resilience/outlier_detector.h"
#include "pier/resilience/retry.h"

namespace pier::resilience {
namespace {

class OutlierTest : public ::testing::Test {
 protected:
  OutlierOptions Options() {
    OutlierOptions o;
    o.interval_ms = 10000;
    o.base_ejection_ms = 30000;
    o.max_ejection_ms = 100000;
    o.max_ejection_percent = 50;
    o.success_rate_minimum_hosts = 3;
    o.success_rate_request_volume = 100;
    o.now_ms = [this] { return now_; };
    return o;
  }
  std::unique_ptr<OutlierDetector> Make(OutlierOptions o, int hosts = 4) {
    auto d = std::make_unique<OutlierDetector>(
        o, [this](const std::string& h, bool e) { events_.emplace_back(h, e); });
    std::vector<std::string> names;
    for (int i = 0; i < hosts; ++i) names.push_back("h" + std::to_string(i));
    d->SetHosts(names);
    return d;
  }
  int64_t now_ = 1000000;
  std::vector<std::pair<std::string, bool>> events_;
};

TEST_F(OutlierTest, ConsecutiveGatewayFailuresEjectAndTheEjectionEnds) {
  auto d = Make(Options());
  for (int i = 0; i < 4; ++i) d->Report("h1", Outcome::kGatewayFailure);
  d->Report("h1", Outcome::kSuccess);  // the run is broken
  for (int i = 0; i < 4; ++i) d->Report("h1", Outcome::kGatewayFailure);
  EXPECT_FALSE(d->ejected("h1"));
  d->Report("h1", Outcome::kGatewayFailure);
  EXPECT_TRUE(d->ejected("h1"));
  EXPECT_EQ(events_, (std::vector<std::pair<std::string, bool>>{{"h1", true}}));
  now_ += 29999;
  d->Tick();
  EXPECT_TRUE(d->ejected("h1"));
  now_ += 1;
  d->Tick();
  EXPECT_FALSE(d->ejected("h1"));
  EXPECT_EQ(d->stats()[1].last_reason, "5 consecutive gateway failures");
}

TEST_F(OutlierTest, RepeatEjectionsLastLongerUpToTheMaximum) {
  auto d = Make(Options());
  for (int64_t expect : {30000, 60000, 90000, 100000}) {
    for (int i = 0; i < 5; ++i) d->Report("h2", Outcome::k5xx);
    ASSERT_TRUE(d->ejected("h2"));
    now_ += expect - 1;
    d->Tick();
    EXPECT_TRUE(d->ejected("h2")) << expect;
    now_ += 1;
    d->Tick();
    EXPECT_FALSE(d->ejected("h2")) << expect;
  }
}

TEST_F(OutlierTest, NeverEjectsMoreThanTheMaximumPercentageButAlwaysOne) {
  auto o = Options();
  o.max_ejection_percent = 25;  // of 4 hosts: one
  auto d = Make(o);
  for (const char* h : {"h0", "h1"}) {
    for (int i = 0; i < 5; ++i) d->Report(h, Outcome::k5xx);
  }
  EXPECT_TRUE(d->ejected("h0"));
  EXPECT_FALSE(d->ejected("h1"));
  o.max_ejection_percent = 1;  // below one host's share: still one may go
  auto e = Make(o);
  for (int i = 0; i < 5; ++i) e->Report("h3", Outcome::k5xx);
  EXPECT_TRUE(e->ejected("h3"));
}

TEST_F(OutlierTest, ALowSuccessRateAgainstThePeersEjects) {
  auto o = Options();
  o.consecutive_5xx = 0;  // only the success-rate rule
  o.consecutive_gateway_failures = 0;
  o.success_rate_stdev_factor = 1.0;
  auto d = Make(o, 5);
  for (int i = 0; i < 200; ++i) {
    for (int h = 0; h < 5; ++h) {
      // h4 fails one request in four; the others one in a hundred.
      const bool fail = h == 4 ? i % 4 == 0 : i % 100 == 0;
      d->Report("h" + std::to_string(h), fail ? Outcome::k5xx : Outcome::kSuccess);
    }
  }
  d->Tick();
  EXPECT_FALSE(d->ejected("h4"));  // the interval has not ended
  now_ += 10000;
  d->Tick();
  EXPECT_TRUE(d->ejected("h4"));
  for (int h = 0; h < 4; ++h) EXPECT_FALSE(d->ejected("h" + std::to_string(h)));
  EXPECT_NE(d->stats()[4].last_reason.find("success rate 75.0%"), std::string::npos);
}

TEST(RetryTest, OnlyIdempotentRequestsAndConfiguredStatusesAreRetried) {
  RetryPolicy p;
  EXPECT_TRUE(p.ShouldRetry("GET", 503, 0));
  EXPECT_TRUE(p.ShouldRetry("PUT", 0, 1));  // a gateway failure
  EXPECT_FALSE(p.ShouldRetry("GET", 500, 0));
  EXPECT_FALSE(p.ShouldRetry("POST", 503, 0));
  EXPECT_FALSE(p.ShouldRetry("GET", 503, 2));  // max_retries = 2
  RetryPolicy any({.retry_non_idempotent = true});
  EXPECT_TRUE(any.ShouldRetry("POST", 0, 0));
  EXPECT_FALSE(RetryPolicy::Validate({.retry_on = {700}}).ok());
}

TEST(RetryTest, BackoffIsExponentialWithFullJitterAndCapped) {
  RetryPolicy p({.base_backoff_ms = 25, .max_backoff_ms = 250});
  EXPECT_EQ(p.BackoffMs(0, 0.999), 24);
  EXPECT_EQ(p.BackoffMs(2, 0.5), 50);     // half of 100
  EXPECT_EQ(p.BackoffMs(9, 0.999), 249);  // capped at 250
  EXPECT_EQ(p.BackoffMs(3, 0.0), 0);
}

TEST(RetryTest, TheBudgetCapsRetriesAtAShareOfActiveRequests) {
  RetryBudget b(20, 3);
  for (int i = 0; i < 100; ++i) b.RequestStarted();
  int allowed = 0;
  for (int i = 0; i < 50; ++i) allowed += b.TryStartRetry();
  EXPECT_EQ(allowed, 20);  // 20% of 100 in flight
  EXPECT_EQ(b.refused(), 30u);
  b.RetryFinished();
  EXPECT_TRUE(b.TryStartRetry());
  RetryBudget idle(20, 3);
  EXPECT_TRUE(idle.TryStartRetry() && idle.TryStartRetry() && idle.TryStartRetry());
  EXPECT_FALSE(idle.TryStartRetry());  // the minimum when little is in flight
}

}  // namespace
}  // namespace pier::resilience
