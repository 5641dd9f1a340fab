// The queue's analyzer source (queue_perf.h): its series and rules from its own metrics.
#include "queue/server/queue_perf.h"

#include <gtest/gtest.h>

#include "pier/perf/testing.h"
#include "queue/server/queue_metric_names.h"

namespace pier::queue {
namespace {

namespace names = metric_names;

struct QueuePerfTest : perf::testing::Harness, ::testing::Test {
  QueuePerfTest() { a.AddSource(PerfSource()); }
};

TEST_F(QueuePerfTest, AGrowingBacklogAsksForConsumers) {
  auto& pub = m.GetCounter(names::kPublishedTotal, "", {{"topic", "jobs"}});
  auto& ack = m.GetCounter(names::kAckedTotal, "", {{"topic", "jobs"}});
  auto& ready = m.GetGauge(names::kReadyMessages, "", {{"topic", "jobs"}});
  a.Sample();
  for (int i = 0; i < 20; ++i) {
    pub.Inc(300);
    ack.Inc(100);
    ready.Set(200.0 * (i + 1));
    Step();
  }
  auto s = Find("queue");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].title, "add consumers: about 3.0x the ones running");
  EXPECT_NE(s[0].why.find("the backlog grows by 200.0 messages/s"), std::string::npos) << s[0].why;
  EXPECT_EQ(s[0].evidence[0].series, "queue.ready");
  EXPECT_LT(a.ComputeScore().areas.at("queue"), 50);
}

TEST_F(QueuePerfTest, AQueueThatSyncsPerMessageIsToldToBatch) {
  auto& pub = m.GetCounter(names::kPublishedTotal, "", {{"topic", "jobs"}});
  auto& ack = m.GetCounter(names::kAckedTotal, "", {{"topic", "jobs"}});
  auto& fsyncs = m.GetCounter(names::kLogFsyncsTotal, "");
  a.Sample();
  for (int i = 0; i < 10; ++i) {
    pub.Inc(1000);
    ack.Inc(1000);
    fsyncs.Inc(900);
    Step();
  }
  auto s = Find("io");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].why, "900 fsyncs/s for 1000 messages/s: 0.90 syncs per message");
  EXPECT_TRUE(Find("queue").empty());  // consumers keep up
}

TEST_F(QueuePerfTest, FullConsumeBatchesWhileTheBacklogGrowsAskForABiggerBatch) {
  auto& pub = m.GetCounter(names::kPublishedTotal, "", {{"topic", "jobs"}});
  auto& ack = m.GetCounter(names::kAckedTotal, "", {{"topic", "jobs"}});
  auto& ready = m.GetGauge(names::kReadyMessages, "", {{"topic", "jobs"}});
  auto& calls = m.GetCounter(names::kConsumeCallsTotal, "");
  auto& consumed = m.GetCounter(names::kConsumedMessagesTotal, "");
  m.GetGauge(names::kConsumeBatch, "").Set(1);
  a.Sample();
  for (int i = 0; i < 20; ++i) {
    pub.Inc(300);
    ack.Inc(200);
    calls.Inc(200);  // one message per call: every call takes a full batch of 1
    consumed.Inc(200);
    ready.Set(100.0 * (i + 1));
    Step();
  }
  perf::Suggestion batch;
  for (const auto& s : Find("queue")) {
    if (s.knob == "queue.consume_batch") batch = s;
  }
  ASSERT_EQ(batch.value, "4");
  EXPECT_EQ(batch.title, "raise the consume batch from 1 to 4 messages");
  EXPECT_EQ(batch.evidence[0].series, "queue.messages_per_consume");
  EXPECT_DOUBLE_EQ(batch.evidence[0].mean, 1);
  // Calls that come back with less than their batch: consumers are not batch-bound.
  m.GetGauge(names::kConsumeBatch, "").Set(16);
  for (int i = 0; i < 20; ++i) {
    pub.Inc(300);
    ack.Inc(200);
    calls.Inc(100);
    consumed.Inc(200);  // 2 per call, against a batch of 16
    ready.Set(2000 + 100.0 * (i + 1));
    Step();
  }
  for (const auto& s : Find("queue")) EXPECT_NE(s.knob, "queue.consume_batch") << s.title;
}

TEST_F(QueuePerfTest, TheStageWhoseTailGrewIsNamed) {
  std::vector<metrics::Histogram*> h;
  for (const char* stage : {"written", "durable", "delivered", "acked"}) {
    h.push_back(&m.GetHistogram(names::kStageSeconds, "", {{"stage", stage}}, 1e-9, 10, 36));
  }
  a.Sample();
  for (int i = 0; i < 20; ++i) {
    const uint64_t sync_ns = i < 12 ? 200'000 : 40'000'000;  // 0.2 ms, then 40 ms
    h[0]->Record(50'000, 100);
    h[1]->Record(sync_ns, 100);
    h[2]->Record(100'000, 100);
    h[3]->Record(1'000'000, 100);
    Step();
  }
  auto s = Find("queue");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].title,
            "queue latency grew in the 'durable' stage: fdatasync takes longer: the disk is "
            "slower or busier");
  EXPECT_NE(s[0].why.find("p99 durable (received to synced)"), std::string::npos) << s[0].why;
  EXPECT_EQ(s[0].evidence[0].series, "queue.durable_p99_ms");
}

}  // namespace
}  // namespace pier::queue
