#include "pier/resilience/retry.h"

#include <algorithm>
#include <cmath>

namespace pier::resilience {

bool IsIdempotentMethod(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

Status RetryPolicy::Validate(const RetryOptions& o) {
  if (o.max_retries > 10) return Status::InvalidArgument("retries: at most 10");
  if (o.base_backoff_ms < 0 || o.max_backoff_ms < o.base_backoff_ms) {
    return Status::InvalidArgument("retries: backoff must satisfy 0 <= base <= max");
  }
  for (int s : o.retry_on) {
    if (s < 100 || s > 599) {
      return Status::InvalidArgument("retries: retry_on holds HTTP statuses (100-599), got " +
                                     std::to_string(s));
    }
  }
  return Status::Ok();
}

bool RetryPolicy::ShouldRetry(std::string_view method, int status, uint32_t attempt) const {
  if (attempt >= o_.max_retries) return false;
  if (!o_.retry_non_idempotent && !IsIdempotentMethod(method)) return false;
  if (status == 0) return true;  // nothing reached the upstream's application, or it hung
  return std::find(o_.retry_on.begin(), o_.retry_on.end(), status) != o_.retry_on.end();
}

int64_t RetryPolicy::BackoffMs(uint32_t attempt, double unit) const {
  const double cap =
      std::min(static_cast<double>(o_.max_backoff_ms),
               static_cast<double>(o_.base_backoff_ms) * std::ldexp(1.0, std::min(attempt, 30u)));
  return static_cast<int64_t>(unit * cap);
}

bool RetryBudget::TryStartRetry() {
  const int64_t active = active_.load(std::memory_order_relaxed);
  const int64_t limit =
      std::max<int64_t>(min_, static_cast<int64_t>(percent_ / 100.0 * static_cast<double>(active)));
  int64_t now = retries_.load(std::memory_order_relaxed);
  while (now < limit) {
    if (retries_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed)) return true;
  }
  refused_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace pier::resilience
