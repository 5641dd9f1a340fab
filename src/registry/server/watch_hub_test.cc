#include "registry/server/watch_hub.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace pier::registry {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs Wait() on `io` and records when it returned.
struct Watcher {
  bool returned = false;
  asio::awaitable<void> Run(WatchHub& hub, std::string topic, std::function<uint64_t()> current,
                            uint64_t seen, std::chrono::steady_clock::duration wait) {
    co_await hub.Wait(topic, current, seen, wait);
    returned = true;
  }
};

TEST(WatchHubTest, WakesOnlyForItsTopic) {
  asio::io_context io;
  WatchHub hub;
  uint64_t web = 5;
  Watcher w;
  asio::co_spawn(io,
                 w.Run(
                     hub, "service:web", [&] { return web; }, 5, 1h),
                 asio::detached);
  io.poll();
  EXPECT_FALSE(w.returned);
  EXPECT_EQ(hub.waiting(), 1u);

  hub.Notify(Change{.index = 6, .services = {"db"}});
  io.poll();
  EXPECT_FALSE(w.returned);  // another service changed
  web = 7;
  hub.Notify(Change{.index = 7, .services = {"web"}});
  io.poll();
  EXPECT_TRUE(w.returned);
  EXPECT_EQ(hub.waiting(), 0u);
}

TEST(WatchHubTest, AWakeWithoutANewIndexWaitsAgain) {
  asio::io_context io;
  WatchHub hub;
  uint64_t index = 5;
  Watcher w;
  asio::co_spawn(io,
                 w.Run(
                     hub, "catalog", [&] { return index; }, 5, 1h),
                 asio::detached);
  io.poll();
  hub.Notify(Change{.index = 6, .services = {"x"}, .catalog = true});  // index not moved
  io.poll();
  EXPECT_FALSE(w.returned);
  EXPECT_EQ(hub.waiting(), 1u);
  index = 6;
  hub.Notify(Change{.index = 6, .services = {"x"}, .catalog = true});
  io.poll();
  EXPECT_TRUE(w.returned);
}

TEST(WatchHubTest, ReturnsAtOnceWhenAlreadyNewerAndOnClose) {
  asio::io_context io;
  WatchHub hub;
  Watcher newer, blocked;
  asio::co_spawn(io,
                 newer.Run(
                     hub, "any", [] { return uint64_t{9}; }, 5, 1h),
                 asio::detached);
  asio::co_spawn(io,
                 blocked.Run(
                     hub, "any", [] { return uint64_t{5}; }, 5, 1h),
                 asio::detached);
  io.poll();
  EXPECT_TRUE(newer.returned);
  EXPECT_FALSE(blocked.returned);
  hub.Close();
  io.poll();
  EXPECT_TRUE(blocked.returned);
}

TEST(WatchHubTest, TheWaitEnds) {
  asio::io_context io;
  WatchHub hub;
  Watcher w;
  asio::co_spawn(io,
                 w.Run(
                     hub, "any", [] { return uint64_t{5}; }, 5, 0ms),
                 asio::detached);
  io.run_for(1s);  // the wait is zero: returns on the first timer completion
  EXPECT_TRUE(w.returned);
  EXPECT_EQ(hub.waiting(), 0u);
}

}  // namespace
}  // namespace pier::registry
