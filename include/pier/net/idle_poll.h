// File: idle_poll.h
// IdlePollGate: whether an I/O thread that ran out of work may busy-poll for a moment before it
// sleeps. Polling spares the peer the wakeup and the next request the scheduling delay, but only
// pays while the thread has a core to itself: the gate allows it while the thread waited on a
// run queue for under `max_wait_ratio` of the last window (a thread that waits for the CPU would
// take it from another runnable thread by spinning).
//   IdlePollGate gate;  ThreadRunDelay delay;
//   if (gate.Allowed(now_ns, [&] { return delay.Read(); })) { ...poll... }
#pragma once

#include <cstdint>

namespace pier::net {

class IdlePollGate {
 public:
  explicit IdlePollGate(double max_wait_ratio = 0.1, int64_t window_ns = 10'000'000)
      : max_wait_ratio_(max_wait_ratio), window_ns_(window_ns) {}

  // `now_ns`: a monotonic time; `run_delay_ns`: reads the thread's total run-queue wait (asked
  // at most once per window). Starts closed until the first full window has been measured.
  template <typename ReadDelay>
  bool Allowed(int64_t now_ns, ReadDelay&& run_delay_ns) {
    if (now_ns - window_start_ < window_ns_) return allowed_;
    const int64_t delay = run_delay_ns();
    if (delay < 0) return allowed_ = false;  // not measurable here: never poll
    if (window_start_ != kUnset) {
      const double waited = static_cast<double>(delay - window_delay_);
      allowed_ = waited < max_wait_ratio_ * static_cast<double>(now_ns - window_start_);
    }
    window_start_ = now_ns;
    window_delay_ = delay;
    return allowed_;
  }

 private:
  static constexpr int64_t kUnset = INT64_MIN / 2;
  double max_wait_ratio_;
  int64_t window_ns_;
  int64_t window_start_ = kUnset;
  int64_t window_delay_ = 0;
  bool allowed_ = false;
};

// The calling thread's total time spent runnable but waiting for a CPU, in ns, from
// /proc/thread-self/schedstat; -1 where the kernel does not report it. One per thread.
class ThreadRunDelay {
 public:
  ThreadRunDelay();
  ~ThreadRunDelay();
  ThreadRunDelay(const ThreadRunDelay&) = delete;
  ThreadRunDelay& operator=(const ThreadRunDelay&) = delete;
  int64_t Read();

 private:
  int fd_ = -1;
};

}  // namespace pier::net
