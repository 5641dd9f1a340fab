#include "pier/net/resp_server.h"

#include <gtest/gtest.h>

#include "pier/base/clock.h"

namespace pier::net {
namespace {

// A service with a table, an INFO section, a CONFIG parameter and per-connection state: what
// the cache's keyspace and the queue's commands are to the server.
class Counter : public RespService {
 public:
  explicit Counter(std::string prefix) : param_(prefix + "-total") {
    commands_.push_back({.name = prefix + "incr", .arity = 2, .flags = RespCommand::kWrite});
    commands_.push_back({.name = prefix + "later", .arity = 1});
    // Takes N microseconds of the server's clock (as a command that reads it at its end).
    commands_.push_back({.name = prefix + "take", .arity = 2, .flags = RespCommand::kFast});
    commands_.push_back({.name = "ping", .arity = -1});  // the builtins' PING comes first
  }
  void ForEachCommand(const std::function<void(const RespCommand&)>& fn) const override {
    for (const auto& c : commands_) fn(c);
  }
  struct Count : Session {
    int64_t calls = 0;
    int* flushes = nullptr;
    void Flush() override { ++*flushes; }
  };
  std::shared_ptr<PendingReply> Dispatch(Call& call) override {
    if (!call.session) {
      auto s = std::make_unique<Count>();
      s->flushes = &flushes;
      call.session = std::move(s);
    }
    auto& count = static_cast<Count&>(*call.session);
    if (call.command.name.ends_with("later")) {
      auto reply = std::make_shared<PendingReply>(call.executor);
      later.push_back(reply);
      return reply;
    }
    int64_t by = 0;
    if (!ParseRespInt(call.args[1], &by)) {
      call.out.Error("ERR value is not an integer or out of range");
      return nullptr;
    }
    if (call.command.name.ends_with("take")) {
      call.now += std::chrono::microseconds(by);
      call.out.Ok();
      return nullptr;
    }
    ++count.calls;
    total += by;
    call.out.Integer(total);
    return nullptr;
  }
  bool AppendInfo(std::string_view section, std::string* out) override {
    if (section != "stats") return false;
    *out += param_ + ":" + std::to_string(total) + "\r\n";
    return true;
  }
  std::vector<RespConfigParam> ConfigParams() override {
    return {{param_, [this] { return std::to_string(total); },
             [this](std::string_view v) {
               int64_t t = 0;
               if (!ParseRespInt(v, &t)) return Status::InvalidArgument("not a number");
               total = t;
               return Status::Ok();
             }}};
  }
  void ResetStats() override { total = 0; }

  int64_t total = 0;
  int flushes = 0;
  std::vector<std::shared_ptr<PendingReply>> later;

 private:
  std::string param_;
  std::vector<RespCommand> commands_;
};

class RespServerTest : public ::testing::Test {
 protected:
  std::string Run(std::vector<std::string_view> args, RespClient* client = nullptr) {
    std::string out;
    Clock::TimePoint now = clock_.Now();
    auto pending = server_->Execute(client ? *client : *client_, args, &out, &now);
    EXPECT_EQ(pending, nullptr) << "a pending reply for " << args[0];
    return out;
  }
  void SetUp() override {
    server_ = std::make_unique<RespServer>(pool_, options_);
    server_->AddService(&a_);
    server_->AddService(&b_);
    client_ = server_->NewClient();
  }
  void TearDown() override { server_->ReleaseClient(client_.get()); }

  FakeClock clock_;
  IoPool pool_{1};
  RespServerOptions options_{.clock = &clock_};
  Counter a_{"a"};
  Counter b_{"b"};
  std::unique_ptr<RespServer> server_;
  std::unique_ptr<RespClient> client_;
};

TEST_F(RespServerTest, RoutesEachCommandToItsServiceCaseInsensitively) {
  EXPECT_EQ(Run({"AINCR", "2"}), ":2\r\n");
  EXPECT_EQ(Run({"binCR", "5"}), ":5\r\n");
  EXPECT_EQ(Run({"aincr", "1"}), ":3\r\n");
  EXPECT_EQ(a_.total, 3);
  EXPECT_EQ(b_.total, 5);
  // A name two services have goes to the first: the builtins' PING.
  EXPECT_EQ(Run({"PING"}), "+PONG\r\n");
  // Each service flushed its own session after each harness call.
  EXPECT_EQ(a_.flushes, 2);
  EXPECT_EQ(b_.flushes, 1);
}

TEST_F(RespServerTest, UnknownCommandsAndWrongArityGetRedisErrors) {
  EXPECT_EQ(Run({"nope", "x", "y"}),
            "-ERR unknown command 'nope', with args beginning with: 'x' 'y' \r\n");
  EXPECT_EQ(Run({"aincr"}), "-ERR wrong number of arguments for 'aincr' command\r\n");
  EXPECT_EQ(Run({"aincr", "x"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(a_.total, 0);
}

TEST_F(RespServerTest, EveryServiceCommandNeedsAuthWithoutExtraCode) {
  ASSERT_TRUE(server_->set_requirepass("pw").ok());
  auto stranger = server_->NewClient("stranger");
  EXPECT_FALSE(stranger->authenticated);
  const std::vector<std::vector<std::string_view>> calls = {
      {"aincr", "1"},     {"bincr", "1"}, {"alater"},         {"config", "get", "*"},
      {"client", "list"}, {"info"},       {"slowlog", "get"}, {"latency", "latest"}};
  for (const auto& args : calls) {
    EXPECT_EQ(Run(args, stranger.get()), "-NOAUTH Authentication required.\r\n") << args[0];
  }
  EXPECT_EQ(a_.total + b_.total, 0);
  EXPECT_EQ(Run({"AUTH", "wrong"}, stranger.get()),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(Run({"AUTH", "pw"}, stranger.get()), "+OK\r\n");
  EXPECT_EQ(Run({"aincr", "4"}, stranger.get()), ":4\r\n");
  server_->ReleaseClient(stranger.get());
}

TEST_F(RespServerTest, APendingReplyCompletesLater) {
  std::string out;
  Clock::TimePoint now = clock_.Now();
  auto pending = server_->Execute(*client_, {"alater"}, &out, &now);
  ASSERT_NE(pending, nullptr);
  EXPECT_EQ(out, "");
  EXPECT_FALSE(pending->ready());
  ASSERT_EQ(a_.later.size(), 1u);
  a_.later[0]->Complete("+DONE\r\n");
  EXPECT_TRUE(pending->ready());
  EXPECT_EQ(pending->reply(), "+DONE\r\n");
}

TEST_F(RespServerTest, BuiltinsSeeEveryServicesCommandsInfoAndConfig) {
  // COMMAND COUNT: the builtins' table plus a's three and b's two (b's PING is a's).
  const std::string count = Run({"COMMAND", "COUNT"});
  const size_t routed = server_->router().commands().size();
  EXPECT_EQ(count, ":" + std::to_string(routed) + "\r\n");
  EXPECT_NE(Run({"COMMAND", "INFO", "bincr"}).find("bincr"), std::string::npos);
  Run({"aincr", "7"});
  EXPECT_NE(Run({"INFO", "stats"}).find("a-total:7"), std::string::npos);
  EXPECT_EQ(Run({"INFO", "nosuch"}), "$0\r\n\r\n");
  EXPECT_EQ(Run({"CONFIG", "GET", "a-total"}), "*2\r\n$7\r\na-total\r\n$1\r\n7\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "a-total", "x"}),
            "-ERR CONFIG SET failed (possibly related to argument 'a-total') - not a "
            "number\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "a-total", "11"}), "+OK\r\n");
  EXPECT_EQ(a_.total, 11);
  EXPECT_EQ(Run({"CONFIG", "RESETSTAT"}), "+OK\r\n");
  EXPECT_EQ(a_.total, 0);
}

TEST_F(RespServerTest, ThePasswordOfAPublicListenerCannotBeRemoved) {
  RespServerOptions o = options_;
  o.host = "0.0.0.0";
  o.requirepass = "pw";
  RespServer pub(pool_, o);
  EXPECT_FALSE(pub.set_requirepass("").ok());
  EXPECT_TRUE(pub.set_requirepass("other").ok());
  o.requirepass.clear();
  RespServer open(pool_, o);
  const Status s = open.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("protected mode"), std::string::npos) << s.message();
}

TEST_F(RespServerTest, SlowCommandsOfEveryServiceGoToTheSlowLogAsRedis) {
  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "500"}), "+OK\r\n");
  EXPECT_EQ(Run({"ataKE", "499"}), "+OK\r\n");  // under the threshold
  EXPECT_EQ(Run({"SLOWLOG", "LEN"}), ":0\r\n");
  clock_.Advance(std::chrono::milliseconds(1000 - server_->UnixMsAt(clock_.Now()) % 1000));
  EXPECT_EQ(Run({"btake", "500"}), "+OK\r\n");  // 0.5 ms into a wall-clock second
  EXPECT_EQ(Run({"CLIENT", "SETNAME", "worker"}), "+OK\r\n");
  EXPECT_EQ(Run({"AUTH", "secret"}).substr(0, 4), "-ERR");  // fast, but its password is hidden
  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "0"}), "+OK\r\n");
  EXPECT_EQ(Run({"AUTH", "secret"}).substr(0, 4), "-ERR");
  const int64_t unix_s = server_->UnixMsAt(clock_.Now()) / 1000;
  const auto entries = server_->slowlog().Latest(10);
  ASSERT_EQ(entries.size(), 3u);  // newest first: AUTH, CONFIG SET (logged by itself), btake
  EXPECT_EQ(entries[0].args, (std::vector<std::string>{"AUTH", "(redacted)"}));
  EXPECT_EQ(entries[0].name, "worker");
  EXPECT_EQ(entries[0].peer, "harness");
  EXPECT_EQ(entries[1].args[0], "CONFIG");
  EXPECT_EQ(entries[2].args, (std::vector<std::string>{"btake", "500"}));
  EXPECT_EQ(entries[2].micros, 500);
  EXPECT_EQ(entries[2].unix_s, unix_s);
  EXPECT_EQ(entries[2].id, 0);
  EXPECT_EQ(entries[0].id, 2);
  EXPECT_EQ(Run({"SLOWLOG", "GET", "1"}),
            "*1\r\n*6\r\n:2\r\n:" + std::to_string(unix_s) +
                "\r\n:0\r\n*2\r\n$4\r\nAUTH\r\n$10\r\n(redacted)\r\n$7\r\nharness\r\n$"
                "6\r\nworker\r\n");
  EXPECT_EQ(Run({"SLOWLOG", "GET", "-2"}), "-ERR count should be greater than or equal to -1\r\n");
  EXPECT_EQ(Run({"SLOWLOG", "LEN", "x"}),
            "-ERR wrong number of arguments for 'slowlog|len' command\r\n");
  EXPECT_EQ(Run({"SLOWLOG", "RESET"}), "+OK\r\n");
  EXPECT_EQ(Run({"SLOWLOG", "GET"}).substr(0, 4), "*1\r\n");  // only the RESET itself
  EXPECT_EQ(Run({"CONFIG", "SET", "slowlog-log-slower-than", "-2"}),
            "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - "
            "argument must be between -1 and 9223372036854775807 inclusive\r\n");
}

TEST_F(RespServerTest, LatencyMonitorKeepsTheWorstSpikeOfEachSecond) {
  EXPECT_EQ(Run({"atake", "90000"}), "+OK\r\n");  // off by default
  EXPECT_EQ(Run({"LATENCY", "LATEST"}), "*0\r\n");
  EXPECT_EQ(Run({"CONFIG", "SET", "latency-monitor-threshold", "10"}), "+OK\r\n");
  // Start at the top of a wall-clock second: the spikes below, ending up to 20 ms on, share it.
  clock_.Advance(std::chrono::milliseconds(1000 - server_->UnixMsAt(clock_.Now()) % 1000));
  EXPECT_EQ(Run({"atake", "9999"}), "+OK\r\n");  // 9 ms: under
  EXPECT_EQ(Run({"atake", "20000"}), "+OK\r\n");
  EXPECT_EQ(Run({"atake", "15000"}), "+OK\r\n");  // the same second: the worst is kept
  const int64_t first = server_->UnixMsAt(clock_.Now()) / 1000;
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_EQ(Run({"atake", "12000"}), "+OK\r\n");
  const int64_t second = server_->UnixMsAt(clock_.Now()) / 1000;
  const std::string t1 = std::to_string(first), t2 = std::to_string(second);
  EXPECT_EQ(Run({"LATENCY", "LATEST"}),
            "*1\r\n*4\r\n$12\r\nfast-command\r\n:" + t2 + "\r\n:12\r\n:20\r\n");
  EXPECT_EQ(Run({"LATENCY", "HISTORY", "fast-command"}),
            "*2\r\n*2\r\n:" + t1 + "\r\n:20\r\n*2\r\n:" + t2 + "\r\n:12\r\n");
  EXPECT_EQ(Run({"LATENCY", "HISTORY", "command"}), "*0\r\n");
  EXPECT_EQ(Run({"LATENCY", "RESET", "command", "fast-command"}), ":1\r\n");
  EXPECT_EQ(Run({"LATENCY", "LATEST"}), "*0\r\n");
  EXPECT_EQ(Run({"LATENCY", "NOPE"}), "-ERR unknown subcommand 'NOPE'. Try LATENCY HELP.\r\n");
}

TEST(SlowLogTest, ShortensArgumentsAndKeepsTheNewestMaxLen) {
  std::vector<std::string> many(40, "x");
  many[1] = std::string(130, 'v');
  std::vector<std::string_view> args(many.begin(), many.end());
  const auto shortened = SlowLog::Shorten(args);
  ASSERT_EQ(shortened.size(), SlowLog::kMaxArgs);
  EXPECT_EQ(shortened[1], std::string(128, 'v') + "... (2 more bytes)");
  EXPECT_EQ(shortened.back(), "... (9 more arguments)");
  EXPECT_EQ(SlowLog::Shorten({"hello", "3", "SETNAME", "auth", "AUTH", "u", "p"}),
            (std::vector<std::string>{"hello", "3", "SETNAME", "auth", "AUTH", "(redacted)",
                                      "(redacted)"}));
  EXPECT_EQ(SlowLog::Shorten({"config", "set", "maxmemory", "1", "requirepass", "pw"})[5],
            "(redacted)");

  SlowLog log;
  log.set_max_len(2);
  for (int i = 0; i < 3; ++i) log.Add(i, i, {"get"}, "peer", "");
  const auto kept = log.Latest(5);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].id, 2);
  EXPECT_EQ(kept[1].id, 1);
  log.set_max_len(0);
  log.Add(3, 3, {"get"}, "peer", "");
  EXPECT_EQ(log.size(), 0u);
}

TEST(LatencyMonitorTest, KeepsTheLast160Seconds) {
  LatencyMonitor mon;
  for (int s = 0; s < 200; ++s) mon.Add("command", s, s + 1);
  const auto history = mon.History("command");
  ASSERT_EQ(history.size(), LatencyMonitor::kHistory);
  EXPECT_EQ(history.front().unix_s, 40);
  EXPECT_EQ(mon.LatestAll().at(0).max_ms, 200);
  EXPECT_EQ(mon.Reset({}), 1u);
  EXPECT_TRUE(mon.History("command").empty());
}

}  // namespace
}  // namespace pier::net
