// CLIENT TRACKING on the in-process harness (fake clock): a tracking client is told of writes,
// expiry and eviction of the keys it read, the table's bound invalidates what it forgets, and on
// a live two-thread server invalidations cross threads (run under TSan). The replies and errors
// are compared with redis-server's in tests/integration/test_cache_tracking.py.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "cache/server/harness_test.h"
#include "cache/server/live_server_test.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;

std::string Invalidate(const std::string& key) {
  return ">2\r\n$10\r\ninvalidate\r\n*1\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
}

class TrackingTest : public Harness {
 protected:
  TrackingTest() : other_(server_.NewClient()) {
    Run({"HELLO", "3"});
    EXPECT_EQ(Run({"CLIENT", "TRACKING", "on"}), "+OK\r\n");
  }
  ~TrackingTest() override { server_.ReleaseClient(other_.get()); }
  std::string As(std::vector<std::string> args) { return RunAs(*other_, std::move(args)); }

  std::unique_ptr<server::ClientState> other_;
};

TEST_F(TrackingTest, WritesExpiryAndEvictionInvalidateReadKeysOnce) {
  As({"SET", "a", "1", "PX", "100"});
  As({"SET", "b", "1"});
  Run({"MGET", "a", "b", "c"});
  As({"APPEND", "b", "2"});
  As({"APPEND", "b", "3"});  // told once: b is forgotten until read again
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n" + Invalidate("b"));
  clock_.Advance(101ms);
  server_.Cron();  // active expiry of a
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n" + Invalidate("a"));
  const std::string value(1000, 'x');
  As({"SET", "old", value});
  Run({"GET", "old"});
  As({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  As({"CONFIG", "SET", "maxmemory", "100kb"});
  for (int i = 0; i < 300; ++i) As({"SET", "fill" + std::to_string(i), value});
  EXPECT_EQ(As({"EXISTS", "old"}), ":0\r\n");  // evicted (the least recently used)
  EXPECT_NE(Run({"PING"}).find(Invalidate("old")), std::string::npos);
}

TEST_F(TrackingTest, KeysAfterANumkeysArgumentAreTrackedToo) {
  As({"SADD", "s1", "a"});
  As({"SADD", "s2", "a"});
  EXPECT_EQ(Run({"SINTERCARD", "2", "s1", "s2"}), ":1\r\n");
  As({"SREM", "s2", "a"});
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n" + Invalidate("s2"));
}

TEST_F(TrackingTest, AScriptsReadsAreTrackedForItsCaller) {
  Run({"EVAL", "return redis.call('get', KEYS[1])", "1", "sk"});
  As({"SET", "sk", "1"});
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n" + Invalidate("sk"));
}

TEST_F(TrackingTest, TheTableBoundInvalidatesWhatItForgets) {
  As({"CONFIG", "SET", "tracking-table-max-keys", "2"});
  Run({"GET", "x"});
  Run({"GET", "y"});
  const std::string out = Run({"GET", "z"});  // a third key: one of x, y is invalidated
  EXPECT_TRUE(out.find(Invalidate("x")) != std::string::npos ||
              out.find(Invalidate("y")) != std::string::npos)
      << out;
  EXPECT_EQ(server_.resp().tracking().remembered_keys(), 2u);
}

TEST_F(TrackingTest, OffAndResetStopInvalidations) {
  Run({"GET", "k"});
  EXPECT_EQ(Run({"CLIENT", "TRACKING", "off"}), "+OK\r\n");
  As({"SET", "k", "v"});
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  Run({"CLIENT", "TRACKING", "on"});
  Run({"GET", "k"});
  EXPECT_EQ(Run({"RESET"}), "+RESET\r\n");
  As({"SET", "k", "w"});
  EXPECT_EQ(Run({"CLIENT", "GETREDIR"}), ":-1\r\n");
}

class TrackingLoadTest : public LiveServerTest {
 protected:
  TrackingLoadTest() : LiveServerTest(2) {}
};

// A tracking reader on one thread and writers on the other: every write after a read reaches
// the reader as an invalidation, and none arrives for a key it did not read.
TEST_F(TrackingLoadTest, InvalidationsCrossThreads) {
  auto reader = Connect();
  ASSERT_TRUE(reader->Run({{"HELLO", "3"}, {"CLIENT", "TRACKING", "on"}}, 10s).ok());
  constexpr int kKeys = 200;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back("t" + std::to_string(i));
  std::vector<std::vector<std::string_view>> reads, writes;
  for (const std::string& k : keys) {
    reads.push_back({"GET", k});
    writes.push_back({"SET", k, "v"});
  }
  writes.push_back({"SET", "unread", "v"});
  ASSERT_TRUE(reader->Run(reads, 10s).ok());
  std::thread writer([&] {
    auto w = Connect();
    ASSERT_TRUE(w->Run(writes, 10s).ok());
  });
  writer.join();
  std::set<std::string> told;
  while (told.size() < kKeys) {
    auto push = reader->Read(1, 10s);
    ASSERT_TRUE(push.ok()) << push.status().message();
    const auto& v = push->at(0);
    ASSERT_EQ(v.elements.size(), 2u);
    EXPECT_EQ(v.elements[0].str, "invalidate");
    for (const auto& k : v.elements[1].elements) told.insert(k.str);
  }
  EXPECT_EQ(told.count("unread"), 0u);
}

}  // namespace
}  // namespace pier::cache
