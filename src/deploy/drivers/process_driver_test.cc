#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "pier/deploy/driver.h"

namespace pier::deploy {
namespace {

struct ProcessDriverTest : ::testing::Test {
  std::string dir = std::filesystem::temp_directory_path() /
                    ("pier-driver-" + std::to_string(::getpid()) + "-" +
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::atomic<int64_t> now{1000};
  std::unique_ptr<Driver> driver = MakeProcessDriver(
      {.log_dir = dir, .cgroup_name = "", .now_ms = [this] { return now.load(); }});
  ~ProcessDriverTest() override { std::filesystem::remove_all(dir); }

  InstanceSpec Spec(const std::string& id, const std::string& script, const std::string& restart) {
    InstanceSpec s;
    s.id = id;
    s.service = "svc";
    s.command = {"sh", "-c", script};
    s.env = {{"GREETING", "hello"}};
    s.restart = restart;
    return s;
  }

  // Waits for a child to exit (a process, not a timer).
  void WaitExit(const std::string& id) {
    for (int i = 0; i < 2000; ++i) {
      auto s = driver->Inspect(id);
      ASSERT_TRUE(s.ok());
      if (!s->running) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << id << " did not exit";
  }
};

TEST_F(ProcessDriverTest, OnFailureRestartsWithBackoffOnTheClock) {
  ASSERT_TRUE(driver->Start(Spec("a-1", "echo $GREETING; exit 3", "on-failure")).ok());
  WaitExit("a-1");
  auto events = driver->Supervise();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "a-1 exited with code 3; restarting in 100 ms");
  EXPECT_TRUE(driver->Supervise().empty());  // not due yet
  now += 100;
  events = driver->Supervise();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "a-1 restarted (1)");
  WaitExit("a-1");
  events = driver->Supervise();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "a-1 exited with code 3; restarting in 200 ms");  // doubled
  auto st = driver->Inspect("a-1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->exit_code, 3);
  EXPECT_EQ(st->restarts, 1u);
  EXPECT_EQ(*driver->Logs("a-1", 100), "hello\nhello\n");
  EXPECT_TRUE(driver->Stop("a-1", std::chrono::milliseconds(100)).ok());
  EXPECT_EQ(driver->Inspect("a-1").status().code(), StatusCode::kNotFound);
}

TEST_F(ProcessDriverTest, ACleanExitStaysDownUnderOnFailureButNotUnderAlways) {
  ASSERT_TRUE(driver->Start(Spec("ok-1", "exit 0", "on-failure")).ok());
  ASSERT_TRUE(driver->Start(Spec("al-1", "exit 0", "always")).ok());
  WaitExit("ok-1");
  WaitExit("al-1");
  auto events = driver->Supervise();
  std::sort(events.begin(), events.end());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0], "al-1 exited with code 0; restarting in 100 ms");
  EXPECT_EQ(events[1], "ok-1 exited with code 0 (restart: on-failure)");
  now += 1000;
  events = driver->Supervise();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], "al-1 restarted (1)");
}

TEST_F(ProcessDriverTest, StopEndsARunningProcessAndErrorsNameTheProgram) {
  ASSERT_TRUE(driver->Start(Spec("s-1", "sleep 30", "always")).ok());
  auto st = driver->Inspect("s-1");
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->running);
  EXPECT_EQ(st->limits, "off");
  EXPECT_TRUE(driver->Stop("s-1", std::chrono::seconds(5)).ok());
  InstanceSpec bad = Spec("b-1", "", "no");
  bad.command = {"no-such-program-pier"};
  Status s = driver->Start(bad);
  EXPECT_EQ(s.message(),
            "services.svc: cannot start 'no-such-program-pier': No such file or directory");
  InstanceSpec image_only = Spec("i-1", "", "no");
  image_only.command.clear();
  image_only.image = "x:1";
  EXPECT_EQ(driver->Start(image_only).message(),
            "services.svc: the process driver runs a command, and this service has only an image "
            "(use --driver docker, or give a command)");
}

TEST(ProcessDriverConcurrent, SuperviseRacesStartInspectAndStop) {
  auto driver = MakeProcessDriver(
      {.log_dir = std::filesystem::temp_directory_path() / "pier-race", .cgroup_name = ""});
  std::atomic<bool> done{false};
  std::thread supervisor([&] {
    while (!done) driver->Supervise();
  });
  for (int i = 0; i < 20; ++i) {
    InstanceSpec s;
    s.id = "r-" + std::to_string(i);
    s.service = "svc";
    s.command = {"sh", "-c", "exit 1"};
    s.restart = "always";
    ASSERT_TRUE(driver->Start(s).ok());
    (void)driver->Inspect(s.id);  // races Supervise: any answer will do, without a race
    EXPECT_TRUE(driver->Stop(s.id, std::chrono::milliseconds(200)).ok());
  }
  done = true;
  supervisor.join();
  std::filesystem::remove_all(std::filesystem::temp_directory_path() / "pier-race");
}

}  // namespace
}  // namespace pier::deploy
