// The queue served in process (a RESP listener with the queue service), driven by the C++
// Producer and Consumer.
#include "pier/queue/queue_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "pier/net/resp_server.h"
#include "pier/queue/client.h"

namespace pier::queue {
namespace {

class QueueServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(queue_.Start().ok());
    resp_.AddService(&queue_.resp());
    ASSERT_TRUE(resp_.Start().ok());
    pool_.Start();
    address_ = "127.0.0.1:" + std::to_string(resp_.port());
  }
  void TearDown() override {
    resp_.Shutdown();
    queue_.Shutdown();
    resp_.CloseAll();
    pool_.Stop(false);
    pool_.Join();
  }

  net::IoPool pool_{2};
  QueueServer queue_{pool_, {}};  // in memory
  net::RespServer resp_{pool_, {.port = 0}};
  std::string address_;
};

TEST_F(QueueServerTest, ProducerAndConsumerRoundTrip) {
  auto p = Producer::Connect({.address = address_});
  ASSERT_TRUE(p.ok()) << p.status().message();
  auto id = (*p)->Publish(
      {.topic = "jobs", .payload = std::string("a\0b", 3), .headers = {{"k", "v"}}, .priority = 2});
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto ids =
      (*p)->PublishBatch({{.topic = "jobs", .payload = "x"}, {.topic = "jobs", .payload = "y"}});
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 2u);

  ConsumerOptions o;
  o.address = address_;
  o.topic = "jobs";
  auto c = Consumer::Connect(o);
  ASSERT_TRUE(c.ok());
  auto got = (*c)->Fetch(10, -1);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].id, *id);
  EXPECT_EQ((*got)[0].payload, std::string("a\0b", 3));
  EXPECT_EQ((*got)[0].headers, (Headers{{"k", "v"}}));
  EXPECT_EQ((*got)[0].delivery_count, 1u);
  EXPECT_EQ(*(*c)->Ack({(*got)[0].id, (*got)[1].id}), 2u);
  EXPECT_EQ(*(*c)->Extend({(*got)[2].id}, 60000), 1u);
  EXPECT_EQ(*(*c)->Nack({(*got)[2].id}, NackOutcome::kDead, 0, "nope"), 1u);
  auto stats = queue_.broker().StatsOf("jobs");
  EXPECT_EQ(stats->subscriptions[0].dead, 1u);
  // Errors come back as statuses with the server's text.
  auto bad = (*p)->Publish({.topic = "jobs", .payload = "x", .priority = 42});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("priority 42 out of range"), std::string::npos);
}

TEST_F(QueueServerTest, AConsumeWithoutACountGetsTheServersConsumeBatch) {
  auto p = Producer::Connect({.address = address_});
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*p)->Publish({.topic = "b", .payload = "m"}).ok());
  EXPECT_EQ(queue_.consume_batch(), 1u);
  EXPECT_EQ(queue_.Consume("b", "default", 0, 0)->size(), 1u);
  ASSERT_TRUE(queue_.SetConsumeBatch(4).ok());
  EXPECT_EQ(queue_.Consume("b", "default", 0, 0)->size(), 4u);
  EXPECT_EQ(queue_.Consume("b", "default", 2, 0)->size(), 2u);  // an explicit count wins
  auto bad = queue_.SetConsumeBatch(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(), "a consume batch is 1 to 10000 messages, not 0");
  EXPECT_EQ(queue_.consume_batch(), 4u);
}

TEST_F(QueueServerTest, RunHandlesEveryMessageWithBoundedConcurrency) {
  std::promise<Status> created;
  queue_.broker().CreateSubscription(
      "work", "w", {.max_deliveries = 3, .backoff_base_ms = 0, .backoff_max_ms = 0},
      [&](Status s) { created.set_value(s); });
  ASSERT_TRUE(created.get_future().get().ok());
  auto p = Producer::Connect({.address = address_});
  std::vector<PublishRequest> batch;
  for (int i = 0; i < 60; ++i) batch.push_back({.topic = "work", .payload = std::to_string(i)});
  ASSERT_TRUE((*p)->PublishBatch(batch).ok());

  ConsumerOptions o;
  o.address = address_;
  o.topic = "work";
  o.subscription = "w";
  o.concurrency = 3;
  o.block_ms = 50;
  auto c = Consumer::Connect(o);
  std::atomic<int> running{0}, most{0};
  std::mutex mu;
  std::map<std::string, int> attempts;
  // 0, 10, ...: poison (dead at once); multiples of 3: fail once; multiples of 7: always fail
  // (dead after 3 deliveries); the rest succeed.
  auto handler = [&](const Delivery& d) -> HandlerResult {
    int now = ++running;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // hold the slot a little
    --running;
    std::lock_guard l(mu);
    const int n = ++attempts[d.payload];
    const int i = std::stoi(d.payload);
    if (i % 10 == 0) return HandlerResult::Dead("poison " + d.payload);
    if (i % 3 == 0 && n == 1) return HandlerResult::Retry("flaky");
    if (i % 7 == 0) throw std::runtime_error("always fails");
    return {};
  };
  // Stops the consumer once every message is acked or dead (a condition, not a timer).
  std::thread stopper([&] {
    for (;;) {
      auto s = queue_.broker().StatsOf("work")->subscriptions;
      for (const auto& sub : s) {
        if (sub.name == "w" && sub.acked == 46 && sub.dead == 14) return (*c)->Stop();
      }
      std::this_thread::yield();
    }
  });
  Status st = (*c)->Run(handler);
  stopper.join();
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 2);
  EXPECT_EQ(attempts["3"], 2);
  EXPECT_EQ(attempts["7"], 3);
  EXPECT_EQ(attempts["21"], 3);
  EXPECT_EQ(attempts["10"], 1);
  EXPECT_EQ(attempts["11"], 1);
  auto dead = *queue_.broker().ListDead("work", "w", 100);
  ASSERT_EQ(dead.size(), 14u);
  std::set<std::string> errors;
  for (const auto& d : dead) {
    for (const auto& [k, v] : d.headers) {
      if (k == "x-dead-last-error") errors.insert(v);
    }
  }
  EXPECT_TRUE(errors.count("poison 0"));
  EXPECT_TRUE(errors.count("always fails"));
}

}  // namespace
}  // namespace pier::queue
