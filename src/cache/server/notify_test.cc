// Keyspace notifications on the in-process harness (fake clock): the class string as Redis reads
// and prints it, expiry (lazy and active), eviction and key-miss events when they happen, and a
// command's events from inside EXEC and scripts. The per-command events are compared with
// redis-server's in tests/integration/test_cache_notifications.py.
#include "cache/server/notify.h"

#include <gtest/gtest.h>

#include "cache/server/harness_test.h"
#include "pier/net/resp_reply.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;
using Events = std::vector<std::pair<std::string, std::string>>;

class NotifyTest : public Harness {
 protected:
  NotifyTest() : other_(server_.NewClient()) {
    EXPECT_EQ(Run({"PSUBSCRIBE", "__key*__:*"}),
              "*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n");
  }
  ~NotifyTest() override { server_.ReleaseClient(other_.get()); }

  std::string As(std::vector<std::string> args) { return RunAs(*other_, std::move(args)); }

  // The subscriber's messages so far (the harness hands them over after its next command).
  Events Take() {
    const std::string out = Run({"PING"});
    Events events;
    net::RespReplyParser parser;
    size_t pos = 0;
    while (pos < out.size()) {
      net::RespValue v;
      EXPECT_EQ(parser.Parse(std::string_view(out).substr(pos), &v),
                net::RespReplyParser::Result::kComplete);
      pos += parser.consumed();
      if (v.elements.size() == 4 && v.elements[0].str == "pmessage") {
        events.emplace_back(v.elements[2].str, v.elements[3].str);
      }
    }
    return events;
  }

  std::unique_ptr<server::ClientState> other_;
};

TEST(KeyspaceEventsConfig, ParsesAndPrintsAsRedis) {
  using server::FormatKeyspaceEvents;
  using server::ParseKeyspaceEvents;
  EXPECT_EQ(FormatKeyspaceEvents(*ParseKeyspaceEvents("KEA")), "AKE");
  EXPECT_EQ(FormatKeyspaceEvents(*ParseKeyspaceEvents("Kxgn")), "gxnK");
  EXPECT_EQ(FormatKeyspaceEvents(*ParseKeyspaceEvents("An")), "A");  // n is not shown after A
  EXPECT_EQ(FormatKeyspaceEvents(*ParseKeyspaceEvents("mE$")), "$Em");
  EXPECT_EQ(FormatKeyspaceEvents(*ParseKeyspaceEvents("")), "");
  EXPECT_FALSE(ParseKeyspaceEvents("KEQ"));
}

TEST_F(NotifyTest, ConfigSetGetAndErrors) {
  EXPECT_EQ(As({"CONFIG", "SET", "notify-keyspace-events", "Q"}),
            "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - "
            "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n");
  EXPECT_EQ(As({"CONFIG", "SET", "notify-keyspace-events", "KEA"}), "+OK\r\n");
  EXPECT_EQ(As({"CONFIG", "GET", "notify-keyspace-events"}),
            "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n");
}

TEST_F(NotifyTest, NothingIsPublishedWhenOffOrWithoutKOrE) {
  As({"SET", "a", "1"});
  As({"CONFIG", "SET", "notify-keyspace-events", "A"});  // classes, but no channel kind
  As({"SET", "a", "2"});
  EXPECT_TRUE(Take().empty());
}

TEST_F(NotifyTest, ExpiredWhenLazilyAndActivelyRemoved) {
  As({"CONFIG", "SET", "notify-keyspace-events", "Ex"});
  As({"SET", "lazy", "v", "PX", "100"});
  As({"SET", "active", "v", "PX", "100"});
  EXPECT_TRUE(Take().empty());  // only x: the SETs publish nothing
  clock_.Advance(101ms);
  EXPECT_EQ(As({"GET", "lazy"}), "$-1\r\n");
  EXPECT_EQ(Take(), (Events{{"__keyevent@0__:expired", "lazy"}}));
  server_.Cron();
  EXPECT_EQ(Take(), (Events{{"__keyevent@0__:expired", "active"}}));
}

TEST_F(NotifyTest, EvictedAndKeyMiss) {
  As({"CONFIG", "SET", "notify-keyspace-events", "Kem"});
  EXPECT_EQ(As({"GET", "absent"}), "$-1\r\n");
  EXPECT_EQ(Take(), (Events{{"__keyspace@0__:absent", "keymiss"}}));
  As({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  As({"CONFIG", "SET", "maxmemory", "200kb"});
  const std::string value(1000, 'x');
  for (int i = 0; i < 1000; ++i) As({"SET", "k" + std::to_string(i), value});
  const Events events = Take();
  ASSERT_FALSE(events.empty());
  for (const auto& [channel, event] : events) {
    EXPECT_EQ(channel.substr(0, 16), "__keyspace@0__:k");
    EXPECT_EQ(event, "evicted");
  }
}

TEST_F(NotifyTest, CommandsInsideExecAndScriptsPublishTheirOwnEvents) {
  As({"CONFIG", "SET", "notify-keyspace-events", "E$lg"});
  As({"MULTI"});
  As({"SET", "s", "1", "EX", "100"});
  As({"RPUSH", "l", "a"});
  As({"LPOP", "l"});
  EXPECT_TRUE(Take().empty());  // queued, not run
  As({"EXEC"});
  EXPECT_EQ(Take(), (Events{{"__keyevent@0__:set", "s"},
                            {"__keyevent@0__:expire", "s"},
                            {"__keyevent@0__:rpush", "l"},
                            {"__keyevent@0__:lpop", "l"},
                            {"__keyevent@0__:del", "l"}}));
  As({"EVAL", "redis.call('INCR', KEYS[1]); return redis.call('DEL', KEYS[1])", "1", "n"});
  EXPECT_EQ(Take(), (Events{{"__keyevent@0__:incrby", "n"}, {"__keyevent@0__:del", "n"}}));
}

}  // namespace
}  // namespace pier::cache
