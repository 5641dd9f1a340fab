// File: clock.h
// Clock: the one source of time for code that has timers, so tests can use FakeClock.
//   FakeClock clock;  cache.Put(k, v, 10s);  clock.Advance(11s);  // k has expired
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace pier {

// Monotonic time in nanoseconds since an arbitrary epoch. Thread-safe.
class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;

  // The process-wide steady clock.
  static Clock& Steady();
};

class SteadyClock final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Duration start = std::chrono::hours(1)) : now_ns_(start.count()) {}
  TimePoint Now() const override {
    return TimePoint(Duration(now_ns_.load(std::memory_order_acquire)));
  }
  void Advance(Duration d) { now_ns_.fetch_add(d.count(), std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_ns_;
};

// The steady clock in milliseconds: the default `now_ms` of components that take a clock
// function (tests give them a fake one).
int64_t SteadyNowMs();
// The same clock in microseconds (request timings).
int64_t SteadyNowUs();
// Wall-clock time in Unix milliseconds (what users read: creation times, expiry at a date).
int64_t UnixNowMs();

}  // namespace pier
