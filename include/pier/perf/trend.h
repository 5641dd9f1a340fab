// File: trend.h
// Trend analysis on an evenly spaced series (one value per analyzer interval): least-squares
// slope, EWMA, change-point detection (the split that best separates two means, in pooled
// standard deviations), and the two saturation signs the analyzer reports (CPU near the core
// count; latency rising while throughput stays flat).
//   double s = Slope(p99);                       // per step
//   auto cp = DetectChangePoint(p99);  if (cp.found) ... cp.before -> cp.after at cp.index
#pragma once

#include <cstddef>
#include <vector>

namespace pier::perf {

double Mean(const std::vector<double>& v);
// Least-squares slope per step (0 for fewer than two points).
double Slope(const std::vector<double>& v);
// Exponentially weighted moving average, alpha the weight of each new point (0 < alpha <= 1).
double Ewma(const std::vector<double>& v, double alpha);

struct ChangePoint {
  bool found = false;
  size_t index = 0;  // the first point of the new level
  double before = 0, after = 0;
  double score = 0;  // |after - before| in pooled standard deviations
};
// A level shift: found when the best split has segments of at least `min_segment` points, a
// score of at least `min_score` and a relative change of at least `min_relative`.
ChangePoint DetectChangePoint(const std::vector<double>& v, size_t min_segment = 5,
                              double min_score = 4, double min_relative = 0.2);

// CPU (in cores) at or above `share` of `cores` on average over the series.
bool CpuSaturated(const std::vector<double>& cpu_cores, double cores, double share = 0.9);
// Latency rose by at least `rise` (relative, first to last by the fitted line) while
// throughput changed by less than `flat` (relative): the sign of a queue building up.
bool LatencyRisingThroughputFlat(const std::vector<double>& latency,
                                 const std::vector<double>& throughput, double rise = 0.3,
                                 double flat = 0.1);

}  // namespace pier::perf
