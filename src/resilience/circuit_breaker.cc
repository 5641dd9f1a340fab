#include "pier/resilience/circuit_breaker.h"

#include <algorithm>
#include <chrono>

#include "pier/base/clock.h"

namespace pier::resilience {

const char* BreakerStateName(BreakerState s) {
  switch (s) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
    case BreakerState::kForcedOpen:
      return "forced_open";
    case BreakerState::kDisabled:
      return "disabled";
  }
  return "?";
}

Status CircuitBreaker::Validate(const BreakerOptions& o) {
  auto bad = [](const std::string& m) { return Status::InvalidArgument("circuit breaker: " + m); };
  if (o.window_size == 0) return bad("window_size must be at least 1");
  if (o.minimum_calls == 0) return bad("minimum_calls must be at least 1");
  if (o.failure_rate_threshold <= 0 || o.failure_rate_threshold > 100) {
    return bad("failure_rate_threshold must be in (0, 100]");
  }
  if (o.slow_call_rate_threshold <= 0 || o.slow_call_rate_threshold > 100) {
    return bad("slow_call_rate_threshold must be in (0, 100]");
  }
  if (o.wait_in_open_ms <= 0 || o.max_wait_in_open_ms < o.wait_in_open_ms) {
    return bad("wait_in_open_ms must be positive and at most max_wait_in_open_ms");
  }
  if (o.open_backoff < 1) return bad("open_backoff must be at least 1");
  if (o.permitted_calls_in_half_open == 0) return bad("permitted_calls_in_half_open must be >= 1");
  if (o.max_wait_in_half_open_ms <= 0) return bad("max_wait_in_half_open_ms must be positive");
  return Status::Ok();
}

CircuitBreaker::CircuitBreaker(BreakerOptions options) : o_(std::move(options)) {
  if (!o_.now_ms) o_.now_ms = SteadyNowMs;
  buckets_.assign(o_.window_size, Bucket{});
  wait_ms_ = o_.wait_in_open_ms;
}

void CircuitBreaker::OnStateChange(std::function<void(BreakerState, BreakerState)> fn) {
  std::lock_guard l(mu_);
  listener_ = std::move(fn);
}

void CircuitBreaker::ClearWindow() {
  std::fill(buckets_.begin(), buckets_.end(), Bucket{});
  next_ = 0;
}

void CircuitBreaker::TransitionLocked(BreakerState to, std::vector<std::function<void()>>* after) {
  const BreakerState from = state_.load();
  if (from == to) return;
  const int64_t now = o_.now_ms();
  if (to == BreakerState::kOpen) {
    // Each trip in a row waits longer (a half-open failure right after a trip counts).
    wait_ms_ = trips_in_a_row_ == 0
                   ? o_.wait_in_open_ms
                   : std::min<int64_t>(
                         o_.max_wait_in_open_ms,
                         static_cast<int64_t>(static_cast<double>(wait_ms_) * o_.open_backoff));
    ++trips_in_a_row_;
    opened_at_ = now;
  } else if (to == BreakerState::kHalfOpen) {
    half_open_at_ = now;
    half_open_permits_ = half_open_done_ = half_open_failures_ = half_open_slow_ = 0;
  } else if (to == BreakerState::kClosed) {
    trips_in_a_row_ = 0;
    ClearWindow();
  }
  state_.store(to, std::memory_order_release);
  ++transitions_;
  if (listener_) after->push_back([fn = listener_, from, to] { fn(from, to); });
}

void CircuitBreaker::Transition(BreakerState to) {
  std::vector<std::function<void()>> after;
  {
    std::lock_guard l(mu_);
    TransitionLocked(to, &after);
  }
  for (auto& f : after) f();
}

bool CircuitBreaker::TryAcquireSlow() {
  std::vector<std::function<void()>> after;
  bool ok = false;
  {
    std::lock_guard l(mu_);
    const int64_t now = o_.now_ms();
    switch (state_.load()) {
      case BreakerState::kClosed:
      case BreakerState::kDisabled:
        ok = true;
        break;
      case BreakerState::kForcedOpen:
        break;
      case BreakerState::kOpen:
        if (now - opened_at_ < wait_ms_) break;
        TransitionLocked(BreakerState::kHalfOpen, &after);
        [[fallthrough]];
      case BreakerState::kHalfOpen:
        if (now - half_open_at_ >= o_.max_wait_in_half_open_ms) {
          TransitionLocked(BreakerState::kOpen, &after);  // its probes never came back
          break;
        }
        if (half_open_permits_ < o_.permitted_calls_in_half_open) {
          ++half_open_permits_;
          ok = true;
        }
        break;
    }
    if (!ok) ++not_permitted_;
  }
  for (auto& f : after) f();
  return ok;
}

void CircuitBreaker::Record(bool failure, bool slow, int64_t now) {
  Bucket* b;
  if (o_.window == BreakerOptions::Window::kCount) {
    b = &buckets_[next_];
    next_ = (next_ + 1) % buckets_.size();
    *b = Bucket{};
  } else {
    const int64_t second = now / 1000;
    b = &buckets_[static_cast<size_t>(second) % buckets_.size()];
    if (b->second != second) *b = Bucket{second, 0, 0, 0};
  }
  b->calls += 1;
  b->failures += failure;
  b->slow += slow;
}

void CircuitBreaker::Totals(int64_t now, uint64_t* calls, uint64_t* failures,
                            uint64_t* slow) const {
  *calls = *failures = *slow = 0;
  const int64_t second = now / 1000;
  for (const auto& b : buckets_) {
    if (o_.window == BreakerOptions::Window::kTime &&
        (b.second < 0 || second - b.second >= static_cast<int64_t>(buckets_.size()))) {
      continue;  // older than the window
    }
    *calls += b.calls;
    *failures += b.failures;
    *slow += b.slow;
  }
}

bool CircuitBreaker::Tripped(uint64_t calls, uint64_t failures, uint64_t slow) const {
  if (calls == 0) return false;
  const double fr = 100.0 * static_cast<double>(failures) / static_cast<double>(calls);
  const double sr = 100.0 * static_cast<double>(slow) / static_cast<double>(calls);
  return fr >= o_.failure_rate_threshold || sr >= o_.slow_call_rate_threshold;
}

void CircuitBreaker::OnResult(bool success, int64_t duration_ms) {
  const bool slow = duration_ms >= o_.slow_call_ms;
  std::vector<std::function<void()>> after;
  {
    std::lock_guard l(mu_);
    const int64_t now = o_.now_ms();
    switch (state_.load()) {
      case BreakerState::kClosed: {
        Record(!success, slow, now);
        uint64_t calls, failures, slow_calls;
        Totals(now, &calls, &failures, &slow_calls);
        if (calls >= o_.minimum_calls && Tripped(calls, failures, slow_calls)) {
          TransitionLocked(BreakerState::kOpen, &after);
        }
        break;
      }
      case BreakerState::kHalfOpen:
        ++half_open_done_;
        half_open_failures_ += !success;
        half_open_slow_ += slow;
        if (half_open_done_ >= o_.permitted_calls_in_half_open) {
          TransitionLocked(Tripped(half_open_done_, half_open_failures_, half_open_slow_)
                               ? BreakerState::kOpen
                               : BreakerState::kClosed,
                           &after);
        }
        break;
      default:
        break;  // a call acquired before it opened: its outcome no longer matters
    }
  }
  for (auto& f : after) f();
}

BreakerStats CircuitBreaker::stats() const {
  std::lock_guard l(mu_);
  BreakerStats s;
  s.state = state_.load();
  Totals(o_.now_ms(), &s.calls, &s.failures, &s.slow);
  const bool enough = s.calls >= o_.minimum_calls;
  s.failure_rate = enough ? 100.0 * double(s.failures) / double(s.calls) : -1;
  s.slow_rate = enough ? 100.0 * double(s.slow) / double(s.calls) : -1;
  s.not_permitted = not_permitted_;
  s.transitions = transitions_;
  return s;
}

}  // namespace pier::resilience
