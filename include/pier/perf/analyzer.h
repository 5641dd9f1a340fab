// File: analyzer.h
// Analyzer: takes a snapshot of the process and of every module's metrics at a fixed interval,
// keeps a bounded history per series (a ring buffer each), and from it derives suggestions
// (with their evidence, expected effect and confidence) and a 0-100 score. It reads only the
// metrics::Registry and, for the cache, a CacheView the server provides (its miss-ratio curves).
//   Analyzer a(metrics::Registry::Global(), {.interval_ms = 1000});
//   a.SetCacheSource([&] { return CacheViewOf(server); });
//   a.Start();  ...  a.Snapshot();  a.Suggestions();  a.ComputeScore();  a.Stop();
// Series (names in docs/perf.md): process.cpu_cores, process.rss_bytes, process.threads,
// process.fds; cache.ops_per_s, cache.hit_ratio, cache.evictions_per_s, cache.used_bytes,
// cache.p50_ms, cache.p99_ms; proxy.rps, proxy.error_ratio, proxy.p50_ms, proxy.p99_ms,
// proxy.host.p99_ms{HOST}, proxy.host.rps{HOST}, proxy.breaker_transitions{HOST},
// proxy.ejected_hosts; queue.publish_per_s, queue.ack_per_s, queue.fsyncs_per_s, queue.ready,
// queue.oldest_age_s, queue.dead; registry.instances, registry.probe_lag_p99_ms.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "pier/base/status.h"
#include "pier/metrics/metrics.h"

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

// What the cache server knows that metrics do not: its policy, size and predictions.
struct CacheView {
  bool present = false;
  std::string policy;  // maxmemory-policy, e.g. allkeys-lru
  uint64_t maxmemory = 0;
  struct Point {
    std::string policy;  // maxmemory-policy name
    double size_factor = 1;
    uint64_t bytes = 0;
    double hit_ratio = 0;
    uint64_t lookups = 0;
  };
  std::vector<Point> curve;  // predicted hit ratios (empty without maxmemory)
};

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

  void SetCacheSource(std::function<CacheView()> source);
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
  CacheView cache() const;

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

  // The series, created when new; nullptr (and counted) when max_series are tracked already.
  Series* SeriesLocked(const std::string& name);
  void RecordLocked(const std::string& series, int64_t t_ms, double value);

  metrics::Registry& metrics_;
  std::vector<std::function<void()>> on_sample_;
  AnalyzerOptions options_;
  Clock clock_;
  std::function<CacheView()> cache_source_;

  mutable std::mutex mu_;
  std::map<std::string, Series> series_;
  size_t dropped_series_ = 0;
  Previous prev_;
  CacheView cache_;
  double sample_cost_us_ = 0;  // the last Sample()'s own time

  std::thread thread_;
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool running_ = false;
};

}  // namespace pier::perf
