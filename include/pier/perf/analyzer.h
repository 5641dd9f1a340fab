// File: analyzer.h
// Analyzer: takes a snapshot of the process and of every registered module's metrics at a
// fixed interval, keeps a bounded history per series (a ring buffer each), and from it derives
// suggestions (with their evidence, expected effect and confidence) and a 0-100 score. It
// knows no module: each server registers a perf::Source (source.h) with the metrics it reads,
// the series it derives, and its rules; the analyzer itself only adds the process (series
// process.cpu_cores, process.rss_bytes, process.threads, process.fds, and the CPU rule).
//   Analyzer a(metrics::Registry::Global(), {.interval_ms = 1000});
//   cache_server.AttachTo(a, tuner);  // a.AddSource(...), tuner.AddKnob(...)
//   a.Start();  ...  a.Snapshot();  a.Suggestions();  a.ComputeScore();  a.Stop();
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pier/base/status.h"
#include "pier/metrics/metrics.h"
#include "pier/perf/source.h"

namespace pier::perf {

struct AnalyzerOptions {
  int64_t interval_ms = 1000;
  size_t history = 900;        // points kept per series (15 minutes at 1 s)
  size_t max_series = 2000;    // beyond: new series are not tracked (and counted)
  double cores = 0;            // 0: the online CPUs
  double latency_slo_ms = 50;  // p99 target for proxy and cache requests
  double error_slo = 0.01;     // error ratio target
  size_t window = 60;          // points the suggestions and the score look at
};

struct Score {
  int total = 100;
  std::map<std::string, int> areas;  // latency, errors, resources, cache, queue
  std::vector<std::string> notes;    // how each area was scored
};

class Analyzer {
 public:
  using Clock = std::function<int64_t()>;  // ms
  Analyzer(metrics::Registry& metrics, AnalyzerOptions options, Clock clock = {});
  ~Analyzer();

  // A module's inputs, series and rules; sources added before the first sample see it whole.
  void AddSource(std::shared_ptr<Source> source);
  // Called after each sample, outside the analyzer's lock (the tuner ticks here).
  void OnSample(std::function<void()> fn);
  // Samples every interval on a thread of its own until Stop().
  void Start();
  void Stop();
  // One snapshot now (the thread calls it; tests call it with a fake clock).
  void Sample();

  const AnalyzerOptions& options() const { return options_; }
  // The latest value of every series, the cache's curve, and the analyzer's own cost.
  nlohmann::json Snapshot() const;
  // [[t_ms, value], ...] of one series (empty when unknown).
  nlohmann::json History(const std::string& series) const;
  std::vector<std::string> SeriesNames() const;
  // The last `n` values of a series (fewer when it is younger).
  std::vector<double> Recent(const std::string& series, size_t n) const;
  // The mean of a series over [from_ms, to_ms]; NaN when no point falls in it.
  double MeanBetween(const std::string& series, int64_t from_ms, int64_t to_ms) const;

  std::vector<Suggestion> Suggestions() const;
  Score ComputeScore() const;
  static nlohmann::json ToJson(const Suggestion& s);
  static nlohmann::json ToJson(const Score& s);

  // The history, to persist (history.cc): JSON text with wall-clock times, so a restarted
  // process maps them onto its own clock.
  std::string SaveHistory() const;
  // Adds a saved history before the points sampled since start (per series, the newest
  // `history` points are kept). All or nothing: an error says what is wrong and where.
  Status LoadHistory(std::string_view text);
  static constexpr size_t kMaxHistoryBytes = 64 << 20;
  static constexpr size_t kMaxSeriesName = 256;

  // Records a value directly (the tuner's annotations, tests).
  void Record(const std::string& series, int64_t t_ms, double value);
  int64_t Now() const { return clock_(); }

 private:
  struct Series {
    std::deque<std::pair<int64_t, double>> points;
  };
  struct Previous {  // cumulative readings of the last sample, for rates and windows
    std::map<std::string, double> counters;
    std::map<std::string, metrics::Histogram::Counts> histograms;
    int64_t t_ms = 0;
  };

  // The registered sources, copied under the lock (their calls run outside it).
  std::vector<std::shared_ptr<Source>> Sources() const;
  // The series, created when new; nullptr (and counted) when max_series are tracked already.
  Series* SeriesLocked(const std::string& name);
  void RecordLocked(const std::string& series, int64_t t_ms, double value);

  metrics::Registry& metrics_;
  std::vector<std::function<void()>> on_sample_;
  AnalyzerOptions options_;
  Clock clock_;
  std::vector<std::shared_ptr<Source>> sources_;  // guarded by mu_; the process's first

  mutable std::mutex mu_;
  std::map<std::string, Series> series_;
  size_t dropped_series_ = 0;
  Previous prev_;
  double sample_cost_us_ = 0;  // the last Sample()'s own time

  std::thread thread_;
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
};

}  // namespace pier::perf
