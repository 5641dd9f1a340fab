#include "pier/queue/broker.h"

#include <gtest/gtest.h>

#include <atomic>

namespace pier::queue {
namespace {

// An in-memory broker on a fake clock; callbacks run before the calls return.
class BrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BrokerOptions o;
    o.now_ms = [this] { return now_.load(); };
    o.seed = 7;
    broker_ = std::move(*Broker::Open(o));
  }
  uint64_t Pub(const std::string& topic, const std::string& payload, int priority = 0,
               int64_t delay_ms = 0, std::string dedup = "") {
    PublishRequest r{.topic = topic,
                     .payload = payload,
                     .priority = priority,
                     .delay_ms = delay_ms,
                     .dedup_id = std::move(dedup)};
    auto res = broker_->PublishAndWait({r});
    EXPECT_TRUE(res.ok()) << res.status().message();
    return res.ok() ? (*res)[0].id : 0;
  }
  std::vector<std::string> Take(const std::string& topic, size_t n,
                                const std::string& sub = "default") {
    auto r = broker_->Consume(topic, sub, n);
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<std::string> out;
    for (auto& d : *r) out.push_back(d.payload);
    return out;
  }
  size_t Nack(const std::string& topic, uint64_t id, NackOutcome o, int64_t delay = 0,
              const std::string& sub = "default") {
    size_t n = 0;
    broker_->Nack(topic, sub, {id}, o, delay, "boom", [&](Result<size_t> r) { n = *r; });
    return n;
  }
  Status Sync(std::function<void(Broker::Done)> call) {
    Status st = Status::Internal("callback did not run");
    call([&](Status s) { st = s; });
    return st;
  }
  void Advance(int64_t ms) {
    now_ += ms;
    broker_->Tick();
  }
  std::atomic<int64_t> now_{1'700'000'000'000};
  std::unique_ptr<Broker> broker_;
};

TEST_F(BrokerTest, HighestPriorityFirstFifoWithinAPriority) {
  Pub("jobs", "low-1", 1);
  Pub("jobs", "high-1", 9);
  Pub("jobs", "low-2", 1);
  Pub("jobs", "mid", 5);
  Pub("jobs", "high-2", 9);
  EXPECT_EQ(Take("jobs", 10),
            (std::vector<std::string>{"high-1", "high-2", "mid", "low-1", "low-2"}));
  EXPECT_TRUE(Take("jobs", 10).empty());  // all leased
}

TEST_F(BrokerTest, PriorityOutOfRangeIsRefused) {
  auto r = broker_->PublishAndWait({{.topic = "jobs", .payload = "x", .priority = 10}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("priority 10 out of range"), std::string::npos);
  ASSERT_TRUE(
      Sync([&](auto d) { broker_->CreateTopic("wide", {.max_priority = 255}, true, d); }).ok());
  EXPECT_TRUE(broker_->PublishAndWait({{.topic = "wide", .payload = "x", .priority = 255}}).ok());
}

TEST_F(BrokerTest, DelayedMessagesWaitForTheirTime) {
  Pub("jobs", "later", 0, 5000);
  Pub("jobs", "now");
  EXPECT_EQ(Take("jobs", 10), std::vector<std::string>{"now"});
  Advance(4999);
  EXPECT_TRUE(Take("jobs", 10).empty());
  EXPECT_EQ(broker_->StatsOf("jobs")->subscriptions[0].delayed, 1u);
  Advance(1);
  EXPECT_EQ(Take("jobs", 10), std::vector<std::string>{"later"});
}

TEST_F(BrokerTest, AnExpiredLeaseRedelivers) {
  Pub("jobs", "a");
  auto first = *broker_->Consume("jobs", "default", 1, 1000);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].delivery_count, 1u);
  Advance(999);
  EXPECT_TRUE(Take("jobs", 1).empty());
  Advance(1);
  auto again = *broker_->Consume("jobs", "default", 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(again[0].delivery_count, 2u);
  EXPECT_EQ(broker_->StatsOf("jobs")->subscriptions[0].redelivered, 1u);
}

TEST_F(BrokerTest, ExtendKeepsTheLease) {
  Pub("jobs", "a");
  auto d = *broker_->Consume("jobs", "default", 1, 1000);
  Advance(900);
  EXPECT_EQ(*broker_->Extend("jobs", "default", {d[0].id}, 1000), 1u);
  Advance(900);
  EXPECT_TRUE(Take("jobs", 1).empty());
  Advance(100);
  EXPECT_EQ(Take("jobs", 1), std::vector<std::string>{"a"});
}

TEST_F(BrokerTest, AckRemovesAndAckingTwiceCountsNothing) {
  uint64_t id = Pub("jobs", "a");
  EXPECT_EQ(*broker_->AckAndWait("jobs", "default", {id}), 0u);  // not in flight yet
  Take("jobs", 1);
  EXPECT_EQ(*broker_->AckAndWait("jobs", "default", {id}), 1u);
  EXPECT_EQ(*broker_->AckAndWait("jobs", "default", {id}), 0u);
  Advance(60000);
  EXPECT_TRUE(Take("jobs", 1).empty());
  auto s = broker_->StatsOf("jobs")->subscriptions[0];
  EXPECT_EQ(s.acked, 1u);
  EXPECT_EQ(s.delivery_counts.at(1), 1u);
}

TEST_F(BrokerTest, NackRetryWaitsForExponentialBackoffWithJitter) {
  // base 1000 ms: retry n waits in [d/2, d] with d = 1000 * 2^(n-1).
  uint64_t id = Pub("jobs", "a");
  for (int64_t d : {1000, 2000, 4000, 8000}) {
    ASSERT_EQ(Take("jobs", 1).size(), 1u);
    ASSERT_EQ(Nack("jobs", id, NackOutcome::kRetry), 1u);
    Advance(d / 2 - 1);
    EXPECT_TRUE(Take("jobs", 1).empty()) << "retry after " << d;
    Advance(d - d / 2 + 1);
  }
  EXPECT_EQ(Take("jobs", 1).size(), 1u);  // 5th delivery
}

TEST_F(BrokerTest, NackRetryAfterAGivenDelay) {
  uint64_t id = Pub("jobs", "a");
  Take("jobs", 1);
  Nack("jobs", id, NackOutcome::kRetryAfter, 250);
  Advance(249);
  EXPECT_TRUE(Take("jobs", 1).empty());
  Advance(1);
  EXPECT_EQ(Take("jobs", 1).size(), 1u);
}

TEST_F(BrokerTest, NackDeadAndMaxDeliveriesGoToTheDeadLetterTopic) {
  uint64_t a = Pub("jobs", "a");
  uint64_t b = Pub("jobs", "b");
  Take("jobs", 1);
  Nack("jobs", a, NackOutcome::kDead);  // at once
  // b: delivered max_deliveries (5) times, each lease expiring.
  for (int i = 0; i < 5; ++i) {
    auto d = *broker_->Consume("jobs", "default", 1, 100);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].id, b);
    Advance(100);
  }
  EXPECT_TRUE(Take("jobs", 1).empty());
  auto dead = *broker_->ListDead("jobs", "default", 10);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].payload, "a");
  EXPECT_EQ(dead[1].payload, "b");
  std::map<std::string, std::string> h(dead[1].headers.begin(), dead[1].headers.end());
  EXPECT_EQ(h["x-dead-topic"], "jobs");
  EXPECT_EQ(h["x-dead-delivery-count"], "5");
  EXPECT_EQ(h["x-dead-last-error"], "lease expired");
  EXPECT_EQ(dead[0].topic, "jobs.default.dlq");
  auto stats = broker_->StatsOf("jobs")->subscriptions[0];
  EXPECT_EQ(stats.dead, 2u);
  EXPECT_EQ(stats.dead_lettered, 2u);
  // Anyone can consume the dead-letter topic like any other.
  EXPECT_EQ(broker_->StatsOf("jobs.default.dlq")->subscriptions[0].ready, 2u);
  auto one = broker_->InspectDead("jobs", "default", dead[0].id);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->payload, "a");
  EXPECT_FALSE(broker_->InspectDead("jobs", "default", 999).ok());
}

TEST_F(BrokerTest, RedriveSendsDeadLettersBackAndPurgeDropsThem) {
  for (const char* p : {"a", "b", "c"}) Pub("jobs", p, 3);
  auto d = *broker_->Consume("jobs", "default", 3);
  for (auto& m : d) Nack("jobs", m.id, NackOutcome::kDead);
  auto dead = *broker_->ListDead("jobs", "default", 10);
  ASSERT_EQ(dead.size(), 3u);
  size_t n = 0;
  broker_->Redrive("jobs", "default", {dead[1].id}, [&](auto r) { n = *r; });
  EXPECT_EQ(n, 1u);
  auto back = *broker_->Consume("jobs", "default", 10);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].payload, "b");
  EXPECT_EQ(back[0].priority, 3);
  EXPECT_EQ(back[0].delivery_count, 1u);  // counting starts again
  for (auto& [k, v] : back[0].headers) EXPECT_NE(k.rfind("x-dead-", 0), 0u) << k;
  broker_->PurgeDead("jobs", "default", [&](auto r) { n = *r; });
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(broker_->ListDead("jobs", "default", 10)->empty());
}

TEST_F(BrokerTest, DedupWithinTheWindowOnly) {
  uint64_t first = Pub("jobs", "a", 0, 0, "order-1");
  auto dup = broker_->PublishAndWait({{.topic = "jobs", .payload = "a2", .dedup_id = "order-1"}});
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE((*dup)[0].duplicate);
  EXPECT_EQ((*dup)[0].id, first);
  auto d = *broker_->Consume("jobs", "default", 10);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].payload, "a");
  ASSERT_TRUE(broker_->AckAndWait("jobs", "default", {first}).ok());
  Advance(299999);  // the default window is 5 minutes
  EXPECT_TRUE(
      (*broker_->PublishAndWait({{.topic = "jobs", .payload = "a2", .dedup_id = "order-1"}}))[0]
          .duplicate);
  Advance(1);
  auto again = broker_->PublishAndWait({{.topic = "jobs", .payload = "a3", .dedup_id = "order-1"}});
  EXPECT_FALSE((*again)[0].duplicate);
  EXPECT_EQ(Take("jobs", 10), std::vector<std::string>{"a3"});
}

TEST_F(BrokerTest, TopicsFanOutAndConsumersOfOneSubscriptionCompete) {
  ASSERT_TRUE(Sync([&](auto d) { broker_->CreateTopic("orders", {}, false, d); }).ok());
  ASSERT_TRUE(Sync([&](auto d) { broker_->CreateSubscription("orders", "billing", {}, d); }).ok());
  ASSERT_TRUE(Sync([&](auto d) { broker_->CreateSubscription("orders", "email", {}, d); }).ok());
  for (int i = 0; i < 4; ++i) Pub("orders", "o" + std::to_string(i));
  // Two consumers of "billing" split the messages; "email" gets every one.
  auto c1 = Take("orders", 2, "billing");
  auto c2 = Take("orders", 2, "billing");
  EXPECT_EQ(c1, (std::vector<std::string>{"o0", "o1"}));
  EXPECT_EQ(c2, (std::vector<std::string>{"o2", "o3"}));
  EXPECT_EQ(Take("orders", 10, "email").size(), 4u);
  EXPECT_FALSE(broker_->Consume("orders", "default", 1).ok());  // created without one
  EXPECT_EQ(Sync([&](auto d) { broker_->CreateSubscription("orders", "email", {}, d); }).code(),
            StatusCode::kAlreadyExists);
}

TEST_F(BrokerTest, PublishingCreatesTheTopicWithItsDefaultSubscription) {
  EXPECT_TRUE(Take("fresh", 1).empty());  // a consumer may start first
  Pub("fresh", "x");
  EXPECT_EQ(Take("fresh", 1), std::vector<std::string>{"x"});
  EXPECT_FALSE(broker_->Consume("fresh", "nope", 1).ok());
}

TEST_F(BrokerTest, BadNamesAndOptionsAreRefusedWithTheReason) {
  auto r = broker_->PublishAndWait({{.topic = "a b", .payload = "x"}});
  EXPECT_NE(r.status().message().find("may not contain spaces"), std::string::npos);
  Status st =
      Sync([&](auto d) { broker_->CreateSubscription("t", "s", {.visibility_timeout_ms = 0}, d); });
  EXPECT_NE(st.message().find("visibility timeout"), std::string::npos);
  std::string big(9u << 20, 'x');
  r = broker_->PublishAndWait({{.topic = "t", .payload = big}});
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

TEST_F(BrokerTest, DeletingASubscriptionDropsItsMessages) {
  Pub("jobs", "a");
  ASSERT_TRUE(Sync([&](auto d) { broker_->DeleteSubscription("jobs", "default", d); }).ok());
  EXPECT_FALSE(broker_->Consume("jobs", "default", 1).ok());
  Pub("jobs", "b");  // a topic with no subscription keeps nothing
  EXPECT_EQ(broker_->StatsOf("jobs")->published, 2u);
  ASSERT_TRUE(Sync([&](auto d) { broker_->DeleteTopic("jobs", d); }).ok());
  EXPECT_FALSE(broker_->StatsOf("jobs").ok());
}

TEST_F(BrokerTest, StatsReportAgesAndRates) {
  Pub("jobs", "a");
  Advance(1000);
  Pub("jobs", "b");
  Advance(1000);
  auto s = broker_->StatsOf("jobs")->subscriptions[0];
  EXPECT_EQ(s.ready, 2u);
  EXPECT_EQ(s.oldest_ready_age_ms, 2000);
  EXPECT_GT(s.publish_rate, 0.0);
  Take("jobs", 1);
  s = broker_->StatsOf("jobs")->subscriptions[0];
  EXPECT_EQ(s.in_flight, 1u);
  EXPECT_EQ(s.oldest_ready_age_ms, 1000);
}

TEST_F(BrokerTest, ReadyListenerHearsPublishesAndRetries) {
  std::vector<std::string> heard;
  broker_->SetReadyListener(
      [&](const std::string& t, const std::string& s) { heard.push_back(t + "/" + s); });
  uint64_t id = Pub("jobs", "a");
  EXPECT_EQ(heard, std::vector<std::string>{"jobs/default"});
  Take("jobs", 1);
  Nack("jobs", id, NackOutcome::kRetryAfter, 10);
  heard.clear();
  Advance(10);
  EXPECT_EQ(heard, std::vector<std::string>{"jobs/default"});
}

}  // namespace
}  // namespace pier::queue
