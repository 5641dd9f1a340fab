#include "pier/net/thread_balance.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace pier::net {

ThreadBalance::ThreadBalance(size_t threads, Options options)
    : threads_(std::max<size_t>(threads, 1)), options_(options) {}

size_t ThreadBalance::Decide(std::span<const ThreadLoad> load, double machine_idle_cores) {
  if (cooldown_ > 0) {
    --cooldown_;
    return active_;
  }
  if (load.empty()) return active_;
  double busy = 0, wait = 0;
  for (const ThreadLoad& l : load) {
    busy += l.busy;
    wait += l.wait;
  }
  const double n = static_cast<double>(load.size());
  size_t next = active_;
  if (active_ < threads_ && busy / n >= options_.grow_busy &&
      machine_idle_cores >= options_.grow_idle_cores) {
    next = active_ + 1;
  } else if (active_ > 1 && wait / n >= options_.shrink_wait &&
             machine_idle_cores < options_.grow_idle_cores &&
             busy <= options_.shrink_fit * static_cast<double>(active_ - 1)) {
    next = active_ - 1;
  }
  if (next != active_) {
    active_ = next;
    cooldown_ = options_.cooldown_windows;
  }
  return active_;
}

SchedTimes ParseSchedstat(const std::string& text) {
  SchedTimes t;
  const char* p = text.c_str();
  char* end = nullptr;
  long long cpu = std::strtoll(p, &end, 10);
  if (end == p || cpu < 0) return t;
  p = end;
  long long wait = std::strtoll(p, &end, 10);
  if (end == p || wait < 0) return t;
  t.cpu_ns = cpu;
  t.wait_ns = wait;
  return t;
}

int64_t ParseProcStatIdleNs(const std::string& text, long ticks_per_second) {
  // "cpu  user nice system idle iowait irq softirq ..." in clock ticks
  std::istringstream in(text);
  std::string label;
  long long v[5];
  if (!(in >> label) || label != "cpu") return -1;
  for (long long& x : v) {
    if (!(in >> x) || x < 0) return -1;
  }
  if (ticks_per_second <= 0) return -1;
  return (v[3] + v[4]) * (1'000'000'000 / ticks_per_second);
}

namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

SchedTimes ReadThreadSchedTimes(int tid) {
  return ParseSchedstat(ReadSmallFile("/proc/self/task/" + std::to_string(tid) + "/schedstat"));
}

int64_t ReadMachineIdleNs() {
  return ParseProcStatIdleNs(ReadSmallFile("/proc/stat"), ::sysconf(_SC_CLK_TCK));
}

}  // namespace pier::net
