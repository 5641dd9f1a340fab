#include "pier/registry/check_state.h"

namespace pier::registry {

const char* HealthStatusName(HealthStatus s) {
  switch (s) {
    case HealthStatus::kPassing:
      return "passing";
    case HealthStatus::kWarning:
      return "warning";
    case HealthStatus::kCritical:
      return "critical";
    case HealthStatus::kMaintenance:
      return "maintenance";
  }
  return "critical";
}

bool ParseHealthStatus(const std::string& name, HealthStatus* out) {
  for (auto s : {HealthStatus::kPassing, HealthStatus::kWarning, HealthStatus::kCritical,
                 HealthStatus::kMaintenance}) {
    if (name == HealthStatusName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

CheckState::CheckState(const CheckDefinition& def, TimePoint now, FlapDamping damping)
    : type_(def.type),
      ttl_(def.ttl),
      success_before_passing_(def.success_before_passing),
      failures_before_critical_(def.failures_before_critical),
      damping_(damping),
      settled_(def.initial_status),
      visible_(def.initial_status),
      updated_(now) {
  if (settled_ == HealthStatus::kCritical) critical_since_ = now;
  // A TTL check that never hears from its client expires like one that stopped hearing.
  if (type_ == CheckType::kTtl && ttl_.count() > 0) ttl_deadline_ = now + ttl_;
}

bool CheckState::Report(HealthStatus result, std::string output, TimePoint now) {
  if (type_ == CheckType::kTtl) {
    // Heartbeats set the status directly (Consul applies no thresholds to TTL checks).
    if (ttl_.count() > 0) ttl_deadline_ = now + ttl_;
  } else if (result == HealthStatus::kPassing) {
    // Consul's rule: a success resets the failure count and vice versa; status and output move
    // only when the count reaches the threshold.
    failures_ = 0;
    if (++successes_ < success_before_passing_) return false;
  } else {
    successes_ = 0;
    if (++failures_ < failures_before_critical_) return false;
  }
  output_ = std::move(output);
  updated_ = now;
  return Publish(result, now);
}

bool CheckState::Tick(TimePoint now) {
  bool changed = false;
  if (now >= ttl_deadline_) {
    ttl_deadline_ = TimePoint::max();
    output_ = "TTL expired";
    updated_ = now;
    changed = Publish(HealthStatus::kCritical, now);
  }
  if (flapping_ && settled_ == HealthStatus::kPassing && now - passing_since_ >= damping_.hold) {
    flapping_ = false;
    changes_.clear();
    HealthStatus before = visible_;
    visible_ = Visible();
    changed = changed || visible_ != before;
  }
  return changed;
}

bool CheckState::Publish(HealthStatus status, TimePoint now) {
  if (status != settled_) {
    settled_ = status;
    passing_since_ = status == HealthStatus::kPassing ? now : TimePoint::max();
    if (damping_.max_changes > 0) {
      changes_.push_back(now);
      while (!changes_.empty() && now - changes_.front() > damping_.window) changes_.pop_front();
      if (changes_.size() >= damping_.max_changes) flapping_ = true;
    }
  }
  HealthStatus before = visible_;
  visible_ = Visible();
  if (visible_ != HealthStatus::kCritical) {
    critical_since_ = TimePoint::max();
  } else if (before != HealthStatus::kCritical) {
    critical_since_ = now;
  }
  return visible_ != before;
}

HealthStatus CheckState::Visible() const { return flapping_ ? HealthStatus::kCritical : settled_; }

bool CheckState::CriticalFor(Duration d, TimePoint now) const {
  return critical_since_ != TimePoint::max() && now - critical_since_ >= d;
}

TimePoint CheckState::NextDeadline() const {
  TimePoint t = ttl_deadline_;
  if (flapping_ && passing_since_ != TimePoint::max())
    t = std::min(t, passing_since_ + damping_.hold);
  return t;
}

}  // namespace pier::registry
