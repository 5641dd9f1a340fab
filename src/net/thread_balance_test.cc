#include "pier/net/thread_balance.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "pier/net/io_pool.h"

namespace pier::net {
namespace {

TEST(ThreadBalance, StartsWithOneThreadAndGrowsOnlyWhenSaturatedWithAnIdleCore) {
  ThreadBalance b(4, {.cooldown_windows = 0});
  EXPECT_EQ(b.active(), 1u);
  EXPECT_EQ(b.Decide({{{.busy = 0.5, .wait = 0}}}, 3.0), 1u);   // keeps up
  EXPECT_EQ(b.Decide({{{.busy = 0.95, .wait = 0}}}, 0.1), 1u);  // saturated, no idle core
  EXPECT_EQ(b.Decide({{{.busy = 0.95, .wait = 0}}}, 2.5), 2u);  // saturated, idle cores
  EXPECT_EQ(b.Decide({{{.busy = 0.9, .wait = 0}, {.busy = 0.9, .wait = 0}}}, 1.5), 3u);
  std::vector<ThreadLoad> four(3, {.busy = 1.0, .wait = 0});
  EXPECT_EQ(b.Decide(four, 1.0), 4u);
  four.push_back({.busy = 1.0, .wait = 0});
  EXPECT_EQ(b.Decide(four, 1.0), 4u);  // never beyond the pool
}

TEST(ThreadBalance, ShrinksWhenTheThreadsWaitForACpuAndTheWorkFitsOnFewer) {
  ThreadBalance b(2, {.cooldown_windows = 0});
  b.Decide({{{.busy = 0.95, .wait = 0}}}, 1.0);
  ASSERT_EQ(b.active(), 2u);
  // Two threads beside a busy client on two cores: each waits a fifth of the time.
  std::vector<ThreadLoad> oversubscribed{{.busy = 0.45, .wait = 0.2}, {.busy = 0.43, .wait = 0.2}};
  // Waiting, but the work does not fit on one thread: stay.
  EXPECT_EQ(b.Decide({{{.busy = 0.6, .wait = 0.2}, {.busy = 0.6, .wait = 0.2}}}, 0), 2u);
  // Not waiting: no reason to consolidate.
  EXPECT_EQ(b.Decide({{{.busy = 0.4, .wait = 0.01}, {.busy = 0.4, .wait = 0.01}}}, 0.5), 2u);
  // Waiting, but a core was idle (the waits were wakeup latency, not a shortage): stay.
  EXPECT_EQ(b.Decide(oversubscribed, 0.9), 2u);
  EXPECT_EQ(b.Decide(oversubscribed, 0.05), 1u);
  EXPECT_EQ(b.Decide({{{.busy = 0.5, .wait = 0.5}}}, 0), 1u);  // never below one
}

TEST(ThreadBalance, WaitsOutTheCooldownAfterAChange) {
  ThreadBalance b(3, {.cooldown_windows = 2});
  const std::vector<ThreadLoad> saturated{{.busy = 1.0, .wait = 0}};
  EXPECT_EQ(b.Decide(saturated, 2.0), 2u);
  const std::vector<ThreadLoad> both{{.busy = 1.0, .wait = 0}, {.busy = 1.0, .wait = 0}};
  EXPECT_EQ(b.Decide(both, 1.0), 2u);
  EXPECT_EQ(b.Decide(both, 1.0), 2u);
  EXPECT_EQ(b.Decide(both, 1.0), 3u);
}

TEST(ThreadBalance, ParsesSchedstatAndProcStat) {
  SchedTimes t = ParseSchedstat("123456 7890 42\n");
  EXPECT_EQ(t.cpu_ns, 123456);
  EXPECT_EQ(t.wait_ns, 7890);
  EXPECT_EQ(ParseSchedstat("").cpu_ns, -1);
  EXPECT_EQ(ParseSchedstat("12").wait_ns, -1);
  // idle (4th) + iowait (5th) ticks at 100 Hz
  EXPECT_EQ(ParseProcStatIdleNs("cpu  10 0 20 300 5 0 1 0 0 0", 100), 305 * 10'000'000LL);
  EXPECT_EQ(ParseProcStatIdleNs("cpu0 10 0 20 300 5", 100), -1);
  EXPECT_EQ(ParseProcStatIdleNs("cpu 10 0 20", 100), -1);
}

TEST(ThreadBalance, ReadsThisThreadAndTheMachine) {
  if (ReadThreadSchedTimes(static_cast<int>(::gettid())).cpu_ns < 0) GTEST_SKIP() << "no schedstat";
  EXPECT_GE(ReadThreadSchedTimes(static_cast<int>(::gettid())).wait_ns, 0);
  EXPECT_GE(ReadMachineIdleNs(), 0);
}

TEST(IoPoolPlacement, ConnectionsGoToTheEmptiestActiveThreadAndLeaveInactiveOnes) {
  IoPool pool(3);
  pool.SetActive(1);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pool.Emptiest(), 0u);
    pool.Arrive(0);
  }
  EXPECT_EQ(pool.MoveTarget(0), -1);  // the only active thread
  pool.SetActive(3);
  // Three on thread 0, none elsewhere: two move, one to each.
  EXPECT_EQ(pool.MoveTarget(0), 1);
  EXPECT_EQ(pool.MoveTarget(0), 2);
  EXPECT_EQ(pool.MoveTarget(0), -1);  // 1/1/1
  EXPECT_EQ(pool.Emptiest(), 0u);     // ties go to the lowest index
  pool.Arrive(0);
  pool.SetActive(2);
  EXPECT_EQ(pool.MoveTarget(2), 1);  // thread 2 is no longer active
  pool.Leave(0);
  pool.Leave(0);
  EXPECT_EQ(pool.MoveTarget(1), 0);   // two more than thread 0: one moves
  EXPECT_EQ(pool.MoveTarget(1), -1);  // 1/1
}

}  // namespace
}  // namespace pier::net
