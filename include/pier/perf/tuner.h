// File: tuner.h
// Tuner: changes a knob as a guarded trial. It records the objective (and guard series) over a
// baseline window, applies the change, lets it settle, measures again, and keeps the change
// only when the objective improved by at least `min_gain` and no guard got worse beyond its
// allowance; otherwise it puts the old value back. Every step is logged with why. Auto-tuning
// is off by default and on per knob: then the analyzer's suggestions for that knob (above a
// confidence) start trials by themselves. Named baselines record a scenario's means to compare
// against later.
//   Tuner t(analyzer, {});
//   t.AddKnob({.name = "cache.policy", .get = ..., .set = ..., .objective = "cache.hit_ratio"});
//   t.SetAuto("cache.policy", true);   // or t.Try("cache.policy", "allkeys-s3fifo", "by hand")
//   analyzer.OnSample([&] { t.Tick(); });
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pier/base/status.h"
#include "pier/perf/analyzer.h"

namespace pier::perf {

struct TunerOptions {
  int64_t baseline_ms = 30000;  // the window before a change its objective is compared with
  int64_t settle_ms = 10000;    // after a change: not measured (the cache refills, ...)
  int64_t measure_ms = 30000;   // then measured
  double min_gain = 0.01;       // the objective must improve at least this much (absolute)
  double max_guard_rise = 0.2;  // a guard series may rise at most 20% (lower is better)
  double min_confidence = 0.6;  // auto mode: weaker suggestions are not tried
};

struct Knob {
  std::string name;
  std::function<std::string()> get;
  std::function<Status(const std::string&)> set;
  std::string objective;  // series, e.g. cache.hit_ratio
  bool higher_is_better = true;
  std::vector<std::string> guards;  // series that must not rise, e.g. cache.p99_ms
  // A guard may also rise by this much (absolute) beyond its allowance: for series that sit at
  // 0, like an error ratio (0.01 = one point).
  double guard_slack = 0;
  // When > 0: the objective must improve by this share of its baseline (0.1 = 10%) instead of
  // the tuner's absolute min_gain: for objectives measured in ms or messages/s.
  double min_gain_ratio = 0;
};

// A knob's value as a non-negative integer; the error names the knob.
Result<uint64_t> ParseCount(const std::string& knob, const std::string& value);

class Tuner {
 public:
  Tuner(Analyzer& analyzer, TunerOptions options);

  void AddKnob(Knob knob);
  void SetOptions(const TunerOptions& options);
  Status SetAuto(const std::string& knob, bool on);
  // Starts a trial (FailedPrecondition while one runs; NotFound for an unknown knob).
  Status Try(const std::string& knob, const std::string& value, const std::string& reason);
  // Advances the running trial; in auto mode starts one from the suggestions. Call after each
  // analyzer sample.
  void Tick();

  // Records the current means under `scenario` (a name; at most kMaxBaselines are kept).
  Status SaveBaseline(const std::string& scenario);
  static constexpr size_t kMaxBaselines = 64;
  // Knobs (value, auto), the running trial, the log, and the baselines compared with now.
  nlohmann::json State() const;

 private:
  struct Trial {
    std::string knob, from, to, reason;
    int64_t changed_ms = 0;
    double before = 0;
    std::map<std::string, double> guards_before;
  };
  void Log(const std::string& knob, const std::string& what);
  Knob* Find(const std::string& name);

  Analyzer& analyzer_;
  TunerOptions options_;
  mutable std::mutex mu_;
  std::vector<Knob> knobs_;
  std::map<std::string, bool> auto_;
  std::optional<Trial> trial_;
  std::map<std::string, std::string> tried_;  // knob -> last value tried (auto does not repeat)
  std::vector<nlohmann::json> log_;
  std::map<std::string, std::map<std::string, double>> baselines_;
};

}  // namespace pier::perf
