// File: canary.h
// The canary judge of `pier deploy`: compares a canary's window of proxy traffic with its
// stable version's and says pass, fail (with why) or wait (too few requests yet).
//   auto v = JudgeCanary(canary_window, stable_window, service.update);
//   if (v.outcome == Verdict::kFail) rollback(v.why);
#pragma once

#include <cstdint>
#include <string>

#include "pier/deploy/spec.h"

namespace pier::deploy {

struct Window {
  uint64_t requests = 0;
  uint64_t errors = 0;  // 5xx answers and gateway failures
  uint64_t p99_us = 0;
  double ErrorPercent() const {
    return requests == 0 ? 0 : 100.0 * static_cast<double>(errors) / static_cast<double>(requests);
  }
};

struct Verdict {
  enum Outcome { kPass, kFail, kWait };
  Outcome outcome = kWait;
  std::string why;  // e.g. "error rate 21.3% vs stable 0.0% (allowed: +5.0 points)"
};

// `stable` may have too few requests to compare (at a 100% step it gets none): then the canary's
// error rate is held against 0 and its p99 is not judged.
Verdict JudgeCanary(const Window& canary, const Window& stable, const UpdatePolicy& policy);

}  // namespace pier::deploy
