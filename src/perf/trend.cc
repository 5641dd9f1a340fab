#include "pier/perf/trend.h"

#include <algorithm>
#include <cmath>

namespace pier::perf {

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

double Slope(const std::vector<double>& v) {
  const size_t n = v.size();
  if (n < 2) return 0;
  const double mx = static_cast<double>(n - 1) / 2, my = Mean(v);
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = static_cast<double>(i) - mx;
    num += dx * (v[i] - my);
    den += dx * dx;
  }
  return num / den;
}

double Ewma(const std::vector<double>& v, double alpha) {
  if (v.empty()) return 0;
  double e = v[0];
  for (size_t i = 1; i < v.size(); ++i) e = alpha * v[i] + (1 - alpha) * e;
  return e;
}

ChangePoint DetectChangePoint(const std::vector<double>& v, size_t min_segment, double min_score,
                              double min_relative) {
  ChangePoint best;
  const size_t n = v.size();
  if (min_segment == 0 || n < 2 * min_segment) return best;
  // Prefix sums make each split O(1).
  std::vector<double> s(n + 1, 0), q(n + 1, 0);
  for (size_t i = 0; i < n; ++i) {
    s[i + 1] = s[i] + v[i];
    q[i + 1] = q[i] + v[i] * v[i];
  }
  for (size_t k = min_segment; k + min_segment <= n; ++k) {
    const double n1 = static_cast<double>(k), n2 = static_cast<double>(n - k);
    const double m1 = s[k] / n1, m2 = (s[n] - s[k]) / n2;
    const double ss1 = std::max(0.0, q[k] - n1 * m1 * m1);
    const double ss2 = std::max(0.0, q[n] - q[k] - n2 * m2 * m2);
    const double pooled = std::sqrt((ss1 + ss2) / std::max(1.0, n1 + n2 - 2));
    // A floor on the spread: flat segments would otherwise make any step infinitely significant.
    const double sd = std::max(pooled, 1e-3 * std::max(std::abs(m1), std::abs(m2)) + 1e-12);
    const double score = std::abs(m2 - m1) / sd;
    if (score > best.score) best = {false, k, m1, m2, score};
  }
  const double base = std::max(std::abs(best.before), 1e-12);
  best.found = best.score >= min_score && std::abs(best.after - best.before) / base >= min_relative;
  return best;
}

bool CpuSaturated(const std::vector<double>& cpu_cores, double cores, double share) {
  return !cpu_cores.empty() && cores > 0 && Mean(cpu_cores) >= share * cores;
}

namespace {
// The fitted line's change from the first to the last point, relative to the mean.
double RelativeChange(const std::vector<double>& v) {
  const double m = Mean(v);
  if (v.size() < 2 || m == 0) return 0;
  return Slope(v) * static_cast<double>(v.size() - 1) / std::abs(m);
}
}  // namespace

bool LatencyRisingThroughputFlat(const std::vector<double>& latency,
                                 const std::vector<double>& throughput, double rise, double flat) {
  if (latency.size() < 5 || throughput.size() < 5) return false;
  return RelativeChange(latency) >= rise && std::abs(RelativeChange(throughput)) < flat;
}

}  // namespace pier::perf
