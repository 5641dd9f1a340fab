// File: source.h
// perf::Source: what one module tells the analyzer. The analyzer knows no module: each server
// registers a Source (Analyzer::AddSource) that names the metrics it reads (Inputs), turns
// each sample into its series (Derive), and holds its suggestion rules (Suggest), its part of
// the score (Score) and any state the metrics lack (Refresh, Describe; the cache's shadow
// curves). docs/perf.md lists every module's series and rules.
//   struct QueueSource : perf::Source {
//     QueueSource() { inputs = {{metric_names::kPublishedTotal, "queue.published"}}; }
//     void Derive(perf::Sampling& s) const override {
//       s.Record("queue.publish_per_s", s.Rate("queue.published"));
//     }
//   };
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pier/metrics/metrics.h"

namespace pier::perf {

class Analyzer;

struct Evidence {
  std::string series;
  int64_t window_s = 0;
  double first = 0, last = 0, mean = 0;
  std::string note;
};

struct Suggestion {
  std::string area;       // memory, cpu, io, concurrency, cache, queue, proxy
  std::string title;      // what to do
  std::string why;        // what was seen
  std::string effect;     // what should change
  double confidence = 0;  // 0..1
  std::vector<Evidence> evidence;
  std::string knob, value;  // for the tuner: e.g. cache.policy = allkeys-s3fifo
};

// One metric a source reads, and where its value goes in the sample: summed (or, for kMax,
// the largest) over the metric's label sets into `key`, or per cluster/host into
// "key:CLUSTER/HOST" when per_host. A gauge's key is also the series it is recorded as.
struct Input {
  enum Kind { kCounter, kGauge, kMax, kHistogram };
  std::string metric;  // a Prometheus name, from the module's names header
  std::string key;     // e.g. queue.published
  Kind kind = kCounter;
  std::string label, label_value;  // when set: only the label sets with this value
  bool per_host = false;
};

// One sample as a source sees it in Derive: differences of its counters since the previous
// sample, quantiles of its histograms' new observations, and a place to record series.
class Sampling {
 public:
  virtual ~Sampling() = default;
  virtual bool Has(const std::string& key) const = 0;      // a counter read this time
  virtual double Delta(const std::string& key) const = 0;  // counter growth since last time
  virtual double seconds() const = 0;                      // since the previous sample
  double Rate(const std::string& key) const { return Delta(key) / seconds(); }
  // A quantile (0..1) in ms of a histogram's observations since the previous sample; NaN
  // without any.
  virtual double QuantileMs(const std::string& key, double q) const = 0;
  // The counter keys that start with `prefix` (per-host inputs).
  virtual std::vector<std::string> Keys(const std::string& prefix) const = 0;
  virtual void Record(const std::string& series, double value) = 0;
  // SERIES.p50_ms and SERIES.p99_ms of a histogram, when it has new observations.
  void RecordLatency(const std::string& key, const std::string& series);
};

// What the sources add to the score: samples held against the latency and error targets, and
// areas of their own (score 0..1, weight).
struct ScoreCard {
  std::vector<double> p99_ms;
  std::vector<double> error_ratios;
  std::map<std::string, std::pair<double, double>> areas;
  std::vector<std::string> notes;
};

class Source {
 public:
  virtual ~Source() = default;
  std::vector<Input> inputs;

  // Each sample, outside the analyzer's lock, before the metrics are read.
  virtual void Refresh() {}
  // Each sample after the first: the source's series.
  virtual void Derive(Sampling&) const {}
  virtual void Suggest(const Analyzer&, std::vector<Suggestion>*) const {}
  virtual void Score(const Analyzer&, ScoreCard*) const {}
  // What the source adds to the analyzer's snapshot (its state beyond the series).
  virtual void Describe(nlohmann::json*) const {}
};

// Helpers for rules: evidence of a series' window, and printf into a string.
Evidence EvidenceOf(const std::string& series, const std::vector<double>& values,
                    int64_t interval_ms, std::string note = "");
std::string Fmt(const char* fmt, double a, double b = 0, double c = 0, double d = 0);

// The shared "requests are queueing" rule: latency rising while throughput stays flat, else a
// p99 that stepped up; nothing when neither. area names the module in the title.
std::optional<Suggestion> LatencyRule(const Analyzer& a, const std::string& area,
                                      const std::string& p99_series,
                                      const std::string& throughput_series);

// Stage histograms (a metric with a `stage` label, e.g. pier_queue_stage_seconds): the stages,
// what each measures and what usually grows it.
struct Stage {
  std::string name, what, hint;
};
// One input per stage, keyed PREFIX.stage.NAME; in Derive, RecordStages records
// PREFIX.NAME_p99_ms for each stage with new observations.
void AddStageInputs(Source& source, const std::string& metric, const std::string& prefix,
                    const std::vector<Stage>& stages);
void RecordStages(Sampling& s, const std::string& prefix, const std::vector<Stage>& stages);
// The stage whose p99 grew the most over its lowest in the history (at least 2x and 1 ms more):
// "PREFIX latency grew in the 'NAME' stage: HINT", in the area PREFIX. Nothing when none did.
std::optional<Suggestion> StageRule(const Analyzer& a, const std::string& prefix,
                                    const std::vector<Stage>& stages);

}  // namespace pier::perf
