// The registry server in-process, driven by pier::registry::Client over real HTTP.
#include "pier/registry/registry_server.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "pier/net/http_server.h"
#include "pier/registry/client.h"

namespace pier::registry {
namespace {

using namespace std::chrono_literals;

class RegistryServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RegistryServer>(pool_, RegistryServerOptions{.clock = &clock_});
    ASSERT_TRUE(server_->Open().ok());
    net::HttpServerOptions o;
    o.security.token = "registry-test-token";
    http_ = std::make_unique<net::HttpServer>(pool_, o);
    server_->AddRoutes(*http_);
    ASSERT_TRUE(http_->Start().ok());
    pool_.Start();
    server_->Start();
  }
  void TearDown() override {
    server_->Shutdown();
    http_->Shutdown();
    http_->CloseAll();
    pool_.Stop(false);
    pool_.Join();
  }
  ClientOptions Options() { return {.address = http_->address(), .token = "registry-test-token"}; }

  // Polls a condition another thread makes true (a heartbeat arriving over HTTP).
  template <typename Pred>
  bool Eventually(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  FakeClock clock_;
  net::IoPool pool_{2};
  std::unique_ptr<RegistryServer> server_;
  std::unique_ptr<net::HttpServer> http_;
};

ServiceDefinition Web(const std::string& id, int port) {
  ServiceDefinition d;
  d.id = id;
  d.name = "web";
  d.address = "127.0.0.1";
  d.port = port;
  d.tags = {"v1"};
  d.meta = {{"version", "1.0"}};
  return d;
}

TEST_F(RegistryServerTest, HeartbeatsKeepATtlCheckPassingAndDestructionDeregisters) {
  auto& reg = server_->registry();
  {
    Client c(Options());
    ASSERT_TRUE(c.RegisterWithHeartbeat(Web("web-1", 8001), 300ms).ok());
    auto healthy = c.Healthy("web");
    ASSERT_TRUE(healthy.ok()) << healthy.status().message();
    ASSERT_EQ(healthy->size(), 1u);
    EXPECT_EQ((*healthy)[0].port, 8001);
    EXPECT_EQ((*healthy)[0].meta.at("version"), "1.0");
    // Three times two thirds of the TTL pass on the server's clock; each time a heartbeat (every
    // ttl/3 of real time) renews the check, so it is still passing at twice its TTL.
    for (int round = 0; round < 3; ++round) {
      clock_.Advance(200ms);
      auto now = clock_.Now();
      ASSERT_TRUE(Eventually([&] { return reg.Instance("web-1")->checks[0].updated == now; }));
      reg.Tick();
      EXPECT_EQ(reg.Instance("web-1")->status, HealthStatus::kPassing) << "round " << round;
    }
  }
  EXPECT_FALSE(reg.Instance("web-1").has_value());
}

TEST_F(RegistryServerTest, WithoutHeartbeatsTheTtlExpires) {
  Client c(Options());
  ServiceDefinition d = Web("web-1", 8001);
  CheckDefinition ttl;
  ttl.type = CheckType::kTtl;
  ttl.ttl = 10s;
  d.checks.push_back(ttl);
  ASSERT_TRUE(c.Register(d).ok());
  ASSERT_TRUE(c.UpdateTtl("service:web-1", HealthStatus::kPassing, "up").ok());
  EXPECT_EQ(c.Healthy("web")->size(), 1u);
  clock_.Advance(11s);
  server_->registry().Tick();
  EXPECT_TRUE(c.Healthy("web")->empty());
  auto all = c.All("web");
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].status, HealthStatus::kCritical);
}

TEST_F(RegistryServerTest, WatchCallsBackOnEveryChangeOfItsService) {
  Client c(Options());
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<Instance>> seen;
  auto watch = c.Watch("web", {.passing_only = true}, [&](const std::vector<Instance>& now) {
    std::lock_guard l(mu);
    seen.push_back(now);
    cv.notify_all();
  });
  auto next = [&] {
    std::unique_lock l(mu);
    EXPECT_TRUE(cv.wait_for(l, 10s, [&] { return !seen.empty(); }));
    auto v = seen.empty() ? std::vector<Instance>{} : seen.front();
    if (!seen.empty()) seen.pop_front();
    return v;
  };
  EXPECT_TRUE(next().empty());  // the first answer
  ASSERT_TRUE(c.RegisterWithHeartbeat(Web("web-1", 8001), 30s).ok());
  // Registered (critical), then passing: the watch sees the instance once it passes.
  std::vector<Instance> now;
  for (int i = 0; i < 3 && now.empty(); ++i) now = next();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(now[0].id, "web-1");
  ASSERT_TRUE(c.SetMaintenance("web-1", true, "drain").ok());
  EXPECT_TRUE(next().empty());
  watch.reset();  // returns promptly although a blocking query is in flight
}

TEST_F(RegistryServerTest, ClientErrorsSayWhatAndWhere) {
  Client c(Options());
  ServiceDefinition bad;
  Status s = c.Register(bad);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("Missing service name"), std::string::npos);
  EXPECT_EQ(c.Deregister("nope").code(), StatusCode::kNotFound);
  Client down({.address = "127.0.0.1:1", .timeout = 2s});
  auto r = down.Services();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("127.0.0.1:1"), std::string::npos);
}

}  // namespace
}  // namespace pier::registry
