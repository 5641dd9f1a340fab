#include "pier/deploy/canary.h"

#include <cstdio>

namespace pier::deploy {

namespace {

std::string Format(const char* fmt, double a, double b, double c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, fmt, a, b, c);
  return buf;
}

}  // namespace

Verdict JudgeCanary(const Window& canary, const Window& stable, const UpdatePolicy& policy) {
  if (canary.requests < policy.min_requests) {
    return {Verdict::kWait, "the canary has had " + std::to_string(canary.requests) + " of the " +
                                std::to_string(policy.min_requests) + " requests a step needs"};
  }
  const bool comparable = stable.requests >= policy.min_requests;
  const double base = comparable ? stable.ErrorPercent() : 0;
  if (canary.ErrorPercent() - base > policy.max_error_rate) {
    return {Verdict::kFail, Format("error rate %.1f%% vs stable %.1f%% (allowed: +%.1f points)",
                                   canary.ErrorPercent(), base, policy.max_error_rate)};
  }
  constexpr uint64_t kSlackUs = 5000;  // p99s of a few ms differ by noise alone
  if (comparable && canary.p99_us > policy.max_p99_ratio * static_cast<double>(stable.p99_us) +
                                        static_cast<double>(kSlackUs)) {
    return {Verdict::kFail,
            Format("p99 %.1f ms vs stable %.1f ms (allowed: %.1fx + 5 ms)",
                   static_cast<double>(canary.p99_us) / 1000,
                   static_cast<double>(stable.p99_us) / 1000, policy.max_p99_ratio)};
  }
  return {Verdict::kPass,
          Format("error rate %.1f%% vs stable %.1f%%, p99 %.1f ms", canary.ErrorPercent(), base,
                 static_cast<double>(canary.p99_us) / 1000) +
              (comparable ? "" : " (stable had too few requests to compare p99)")};
}

}  // namespace pier::deploy
