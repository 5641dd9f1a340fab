// File: check_state.h
// CheckState: one health check's status machine: thresholds (SuccessBeforePassing,
// FailuresBeforeCritical), TTL expiry, flap damping, and how long it has been critical. Pure: the
// caller passes the time, so tests drive it with a fake clock.
//   CheckState s(def, now);  s.Report(HealthStatus::kPassing, "ok", now);  s.Tick(now + 30s);
#pragma once

#include <deque>
#include <string>

#include "pier/registry/types.h"

namespace pier::registry {

// Flap damping: a check whose status changes `max_changes` times within `window` is held
// critical until its own status has stayed passing for `hold`.
struct FlapDamping {
  size_t max_changes = 5;
  Duration window = std::chrono::minutes(2);
  Duration hold = std::chrono::minutes(1);
};

class CheckState {
 public:
  CheckState(const CheckDefinition& def, TimePoint now, FlapDamping damping = {});

  // A probe result or TTL heartbeat. Returns true when the visible status changed.
  bool Report(HealthStatus result, std::string output, TimePoint now);
  // Time-driven transitions: TTL expiry, release of a flap hold. Returns true on a change.
  bool Tick(TimePoint now);

  HealthStatus status() const { return visible_; }
  const std::string& output() const { return output_; }
  bool flapping() const { return flapping_; }
  TimePoint updated() const { return updated_; }
  // True when the check has been critical for at least `d` (DeregisterCriticalServiceAfter).
  bool CriticalFor(Duration d, TimePoint now) const;
  // When the current critical spell began, or TimePoint::max() when not critical.
  TimePoint critical_since() const { return critical_since_; }
  // The next time Tick() may change something, or TimePoint::max().
  TimePoint NextDeadline() const;

 private:
  bool Publish(HealthStatus status, TimePoint now);
  HealthStatus Visible() const;

  CheckType type_;
  Duration ttl_;
  int success_before_passing_;
  int failures_before_critical_;
  FlapDamping damping_;

  HealthStatus settled_;  // after thresholds, before damping
  HealthStatus visible_;  // what readers see
  std::string output_;
  TimePoint updated_;
  TimePoint ttl_deadline_ = TimePoint::max();
  TimePoint critical_since_ = TimePoint::max();
  int successes_ = 0;
  int failures_ = 0;
  bool flapping_ = false;
  TimePoint passing_since_ = TimePoint::max();  // while flapping: when settled_ became passing
  std::deque<TimePoint> changes_;               // settled-status changes within the window
};

}  // namespace pier::registry
