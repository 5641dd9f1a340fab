// MULTI/EXEC/WATCH: Redis's queuing and abort rules on the in-process harness (a fake clock
// expires watched keys), and atomicity over real connections on two I/O threads (run under
// TSan): transfers between keys on different shards are never seen half done, and WATCH-based
// increments lose no update.
#include <gtest/gtest.h>

#include <thread>

#include "cache/server/harness_test.h"
#include "cache/server/live_server_test.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;

TEST_F(Harness, MultiQueuesAndExecRunsInOrder) {
  EXPECT_EQ(Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run({"MULTI"}), "-ERR MULTI calls can not be nested\r\n");
  EXPECT_EQ(Run({"SET", "k", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"INCR", "k"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"LPUSH", "k", "x"}), "+QUEUED\r\n");  // fails at EXEC, not when queued
  EXPECT_EQ(Run({"EXEC"}),
            "*3\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of "
            "value\r\n");
  EXPECT_EQ(Run({"EXEC"}), "-ERR EXEC without MULTI\r\n");
  EXPECT_EQ(Run({"DISCARD"}), "-ERR DISCARD without MULTI\r\n");
  EXPECT_EQ(Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run({"EXEC"}), "*0\r\n");
}

TEST_F(Harness, AQueuingErrorAbortsTheTransaction) {
  Run({"MULTI"});
  EXPECT_EQ(Run({"SET", "k", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(Run({"NOSUCH"}), "-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
  EXPECT_EQ(Run({"EXEC"}), "-EXECABORT Transaction discarded because of previous errors.\r\n");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0\r\n");
  Run({"MULTI"});
  Run({"SET", "k", "1"});
  EXPECT_EQ(Run({"DISCARD"}), "+OK\r\n");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0\r\n");
}

TEST_F(Harness, BlockingCommandsInExecAnswerAsTimedOut) {
  Run({"MULTI"});
  Run({"BLPOP", "nolist", "0"});
  Run({"BLMOVE", "nolist", "dst", "LEFT", "RIGHT", "0"});
  Run({"RPUSH", "l", "a"});
  Run({"BLPOP", "l", "0"});
  EXPECT_EQ(Run({"EXEC"}), "*4\r\n*-1\r\n$-1\r\n:1\r\n*2\r\n$1\r\nl\r\n$1\r\na\r\n");
}

TEST_F(Harness, WatchedKeyWrittenByAnotherClientFailsExec) {
  auto other = server_.NewClient();
  Run({"SET", "k", "1"});
  EXPECT_EQ(Run({"WATCH", "k", "absent"}), "+OK\r\n");
  RunAs(*other, {"SET", "k", "2"});
  Run({"MULTI"});
  EXPECT_EQ(Run({"WATCH", "k"}), "-ERR WATCH inside MULTI is not allowed\r\n");
  Run({"SET", "k", "3"});
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(Run({"GET", "k"}), "$1\r\n2\r\n");
  // EXEC forgot the watch: the next transaction runs.
  RunAs(*other, {"SET", "k", "4"});
  Run({"MULTI"});
  Run({"GET", "k"});
  EXPECT_EQ(Run({"EXEC"}), "*1\r\n$1\r\n4\r\n");
  // Creating a watched key that was absent counts too; reading it does not.
  Run({"WATCH", "absent"});
  RunAs(*other, {"GET", "absent"});
  Run({"MULTI"});
  Run({"PING"});
  EXPECT_EQ(Run({"EXEC"}), "*1\r\n+PONG\r\n");
  Run({"WATCH", "absent"});
  RunAs(*other, {"RPUSH", "absent", "x"});
  Run({"MULTI"});
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
  // UNWATCH, and a client gone, stop watching.
  Run({"WATCH", "k"});
  EXPECT_EQ(Run({"UNWATCH"}), "+OK\r\n");
  RunAs(*other, {"DEL", "k"});
  Run({"MULTI"});
  EXPECT_EQ(Run({"EXEC"}), "*0\r\n");
  RunAs(*other, {"WATCH", "k"});
  server_.ReleaseClient(other.get());
  other.reset();
  Run({"SET", "k", "after"});  // touches no freed watch
  EXPECT_EQ(Run({"GET", "k"}), "$5\r\nafter\r\n");
}

TEST_F(Harness, WatchedKeyThatExpiresFailsExec) {
  Run({"SET", "k", "v", "PX", "100"});
  Run({"WATCH", "k"});
  clock_.Advance(200ms);  // expired, but nothing has deleted it yet
  Run({"MULTI"});
  Run({"PING"});
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
  // A key already expired when watched changes nothing later (as Redis 7.0).
  Run({"SET", "k", "v", "PX", "100"});
  clock_.Advance(200ms);
  Run({"WATCH", "k"});
  Run({"MULTI"});
  Run({"PING"});
  EXPECT_EQ(Run({"EXEC"}), "*1\r\n+PONG\r\n");
  // FLUSHALL touches the watched keys that exist.
  Run({"SET", "k", "v"});
  Run({"WATCH", "k"});
  auto other = server_.NewClient();
  RunAs(*other, {"FLUSHALL"});
  Run({"MULTI"});
  EXPECT_EQ(Run({"EXEC"}), "*-1\r\n");
  server_.ReleaseClient(other.get());
}

TEST_F(Harness, ResetEndsTheTransactionAndTheWatch) {
  Run({"WATCH", "k"});
  Run({"MULTI"});
  Run({"SET", "k", "1"});
  EXPECT_EQ(Run({"RESET"}), "+RESET\r\n");
  EXPECT_EQ(Run({"EXEC"}), "-ERR EXEC without MULTI\r\n");
  EXPECT_EQ(Run({"EXISTS", "k"}), ":0\r\n");
}

class TransactionLoadTest : public LiveServerTest {
 protected:
  TransactionLoadTest() : LiveServerTest(2) {}
  // Two key names on different shards, whatever the shard count (a power of two, indexed by
  // the hash's bits from 48 up): their lowest such bit differs.
  static std::pair<std::string, std::string> KeysOnTwoShards() {
    const std::string a = "acct:a";
    const auto bit = [](const std::string& k) { return (server::KeyRef(k).hash >> 48) & 1; };
    for (int i = 0;; ++i) {
      std::string b = "acct:b" + std::to_string(i);
      if (bit(a) != bit(b)) return {a, b};
    }
  }
  // first, `first_op`, kPad commands on other keys, `last_op`, EXEC: a transaction long enough
  // that one not run as a unit would be seen half done.
  static constexpr size_t kPad = 30;
  using Cmd = std::vector<std::string_view>;
  static std::vector<Cmd> Padded(Cmd first, Cmd first_op, Cmd last_op) {
    std::vector<Cmd> cmds = {first, first_op};
    for (size_t i = 0; i < kPad; ++i) cmds.push_back({"INCR", "pad"});
    cmds.push_back(last_op);
    cmds.push_back({"EXEC"});
    return cmds;
  }
};

TEST_F(TransactionLoadTest, ExecIsAtomicAcrossShardsAndWatchLosesNoUpdate) {
  const auto [a, b] = KeysOnTwoShards();
  constexpr int kTransfers = 300, kWatchIncrements = 100;
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, a = a, b = b] {
      auto c = Connect();
      for (int i = 0; i < kTransfers; ++i) {
        auto r = c->Run(Padded({"MULTI"}, {"DECRBY", a, "1"}, {"INCRBY", b, "1"}), 10s);
        ASSERT_TRUE(r.ok()) << r.status().message();
        ASSERT_EQ(r->back().elements.size(), kPad + 2);
      }
      for (int i = 0; i < kWatchIncrements;) {  // optimistic increments: retry when beaten
        ASSERT_TRUE(c->Run({{"WATCH", "w"}}, 10s).ok());
        auto got = c->Run({{"GET", "w"}}, 10s);
        ASSERT_TRUE(got.ok());
        const int v = got->at(0).is_null() ? 0 : std::stoi(got->at(0).str);
        auto r = c->Run({{"MULTI"}, {"SET", "w", std::to_string(v + 1)}, {"EXEC"}}, 10s);
        ASSERT_TRUE(r.ok());
        if (!r->at(2).is_null()) ++i;
      }
    });
  }
  std::thread reader([&, a = a, b = b] {
    auto c = Connect();
    while (!done) {
      auto r = c->Run(Padded({"MULTI"}, {"GET", a}, {"GET", b}), 10s);
      ASSERT_TRUE(r.ok());
      const auto& got = r->back().elements;
      ASSERT_EQ(got.size(), kPad + 2);
      const int x = got.front().is_null() ? 0 : std::stoi(got.front().str);
      const int y = got.back().is_null() ? 0 : std::stoi(got.back().str);
      if (x + y != 0) ++torn;
      ++reads;
    }
  });
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  auto c = Connect();
  auto r = c->Run({{"GET", a}, {"GET", b}, {"GET", "w"}}, 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at(0).str, std::to_string(-2 * kTransfers));
  EXPECT_EQ(r->at(1).str, std::to_string(2 * kTransfers));
  EXPECT_EQ(r->at(2).str, std::to_string(2 * kWatchIncrements));
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace pier::cache
