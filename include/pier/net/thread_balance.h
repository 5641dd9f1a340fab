// File: thread_balance.h
// ThreadBalance: how many of an IoPool's threads should serve connections. An elastic pool starts
// with one active thread and adds one when its threads are saturated while the machine has an
// idle core; it drops one when its threads wait for a CPU while the machine has none idle (it is
// oversubscribed) and the work fits on fewer. Threads beyond the active count hand their
// connections over.
//   ThreadBalance b(pool_size);
//   size_t active = b.Decide({{.busy = 0.95, .wait = 0.01}}, /*machine_idle_cores=*/1.2);  // 2
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pier::net {

// One thread over one window, as fractions of the window.
struct ThreadLoad {
  double busy = 0;  // running handlers (idle polling not counted)
  double wait = 0;  // runnable but waiting for a CPU
};

class ThreadBalance {
 public:
  struct Options {
    double grow_busy = 0.85;        // mean busy of the active threads that calls for one more
    double grow_idle_cores = 0.25;  // ...if the machine had at least this much idle CPU (and
                                    // below it, the machine counts as oversubscribed)
    double shrink_wait = 0.10;      // mean wait of the active threads that calls for one fewer,
    double shrink_fit = 0.9;        // ...if oversubscribed and their busy fits in (active-1) * this
    int cooldown_windows = 2;       // windows to let a change settle before the next
  };
  explicit ThreadBalance(size_t threads) : ThreadBalance(threads, Options{}) {}
  ThreadBalance(size_t threads, Options options);

  // Feeds one window's load of the active threads (the first `active()` of the pool) and the
  // machine's idle CPU in cores; returns the new active count.
  size_t Decide(std::span<const ThreadLoad> active_load, double machine_idle_cores);
  size_t active() const { return active_; }

 private:
  size_t threads_;
  Options options_;
  size_t active_ = 1;
  int cooldown_ = 0;
};

// Reads the CPU and run-queue time of threads (/proc/self/task/TID/schedstat) and the machine's
// idle time (/proc/stat). Every reading is -1 where the kernel does not report it.
struct SchedTimes {
  int64_t cpu_ns = -1;
  int64_t wait_ns = -1;
};
SchedTimes ReadThreadSchedTimes(int tid);
// Total idle (idle + iowait) time of all CPUs in ns.
int64_t ReadMachineIdleNs();

// Parses "<cpu ns> <wait ns> <slices>" (schedstat) and the "cpu " line of /proc/stat; exposed
// for tests.
SchedTimes ParseSchedstat(const std::string& text);
int64_t ParseProcStatIdleNs(const std::string& text, long ticks_per_second);

}  // namespace pier::net
