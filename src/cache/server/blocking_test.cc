// Clients blocked on one key from several connections on two I/O threads, fed by pushers on
// other connections: every element pushed reaches exactly one waiter (run under TSan).
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "cache/server/live_server_test.h"

namespace pier::cache {
namespace {

using namespace std::chrono_literals;

class BlockingTest : public LiveServerTest {
 protected:
  BlockingTest() : LiveServerTest(2) {}
};

TEST_F(BlockingTest, EveryPushedElementReachesExactlyOneWaiter) {
  constexpr int kWaiters = 6, kPushers = 3, kPerPusher = 200;
  std::mutex mu;
  std::multiset<std::string> popped;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWaiters; ++w) {
    threads.emplace_back([&, w] {
      auto c = Connect();
      const char* cmd = w % 2 ? "BLPOP" : "BRPOP";
      for (;;) {
        auto r = c->Run({{cmd, "q", "other", "0"}}, 60s);
        ASSERT_TRUE(r.ok()) << r.status().message();
        const net::RespValue& v = r->at(0);
        ASSERT_EQ(v.elements.size(), 2u) << v.str;
        if (v.elements[1].str == "stop") return;
        std::lock_guard lock(mu);
        popped.insert(v.elements[1].str);
      }
    });
  }
  for (int p = 0; p < kPushers; ++p) {
    threads.emplace_back([&, p] {
      auto c = Connect();
      for (int i = 0; i < kPerPusher; ++i) {
        const std::string v = std::to_string(p) + ":" + std::to_string(i);
        auto r = c->Run({{i % 3 ? "RPUSH" : "LPUSH", "q", v}}, 10s);
        ASSERT_TRUE(r.ok());
      }
    });
  }
  for (int p = 0; p < kPushers; ++p) threads[kWaiters + p].join();
  // Everything pushed is either popped or still in the list; then one stop per waiter.
  auto c = Connect();
  for (int w = 0; w < kWaiters; ++w) ASSERT_TRUE(c->Run({{"RPUSH", "q", "stop"}}, 10s).ok());
  for (int w = 0; w < kWaiters; ++w) threads[w].join();
  auto rest = c->Run({{"LRANGE", "q", "0", "-1"}}, 10s);
  ASSERT_TRUE(rest.ok());
  std::lock_guard lock(mu);
  for (const auto& e : rest->at(0).elements) popped.insert(e.str);
  ASSERT_EQ(popped.size(), size_t{kPushers * kPerPusher});
  for (int p = 0; p < kPushers; ++p) {
    for (int i = 0; i < kPerPusher; ++i) {
      EXPECT_EQ(popped.count(std::to_string(p) + ":" + std::to_string(i)), 1u);
    }
  }
  auto info = c->Run({{"INFO", "clients"}}, 10s);
  ASSERT_TRUE(info.ok());
  EXPECT_NE(info->at(0).str.find("blocked_clients:0"), std::string::npos);
}

}  // namespace
}  // namespace pier::cache
