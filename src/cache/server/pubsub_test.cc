// Pub/sub on the RESP server (net::PubSub): Redis's replies on the in-process harness, and
// delivery across connections on two I/O threads (run under TSan): every subscriber, by channel
// or by pattern, gets every message once, in each publisher's order.
#include <gtest/gtest.h>

#include <thread>

#include "cache/server/harness_test.h"
#include "cache/server/live_server_test.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;

TEST_F(Harness, SubscriberModeAndMessagesToOtherClients) {
  auto other = server_.NewClient();
  EXPECT_EQ(Run({"SUBSCRIBE", "news"}), "*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
  EXPECT_EQ(Run({"PSUBSCRIBE", "n*"}), "*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n");
  EXPECT_EQ(Run({"GET", "k"}),
            "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context\r\n");
  EXPECT_EQ(Run({"PING"}), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
  EXPECT_EQ(RunAs(*other, {"PUBLISH", "news", "hi"}), ":2\r\n");
  EXPECT_EQ(RunAs(*other, {"PUBSUB", "NUMSUB", "news", "none"}),
            "*4\r\n$4\r\nnews\r\n:1\r\n$4\r\nnone\r\n:0\r\n");
  EXPECT_EQ(RunAs(*other, {"PUBSUB", "NUMPAT"}), ":1\r\n");
  // The harness hands a client its messages after its next command.
  EXPECT_EQ(Run({"UNSUBSCRIBE"}),
            "*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:1\r\n"
            "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
            "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
  EXPECT_EQ(Run({"PUNSUBSCRIBE"}), "*3\r\n$12\r\npunsubscribe\r\n$2\r\nn*\r\n:0\r\n");
  EXPECT_EQ(Run({"GET", "k"}), "$-1\r\n");  // out of subscriber mode
  EXPECT_EQ(RunAs(*other, {"PUBLISH", "news", "hi"}), ":0\r\n");
  server_.ReleaseClient(other.get());
}

TEST_F(Harness, Resp3PushesMixWithRepliesAndOwnMessagesComeFirst) {
  Run({"HELLO", "3"});
  EXPECT_EQ(Run({"SUBSCRIBE", "c"}), ">3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n");
  EXPECT_EQ(Run({"SET", "k", "v"}), "+OK\r\n");  // RESP3 has no subscriber mode
  EXPECT_EQ(Run({"PUBLISH", "c", "m"}), ">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n:1\r\n");
  EXPECT_EQ(Run({"SSUBSCRIBE", "s"}), ">3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n");
  EXPECT_EQ(Run({"SPUBLISH", "s", "x"}), ">3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\nx\r\n:1\r\n");
  EXPECT_EQ(Run({"PUBSUB", "SHARDCHANNELS"}), "*1\r\n$1\r\ns\r\n");
  EXPECT_EQ(Run({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(Run({"PUBSUB", "CHANNELS"}), "*0\r\n");
}

TEST_F(Harness, OutputBufferLimitIsConfigurable) {
  EXPECT_EQ(Run({"CONFIG", "GET", "client-output-buffer-limit"}),
            "*2\r\n$26\r\nclient-output-buffer-limit\r\n$67\r\nnormal 0 0 0 slave 268435456 "
            "67108864 60 pubsub 33554432 8388608 60\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 10"}), "+OK\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "client-output-buffer-limit", "normal 1 1 1"}),
            "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
            "only the pubsub class's limits can be changed in pier\r\n");
  // A subscriber over the hard limit is dropped; one over the soft limit for its seconds too.
  auto sub = server_.NewClient();
  RunAs(*sub, {"SUBSCRIBE", "c"});
  const std::string big(300 * 1024, 'x');
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Run({"PUBLISH", "c", big}), ":1\r\n");
  clock_.Advance(11s);
  EXPECT_EQ(Run({"PUBLISH", "c", big}), ":1\r\n");  // over 512kb since 11 s: dropped
  EXPECT_TRUE(sub->pubsub->killed());
  server_.ReleaseClient(sub.get());
  EXPECT_EQ(Run({"PUBSUB", "NUMSUB", "c"}), "*2\r\n$1\r\nc\r\n:0\r\n");
}

class PubSubLoadTest : public LiveServerTest {
 protected:
  PubSubLoadTest() : LiveServerTest(2) {}
};

TEST_F(PubSubLoadTest, EverySubscriberGetsEveryMessageInPublisherOrder) {
  constexpr int kPublishers = 2, kPerPublisher = 300;
  std::vector<std::unique_ptr<net::RespConnection>> subs;
  for (const char* cmd : {"SUBSCRIBE", "SUBSCRIBE", "PSUBSCRIBE"}) {
    auto c = Connect();
    auto r = c->Run({{cmd, std::string_view(cmd)[0] == 'P' ? "jobs.*" : "jobs.new"}}, 10s);
    ASSERT_TRUE(r.ok());
    subs.push_back(std::move(c));
  }
  std::vector<std::thread> threads;
  for (int p = 0; p < kPublishers; ++p) {
    threads.emplace_back([&, p] {
      auto c = Connect();
      for (int i = 0; i < kPerPublisher; ++i) {
        const std::string m = std::to_string(p) + ":" + std::to_string(i);
        auto r = c->Run({{"PUBLISH", "jobs.new", m}}, 10s);
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(r->at(0).integer, 3);
      }
    });
  }
  for (auto& sub : subs) {
    threads.emplace_back([&sub] {
      auto got = sub->Read(kPublishers * kPerPublisher, 30s);
      ASSERT_TRUE(got.ok()) << got.status().message();
      std::vector<int> next(kPublishers, 0);
      for (const auto& m : *got) {
        const std::string& body = m.elements.back().str;
        const int p = std::stoi(body.substr(0, body.find(':')));
        ASSERT_EQ(body, std::to_string(p) + ":" + std::to_string(next[p]));
        ++next[p];
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace
}  // namespace pier::cache
