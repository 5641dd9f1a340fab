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
      {"aincr", "1"},         {"bincr", "1"},     {"alater"},
      {"config", "get", "*"}, {"client", "list"}, {"info"}};
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

}  // namespace
}  // namespace pier::net
