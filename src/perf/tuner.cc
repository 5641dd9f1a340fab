#include "pier/perf/tuner.h"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "pier/base/strings.h"

namespace pier::perf {

namespace {
std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}
}  // namespace

Result<uint64_t> ParseCount(const std::string& knob, const std::string& value) {
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || p != value.data() + value.size()) {
    return Status::InvalidArgument(knob + ": '" + value + "' is not a number");
  }
  return n;
}

Tuner::Tuner(Analyzer& analyzer, TunerOptions options) : analyzer_(analyzer), options_(options) {}

void Tuner::SetOptions(const TunerOptions& options) {
  std::lock_guard l(mu_);
  options_ = options;
}

void Tuner::AddKnob(Knob knob) {
  std::lock_guard l(mu_);
  auto_[knob.name] = false;
  knobs_.push_back(std::move(knob));
}

Knob* Tuner::Find(const std::string& name) {
  for (auto& k : knobs_) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

Status Tuner::SetAuto(const std::string& knob, bool on) {
  std::lock_guard l(mu_);
  if (!Find(knob)) return Status::NotFound("no knob '" + knob + "'");
  auto_[knob] = on;
  Log(knob, std::string("auto-tuning ") + (on ? "on" : "off"));
  return Status::Ok();
}

void Tuner::Log(const std::string& knob, const std::string& what) {
  log_.push_back({{"t_ms", analyzer_.Now()}, {"knob", knob}, {"what", what}});
  if (log_.size() > 200) log_.erase(log_.begin());
}

Status Tuner::Try(const std::string& name, const std::string& value, const std::string& reason) {
  std::lock_guard l(mu_);
  if (trial_) {
    return Status::FailedPrecondition("a trial of " + trial_->knob + " is running");
  }
  Knob* k = Find(name);
  if (!k) return Status::NotFound("no knob '" + name + "'");
  const int64_t now = analyzer_.Now();
  Trial t;
  t.knob = name;
  t.from = k->get();
  t.to = value;
  t.reason = reason;
  t.changed_ms = now;
  t.before = analyzer_.MeanBetween(k->objective, now - options_.baseline_ms, now);
  if (std::isnan(t.before)) {
    return Status::FailedPrecondition("no baseline: " + k->objective + " has no recent values");
  }
  for (const auto& g : k->guards) {
    t.guards_before[g] = analyzer_.MeanBetween(g, now - options_.baseline_ms, now);
  }
  if (Status s = k->set(value); !s.ok()) {
    Log(name, "could not set " + value + ": " + s.message());
    return s;
  }
  Log(name, "trial: " + t.from + " -> " + value + " (" + reason + "); baseline " + k->objective +
                " = " + Num(t.before));
  tried_[name] = value;
  trial_ = std::move(t);
  return Status::Ok();
}

void Tuner::Tick() {
  std::string start_knob, start_value, start_reason;
  {
    std::lock_guard l(mu_);
    const int64_t now = analyzer_.Now();
    if (trial_) {
      const int64_t from = trial_->changed_ms + options_.settle_ms;
      if (now < from + options_.measure_ms) return;
      Knob* k = Find(trial_->knob);
      const double after = analyzer_.MeanBetween(k->objective, from, now);
      const double gain =
          std::isnan(after) ? 0 : (after - trial_->before) * (k->higher_is_better ? 1 : -1);
      std::string guard_broken;
      for (const auto& [g, before] : trial_->guards_before) {
        const double a = analyzer_.MeanBetween(g, from, now);
        if (!std::isnan(before) && !std::isnan(a) &&
            a > before * (1 + options_.max_guard_rise) + k->guard_slack) {
          guard_broken = g + " rose from " + Num(before) + " to " + Num(a);
        }
      }
      const std::string measured = k->objective + " " + Num(trial_->before) + " -> " +
                                   (std::isnan(after) ? "no data" : Num(after));
      const double min_gain =
          k->min_gain_ratio > 0 ? k->min_gain_ratio * std::abs(trial_->before) : options_.min_gain;
      if (gain >= min_gain && guard_broken.empty()) {
        Log(k->name, "kept " + trial_->to + ": " + measured);
      } else {
        const Status s = k->set(trial_->from);
        Log(k->name, "reverted to " + trial_->from + ": " + measured +
                         (guard_broken.empty() ? " (gain below " + Num(min_gain) + ")"
                                               : " (" + guard_broken + ")") +
                         (s.ok() ? "" : "; the revert failed: " + s.message()));
      }
      trial_.reset();
      return;
    }
    bool any_auto = false;
    for (const auto& [_, on] : auto_) any_auto = any_auto || on;
    if (!any_auto) return;
  }
  // Auto mode: the most confident suggestion for an automatic knob not tried with that value.
  for (const auto& s : analyzer_.Suggestions()) {
    if (s.knob.empty() || s.confidence < options_.min_confidence) continue;
    std::lock_guard l(mu_);
    if (!auto_[s.knob] || tried_[s.knob] == s.value) continue;
    start_knob = s.knob;
    start_value = s.value;
    start_reason = "suggested: " + s.why;
    break;
  }
  // Refused while the objective has no recent values (the next tick tries again); a knob that
  // cannot be set says so in the tuner's log.
  if (!start_knob.empty()) (void)Try(start_knob, start_value, start_reason);
}

Status Tuner::SaveBaseline(const std::string& scenario) {
  if (Status s = CheckName("baseline name", scenario); !s.ok()) return s;
  const int64_t now = analyzer_.Now();
  std::map<std::string, double> means;
  for (const auto& name : analyzer_.SeriesNames()) {
    const double m = analyzer_.MeanBetween(name, now - options_.baseline_ms, now);
    if (!std::isnan(m)) means[name] = m;
  }
  std::lock_guard l(mu_);
  // A client names baselines: keep a bounded number (replacing one by name stays allowed).
  if (baselines_.size() >= kMaxBaselines && !baselines_.count(scenario)) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxBaselines) +
                                   " baselines are kept; reuse a name");
  }
  baselines_[scenario] = std::move(means);
  return Status::Ok();
}

nlohmann::json Tuner::State() const {
  std::lock_guard l(mu_);
  nlohmann::json knobs = nlohmann::json::array();
  for (const auto& k : knobs_) {
    knobs.push_back({{"name", k.name},
                     {"value", k.get()},
                     {"auto", auto_.at(k.name)},
                     {"objective", k.objective}});
  }
  nlohmann::json out = {{"knobs", knobs}, {"log", log_}};
  if (trial_) {
    out["trial"] = {{"knob", trial_->knob},       {"from", trial_->from},
                    {"to", trial_->to},           {"since_ms", trial_->changed_ms},
                    {"baseline", trial_->before}, {"reason", trial_->reason}};
  }
  const int64_t now = analyzer_.Now();
  nlohmann::json baselines = nlohmann::json::object();
  for (const auto& [scenario, means] : baselines_) {
    nlohmann::json rows = nlohmann::json::object();
    for (const auto& [series, before] : means) {
      const double m = analyzer_.MeanBetween(series, now - options_.baseline_ms, now);
      rows[series] = {{"baseline", before},
                      {"now", std::isnan(m) ? nlohmann::json() : nlohmann::json(m)}};
    }
    baselines[scenario] = rows;
  }
  out["baselines"] = baselines;
  return out;
}

}  // namespace pier::perf
