// File: concurrency_limiter.h
// ConcurrencyLimiter: bounds the requests outstanding to a cluster. Fixed: at most `limit`.
// Adaptive: Envoy's gradient controller. It measures a no-load latency (minRTT) by pinning the
// limit to `min_concurrency` until `min_rtt_requests` calls have completed (their percentile),
// then every `window_ms` sets
//   limit = clamp(gradient * limit + sqrt(limit), min_concurrency, max_limit),
//   gradient = clamp((minRTT * (1 + buffer)) / sampleRTT, 0.5, 2),
// sampleRTT being the window's `percentile` latency. The minRTT is measured again every
// `min_rtt_interval_ms`, and early when the limit sat at its minimum for 5 windows in a row.
// No timer: time is read at each call, so a fake clock drives it in tests.
//   ConcurrencyLimiter l(*ParseConcurrencyLimit("adaptive"));
//   if (!l.TryAcquire(now_us)) return Reject503();  ...  l.Release(latency_us, ok, now_us);
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "pier/base/status.h"

namespace pier::resilience {

struct ConcurrencyLimitOptions {
  enum class Mode { kOff, kFixed, kAdaptive };
  Mode mode = Mode::kOff;
  uint32_t limit = 0;  // fixed: the limit; adaptive: where it starts after the first minRTT
  // Adaptive (Envoy's defaults).
  uint32_t min_concurrency = 3;
  uint32_t max_limit = 1000;
  int64_t window_ms = 100;
  double percentile = 0.9;
  double buffer = 0.25;
  int64_t min_rtt_interval_ms = 60000;
  uint32_t min_rtt_requests = 50;
};

// "off", "adaptive" or a positive number (a fixed limit); an error says which was expected.
Result<ConcurrencyLimitOptions> ParseConcurrencyLimit(const std::string& text);
std::string ConcurrencyLimitText(const ConcurrencyLimitOptions& o);

class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(ConcurrencyLimitOptions options = {});

  // Whether one more request may go now; a true must be paired with Release.
  bool TryAcquire(int64_t now_us);
  // A request let through ended after `latency_us`; only successes (`ok`) are latency samples.
  void Release(int64_t latency_us, bool ok, int64_t now_us);

  // Replaces the options (the tuner's knob); requests in flight stay counted.
  void Reset(ConcurrencyLimitOptions options);

  struct State {
    std::string mode;    // "off", "fixed", "adaptive"
    uint32_t limit = 0;  // 0: none
    uint32_t in_flight = 0;
    uint64_t rejected = 0;  // since start
    double min_rtt_ms = 0;  // adaptive: the no-load latency measured last
    double sample_rtt_ms = 0;
    double gradient = 1;
    bool measuring_min_rtt = false;
  };
  State state() const;

 private:
  void StartMinRttLocked(int64_t now_us);
  void EndWindowLocked(int64_t now_us);

  std::atomic<uint32_t> limit_{0};  // 0: unlimited
  std::atomic<uint32_t> in_flight_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<bool> adaptive_{false};
  mutable std::mutex mu_;  // adaptive state below
  ConcurrencyLimitOptions options_;
  std::vector<int64_t> samples_;
  bool measuring_ = false;
  uint32_t limit_before_measuring_ = 0;
  int64_t window_end_us_ = 0;
  int64_t next_min_rtt_us_ = 0;
  int64_t min_rtt_us_ = 0;
  int64_t sample_rtt_us_ = 0;
  double gradient_ = 1;
  int at_minimum_ = 0;  // windows in a row with the limit at its minimum
};

}  // namespace pier::resilience
