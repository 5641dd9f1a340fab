#include "pier/resilience/concurrency_limiter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace pier::resilience {

namespace {
constexpr size_t kMaxSamples = 10000;  // per window; later completions are not sampled
constexpr int kWindowsAtMinimum = 5;

int64_t PercentileOf(std::vector<int64_t>& v, double q) {
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return v[i];
}
}  // namespace

Result<ConcurrencyLimitOptions> ParseConcurrencyLimit(const std::string& text) {
  ConcurrencyLimitOptions o;
  if (text == "off" || text == "0") return o;
  if (text == "adaptive") {
    o.mode = ConcurrencyLimitOptions::Mode::kAdaptive;
    return o;
  }
  uint32_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n > 1000000) {
    return Status::InvalidArgument("'" + text.substr(0, 64) +
                                   "' is not off, adaptive or a number of requests "
                                   "(1 to 1000000)");
  }
  o.mode = ConcurrencyLimitOptions::Mode::kFixed;
  o.limit = n;
  return o;
}

std::string ConcurrencyLimitText(const ConcurrencyLimitOptions& o) {
  switch (o.mode) {
    case ConcurrencyLimitOptions::Mode::kOff:
      return "off";
    case ConcurrencyLimitOptions::Mode::kAdaptive:
      return "adaptive";
    case ConcurrencyLimitOptions::Mode::kFixed:
      break;
  }
  return std::to_string(o.limit);
}

ConcurrencyLimiter::ConcurrencyLimiter(ConcurrencyLimitOptions options) {
  Reset(std::move(options));
}

void ConcurrencyLimiter::Reset(ConcurrencyLimitOptions options) {
  std::lock_guard l(mu_);
  options_ = std::move(options);
  options_.min_concurrency = std::max<uint32_t>(1, options_.min_concurrency);
  options_.max_limit = std::max(options_.max_limit, options_.min_concurrency);
  samples_.clear();
  measuring_ = false;
  min_rtt_us_ = sample_rtt_us_ = 0;
  gradient_ = 1;
  at_minimum_ = 0;
  adaptive_.store(options_.mode == ConcurrencyLimitOptions::Mode::kAdaptive);
  switch (options_.mode) {
    case ConcurrencyLimitOptions::Mode::kOff:
      limit_.store(0);
      break;
    case ConcurrencyLimitOptions::Mode::kFixed:
      limit_.store(options_.limit);
      break;
    case ConcurrencyLimitOptions::Mode::kAdaptive:
      // Where the limit goes once the first minRTT is measured (StartMinRttLocked keeps it).
      limit_.store(std::clamp(options_.limit, options_.min_concurrency, options_.max_limit));
      StartMinRttLocked(-1);
      break;
  }
}

bool ConcurrencyLimiter::TryAcquire(int64_t /*now_us*/) {
  const uint32_t n = in_flight_.fetch_add(1, std::memory_order_acq_rel) + 1;
  const uint32_t limit = limit_.load(std::memory_order_acquire);
  if (limit != 0 && n > limit) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

void ConcurrencyLimiter::StartMinRttLocked(int64_t now_us) {
  if (!measuring_) limit_before_measuring_ = limit_.load();
  measuring_ = true;
  samples_.clear();
  window_end_us_ = now_us;  // requests that started before this are not no-load samples
  limit_.store(options_.min_concurrency);
}

void ConcurrencyLimiter::Release(int64_t latency_us, bool ok, int64_t now_us) {
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  if (!adaptive_.load(std::memory_order_acquire)) return;
  std::lock_guard l(mu_);
  if (options_.mode != ConcurrencyLimitOptions::Mode::kAdaptive) return;
  if (measuring_) {
    if (!ok || now_us - latency_us < window_end_us_) return;
    samples_.push_back(latency_us);
    if (samples_.size() < options_.min_rtt_requests) return;
    min_rtt_us_ = std::max<int64_t>(1, PercentileOf(samples_, options_.percentile));
    samples_.clear();
    measuring_ = false;
    at_minimum_ = 0;
    limit_.store(limit_before_measuring_);
    window_end_us_ = now_us + options_.window_ms * 1000;
    next_min_rtt_us_ = now_us + options_.min_rtt_interval_ms * 1000;
    return;
  }
  if (ok && samples_.size() < kMaxSamples) samples_.push_back(latency_us);
  if (now_us >= window_end_us_) EndWindowLocked(now_us);
}

void ConcurrencyLimiter::EndWindowLocked(int64_t now_us) {
  window_end_us_ = now_us + options_.window_ms * 1000;
  if (now_us >= next_min_rtt_us_ || at_minimum_ >= kWindowsAtMinimum) {
    StartMinRttLocked(now_us);
    return;
  }
  if (samples_.empty()) return;
  sample_rtt_us_ = PercentileOf(samples_, options_.percentile);
  samples_.clear();
  gradient_ = std::clamp(static_cast<double>(min_rtt_us_) * (1 + options_.buffer) /
                             static_cast<double>(std::max<int64_t>(1, sample_rtt_us_)),
                         0.5, 2.0);
  const double old = limit_.load();
  const double next = gradient_ * old + std::sqrt(old);
  const auto limit = static_cast<uint32_t>(std::clamp(std::floor(next),
                                                      static_cast<double>(options_.min_concurrency),
                                                      static_cast<double>(options_.max_limit)));
  limit_.store(limit);
  at_minimum_ = limit == options_.min_concurrency ? at_minimum_ + 1 : 0;
}

ConcurrencyLimiter::State ConcurrencyLimiter::state() const {
  std::lock_guard l(mu_);
  State s;
  s.mode = options_.mode == ConcurrencyLimitOptions::Mode::kOff     ? "off"
           : options_.mode == ConcurrencyLimitOptions::Mode::kFixed ? "fixed"
                                                                    : "adaptive";
  s.limit = limit_.load();
  s.in_flight = in_flight_.load();
  s.rejected = rejected_.load();
  s.min_rtt_ms = static_cast<double>(min_rtt_us_) / 1000.0;
  s.sample_rtt_ms = static_cast<double>(sample_rtt_us_) / 1000.0;
  s.gradient = gradient_;
  s.measuring_min_rtt = measuring_;
  return s;
}

}  // namespace pier::resilience
