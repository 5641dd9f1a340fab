// File: circuit_breaker.h
// CircuitBreaker: stops calling an upstream that is failing or slow, and probes it before
// trusting it again (resilience4j's model). Closed: calls pass and their outcomes fill a sliding
// window (the last N calls, or the last N seconds); once it holds `minimum_calls`, a failure
// rate or slow-call rate at or above its threshold opens the breaker. Open: calls are refused
// for `wait_in_open_ms` (growing by `open_backoff` on each trip in a row, up to a maximum),
// then half-open: `permitted_calls_in_half_open` calls pass, and their rates close or reopen
// it; a half-open breaker whose calls do not come back within `max_wait_in_half_open_ms` opens
// again, so it never sticks. Forced-open and disabled are set by an operator.
//   CircuitBreaker b({.failure_rate_threshold = 50});
//   if (!b.TryAcquire()) return Reject();  ...  b.OnResult(ok, elapsed_ms);
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "pier/base/status.h"

namespace pier::resilience {

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen, kForcedOpen, kDisabled };
const char* BreakerStateName(BreakerState s);

struct BreakerOptions {
  enum class Window { kCount, kTime };
  Window window = Window::kCount;
  uint32_t window_size = 100;             // calls (kCount) or seconds (kTime)
  uint32_t minimum_calls = 20;            // no verdict on fewer
  double failure_rate_threshold = 50;     // percent of calls that failed
  double slow_call_rate_threshold = 100;  // percent of calls slower than slow_call_ms
  int64_t slow_call_ms = 60000;
  int64_t wait_in_open_ms = 30000;
  double open_backoff = 1.0;  // the wait grows by this factor on each trip in a row
  int64_t max_wait_in_open_ms = 300000;
  uint32_t permitted_calls_in_half_open = 10;
  int64_t max_wait_in_half_open_ms = 60000;
  std::function<int64_t()> now_ms;  // default: the steady clock
};

struct BreakerStats {
  BreakerState state = BreakerState::kClosed;
  uint64_t calls = 0, failures = 0, slow = 0;  // in the window now
  double failure_rate = 0, slow_rate = 0;      // percent; -1 below minimum_calls
  uint64_t not_permitted = 0;                  // calls refused, since start
  uint64_t transitions = 0;                    // state changes, since start
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(BreakerOptions options = {});
  static Status Validate(const BreakerOptions& o);

  // Whether a call may go now. Closed (and disabled): one atomic load.
  bool TryAcquire() {
    const auto s = state_.load(std::memory_order_acquire);
    if (s == BreakerState::kClosed || s == BreakerState::kDisabled) return true;
    return TryAcquireSlow();
  }
  // The outcome of a call that was acquired.
  void OnResult(bool success, int64_t duration_ms);

  void ForceOpen() { Transition(BreakerState::kForcedOpen); }
  void Disable() { Transition(BreakerState::kDisabled); }
  void Reset() { Transition(BreakerState::kClosed); }  // closed, with an empty window

  BreakerState state() const { return state_.load(std::memory_order_acquire); }
  BreakerStats stats() const;
  // Called (outside the breaker's lock) on every state change.
  void OnStateChange(std::function<void(BreakerState from, BreakerState to)> fn);

 private:
  struct Bucket {
    int64_t second = -1;
    uint32_t calls = 0, failures = 0, slow = 0;
  };
  bool TryAcquireSlow();
  void Transition(BreakerState to);
  void TransitionLocked(BreakerState to, std::vector<std::function<void()>>* after);
  void Record(bool failure, bool slow, int64_t now);
  void Totals(int64_t now, uint64_t* calls, uint64_t* failures, uint64_t* slow) const;
  bool Tripped(uint64_t calls, uint64_t failures, uint64_t slow) const;
  void ClearWindow();

  BreakerOptions o_;
  std::atomic<BreakerState> state_{BreakerState::kClosed};
  mutable std::mutex mu_;
  std::vector<Bucket> buckets_;  // kCount: one call each (ring); kTime: one second each
  size_t next_ = 0;              // kCount: the ring's next slot
  int64_t opened_at_ = 0, wait_ms_ = 0, half_open_at_ = 0;
  uint32_t trips_in_a_row_ = 0;
  uint32_t half_open_permits_ = 0, half_open_done_ = 0, half_open_failures_ = 0,
           half_open_slow_ = 0;
  uint64_t not_permitted_ = 0, transitions_ = 0;
  std::function<void(BreakerState, BreakerState)> listener_;
};

}  // namespace pier::resilience
