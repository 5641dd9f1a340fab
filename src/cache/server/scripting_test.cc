// EVAL and friends: Redis's conversions and errors on the in-process harness; atomicity of
// scripts against MULTI/EXEC and plain commands on two I/O threads (run under TSan); and
// busy-reply-threshold with SCRIPT KILL on a fake clock.
#include <gtest/gtest.h>

#include <thread>

#include "cache/server/harness_test.h"
#include "cache/server/live_server_test.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;

TEST_F(Harness, EvalConvertsRepliesBothWays) {
  EXPECT_EQ(Run({"EVAL", "return {1, 'two', {3}, nil, 5}", "0"}),
            "*3\r\n:1\r\n$3\r\ntwo\r\n*1\r\n:3\r\n");
  EXPECT_EQ(Run({"EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(Run({"EVAL", "return {redis.call('get', 'k'), redis.call('get', 'none')}", "0"}),
            "*2\r\n$1\r\nv\r\n$-1\r\n");  // a nil reply is false, which stays
  EXPECT_EQ(Run({"EVAL", "return redis.pcall('incr', 'k')", "0"}),
            "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(Run({"EVAL", "return 3.7", "0"}), ":3\r\n");
  EXPECT_EQ(Run({"EVAL", "return {ok = 'a\\r\\nb'}", "0"}), "+a  b\r\n");  // no injected line
  EXPECT_EQ(Run({"EVAL", "return cjson.encode({1, 2})", "0"}), "$5\r\n[1,2]\r\n");
  EXPECT_EQ(Run({"EVAL", "return bit.bxor(5, 1)", "0"}), ":4\r\n");
  const std::string sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";  // "return 1"
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
  EXPECT_EQ(Run({"SCRIPT", "LOAD", "return 1"}), "$40\r\n" + sha + "\r\n");
  EXPECT_EQ(Run({"EVALSHA", sha, "0"}), ":1\r\n");
  EXPECT_EQ(Run({"SCRIPT", "FLUSH"}), "+OK\r\n");
  EXPECT_EQ(Run({"SCRIPT", "EXISTS", sha}), "*1\r\n:0\r\n");
  EXPECT_EQ(Run({"SCRIPT", "KILL"}), "-NOTBUSY No scripts in execution right now.\r\n");
}

TEST_F(Harness, ScriptErrorsNameTheScriptAndLine) {
  Run({"SET", "s", "x"});
  const std::string body = "local a = 1\nreturn redis.call('lpush', 's', 'v')";
  EXPECT_EQ(Run({"EVAL", body, "0"}),
            "-WRONGTYPE Operation against a key holding the wrong kind of value script: " +
                server::Sha1Hex(body) + ", on @user_script:2.\r\n");
  EXPECT_TRUE(Run({"EVAL", "x = 1", "0"})
                  .starts_with("-ERR user_script:1: Attempt to modify a readonly table script:"));
  EXPECT_TRUE(Run({"EVAL_RO", "return redis.call('del', 's')", "0"})
                  .starts_with("-ERR Write commands are not allowed from read-only scripts. "));
  EXPECT_EQ(Run({"EVAL", "return 1", "2", "a"}),
            "-ERR Number of keys can't be greater than number of args\r\n");
}

TEST_F(Harness, ScriptsInsideMultiAndBlockedClientsAfterwards) {
  Run({"MULTI"});
  Run({"EVAL", "return redis.call('rpush', 'q', 'a')", "0"});
  Run({"EVAL", "return redis.call('blpop', 'q', 0)", "0"});  // not allowed in scripts
  Run({"LLEN", "q"});
  const std::string got = Run({"EXEC"});
  EXPECT_TRUE(got.starts_with("*3\r\n:1\r\n-ERR This Redis command is not allowed from script"))
      << got;
  EXPECT_TRUE(got.ends_with(":1\r\n")) << got;
}

// The clock is a base, so it exists before the server that reads it.
struct WithFakeClock {
  FakeClock clock_;
};

class ScriptLoadTest : protected WithFakeClock, public LiveServerTest {
 protected:
  ScriptLoadTest() : LiveServerTest(2, &clock_) {}
};

TEST_F(ScriptLoadTest, EvalMultiAndPlainIncrementsLoseNothing) {
  constexpr int kEach = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      auto c = Connect();
      for (int i = 0; i < kEach; ++i) {
        auto r = c->Run({{"EVAL",
                          "local v = redis.call('get', KEYS[1]) or 0\n"
                          "redis.call('set', KEYS[1], v + 1)\n"
                          "return redis.call('incr', KEYS[2])",
                          "2", "n", "m"},
                         {"MULTI"},
                         {"INCR", "n"},
                         {"INCR", "m"},
                         {"EXEC"},
                         {"INCR", "n"}},
                        10s);
        ASSERT_TRUE(r.ok()) << r.status().message();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto c = Connect();
  auto r = c->Run({{"MGET", "n", "m"}}, 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->at(0).elements[0].str, std::to_string(2 * kEach * 3));
  EXPECT_EQ(r->at(0).elements[1].str, std::to_string(2 * kEach * 2));
}

TEST_F(ScriptLoadTest, ALongScriptMakesOthersBusyUntilKilled) {
  // The other client first, served once: the script's connection then lands on the emptier
  // thread (a client on the script's own thread would wait for the script, as in Redis).
  auto other = Connect();
  ASSERT_TRUE(other->Run({{"PING"}}, 10s).ok());
  std::thread runner([&] {
    auto c = Connect();
    auto r = c->Run({{"EVAL", "while true do end", "0"}}, 60s);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->at(0).str.starts_with("ERR Script killed by user with SCRIPT KILL..."))
        << r->at(0).str;
  });
  std::string seen;
  for (int i = 0; i < 2000 && seen.rfind("BUSY", 0) != 0; ++i) {
    clock_.Advance(1s);  // past busy-reply-threshold (5 s) once the script is running
    auto r = other->Run({{"PING"}}, 10s);
    ASSERT_TRUE(r.ok());
    seen = r->at(0).str;
  }
  EXPECT_EQ(seen,
            "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
            "NOSAVE.");
  auto kill = other->Run({{"SCRIPT", "KILL"}}, 10s);
  ASSERT_TRUE(kill.ok());
  EXPECT_EQ(kill->at(0).str, "OK");
  runner.join();
  auto after = other->Run({{"PING"}}, 10s);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->at(0).str, "PONG");
}

}  // namespace
}  // namespace pier::cache
