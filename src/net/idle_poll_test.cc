#include "pier/net/idle_poll.h"

#include <gtest/gtest.h>

#include <thread>

namespace pier::net {
namespace {

constexpr int64_t kMs = 1'000'000;

TEST(IdlePollGate, ClosedUntilAWindowIsMeasuredThenOpenWhileTheThreadGetsItsCore) {
  IdlePollGate gate(0.1, 10 * kMs);
  int reads = 0;
  int64_t delay = 0;
  auto read = [&] {
    ++reads;
    return delay;
  };
  EXPECT_FALSE(gate.Allowed(0, read));  // starts the first window
  EXPECT_FALSE(gate.Allowed(5 * kMs, read));
  EXPECT_EQ(reads, 1);  // read once per window, not on every idle moment
  delay = 1 * kMs;      // waited 1 ms of 10: 10% is the limit, not under it
  EXPECT_FALSE(gate.Allowed(10 * kMs, read));
  delay += kMs / 2;  // 0.5 ms of 10
  EXPECT_TRUE(gate.Allowed(20 * kMs, read));
  EXPECT_TRUE(gate.Allowed(25 * kMs, read));  // within the window: the last answer
  EXPECT_EQ(reads, 3);
}

TEST(IdlePollGate, ClosesWhenTheThreadWaitsForTheCpuAndReopensWhenItStops) {
  IdlePollGate gate(0.1, 10 * kMs);
  int64_t delay = 0;
  auto read = [&] { return delay; };
  gate.Allowed(0, read);
  EXPECT_TRUE(gate.Allowed(10 * kMs, read));
  delay += 3 * kMs;  // an oversubscribed machine: 30% of the window waiting
  EXPECT_FALSE(gate.Allowed(20 * kMs, read));
  EXPECT_TRUE(gate.Allowed(40 * kMs, read));  // 0 waited over the next 20 ms
}

TEST(IdlePollGate, NeverOpensWhereTheDelayCannotBeRead) {
  IdlePollGate gate(0.1, 10 * kMs);
  auto read = [] { return int64_t{-1}; };
  for (int64_t t = 0; t < 100 * kMs; t += 10 * kMs) EXPECT_FALSE(gate.Allowed(t, read));
}

TEST(ThreadRunDelay, ReadsAMonotonicCountForThisThread) {
  ThreadRunDelay d;
  int64_t a = d.Read();
  if (a < 0) GTEST_SKIP() << "this kernel does not report /proc/thread-self/schedstat";
  std::this_thread::yield();
  EXPECT_GE(d.Read(), a);
}

}  // namespace
}  // namespace pier::net
