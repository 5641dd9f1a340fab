#include "queue/server/command.h"

#include <gtest/gtest.h>

namespace pier::queue {
namespace {

Result<QueueCommand> Parse(std::vector<std::string_view> args) { return ParseQueueCommand(args); }

TEST(QueueCommandTest, PublishWithEveryOption) {
  auto c = Parse({"qpublish", "jobs", "body", "PRIORITY", "7", "delay", "250", "DEDUP", "k1",
                  "HEADER", "a", "1", "HEADER", "b", "2"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->publish.size(), 1u);
  const auto& r = c->publish[0];
  EXPECT_EQ(r.topic, "jobs");
  EXPECT_EQ(r.payload, "body");
  EXPECT_EQ(r.priority, 7);
  EXPECT_EQ(r.delay_ms, 250);
  EXPECT_EQ(r.dedup_id, "k1");
  EXPECT_EQ(r.headers, (Headers{{"a", "1"}, {"b", "2"}}));
}

TEST(QueueCommandTest, ConsumeNackExtendAndAdmin) {
  auto c = Parse({"QCONSUME", "jobs", "SUB", "w", "COUNT", "5", "BLOCK", "0", "VISIBILITY", "9"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sub, "w");
  EXPECT_EQ(c->count, 5u);
  EXPECT_EQ(c->block_ms, 0);
  EXPECT_EQ(c->visibility_ms, 9);
  c = Parse({"QNACK", "jobs", "w", "4", "5", "DELAY", "100", "ERROR", "timeout"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ids, (std::vector<uint64_t>{4, 5}));
  EXPECT_EQ(c->outcome, NackOutcome::kRetryAfter);
  EXPECT_EQ(c->delay_ms, 100);
  EXPECT_EQ(c->error, "timeout");
  c = Parse({"QEXTEND", "jobs", "w", "5000", "1"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->visibility_ms, 5000);
  c = Parse({"QSUB", "CREATE", "jobs", "w", "MAXDELIVERIES", "3", "BACKOFF", "10", "20",
             "DEADLETTER", "graveyard"});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->sub_options.max_deliveries, 3u);
  EXPECT_EQ(c->sub_options.backoff_max_ms, 20);
  EXPECT_EQ(c->sub_options.dead_letter_topic, "graveyard");
  c = Parse({"QTOPIC", "CREATE", "t", "MAXPRIORITY", "255", "NODEFAULT"});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->default_subscription);
  EXPECT_EQ(Parse({"QDEAD", "t", "s", "GET", "3"})->kind, CommandKind::kDeadGet);
  EXPECT_EQ(Parse({"QDEAD", "t", "s", "LIST", "COUNT", "2"})->count, 2u);
}

TEST(QueueCommandTest, ErrorsNameTheCommandAndTheArgument) {
  auto msg = [](std::vector<std::string_view> a) { return Parse(a).status().message(); };
  EXPECT_EQ(msg({"QPUBLISH", "t"}), "ERR wrong number of arguments for 'qpublish' command");
  EXPECT_EQ(msg({"QPUBLISH", "t", "x", "PRIORITY", "256"}),
            "ERR QPUBLISH: PRIORITY must be an integer from 0 to 255, got '256'");
  EXPECT_EQ(msg({"QPUBLISH", "t", "x", "COLOR", "red"}), "ERR QPUBLISH: unknown option 'COLOR'");
  EXPECT_EQ(msg({"QACK", "t", "s", "abc"}),
            "ERR QACK: message id must be a positive integer, got 'abc'");
  EXPECT_EQ(msg({"QNACK", "t", "s", "DEAD"}), "ERR QNACK: at least one message id is needed");
  EXPECT_EQ(msg({"QSUB", "CREATE", "t", "s", "BACKOFF", "10", "5"}),
            "ERR QSUB: BACKOFF max must be an integer from 10 to 31536000000, got '5'");
  EXPECT_EQ(msg({"QDEAD", "t", "s", "EAT"}),
            "ERR QDEAD: unknown subcommand 'EAT' (LIST, GET, PURGE)");
  EXPECT_FALSE(IsQueueCommand("GET"));
  EXPECT_TRUE(IsQueueCommand("qconsume"));
}

}  // namespace
}  // namespace pier::queue
