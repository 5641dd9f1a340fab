// File: retry.h
// When a proxied request is retried, how long it waits, and the budget that keeps retries from
// multiplying an outage: retries in flight may be at most `budget_percent` of the requests in
// flight (or `min_retry_concurrency`, whichever is more), as Envoy's retry budgets.
//   if (policy.ShouldRetry(method, status, attempt) && budget.TryStartRetry()) { ... }
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "pier/base/status.h"

namespace pier::resilience {

struct RetryOptions {
  uint32_t max_retries = 2;
  int64_t base_backoff_ms = 25;
  int64_t max_backoff_ms = 250;
  std::vector<int> retry_on = {502, 503, 504};  // upstream statuses worth another host
  bool retry_non_idempotent = false;  // POST/PATCH too (only when the app can take a repeat)
};

// GET, HEAD, OPTIONS, TRACE, PUT, DELETE (RFC 9110 section 9.2.2).
bool IsIdempotentMethod(std::string_view method);

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options = {}) : o_(std::move(options)) {}
  static Status Validate(const RetryOptions& o);
  // `status` is the upstream's HTTP status, or 0 for a gateway failure (connect error, reset,
  // timeout); `attempt` counts retries already made.
  bool ShouldRetry(std::string_view method, int status, uint32_t attempt) const;
  // Exponential backoff with full jitter: uniform in [0, min(max, base * 2^attempt)]; `unit`
  // is a uniform random number in [0, 1).
  int64_t BackoffMs(uint32_t attempt, double unit) const;
  const RetryOptions& options() const { return o_; }

 private:
  RetryOptions o_;
};

// Thread-safe, lock-free.
class RetryBudget {
 public:
  explicit RetryBudget(double budget_percent = 20, uint32_t min_retry_concurrency = 3)
      : percent_(budget_percent), min_(min_retry_concurrency) {}
  void RequestStarted() { active_.fetch_add(1, std::memory_order_relaxed); }
  void RequestFinished() { active_.fetch_sub(1, std::memory_order_relaxed); }
  // Whether a retry may start now; if so, call RetryFinished() when it ends.
  bool TryStartRetry();
  void RetryFinished() { retries_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t retries_in_flight() const { return retries_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  double percent_;
  uint32_t min_;
  std::atomic<int64_t> active_{0}, retries_{0};
  std::atomic<uint64_t> refused_{0};
};

}  // namespace pier::resilience
