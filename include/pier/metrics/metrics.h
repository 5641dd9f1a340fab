// File: metrics.h
// Counters, gauges and log-linear histograms, rendered in the Prometheus text format.
//   auto& hits = Registry::Global().GetCounter("pier_demo_hits_total", "Hits.");
//   hits.Inc();  std::string text = Registry::Global().RenderPrometheus();
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace pier::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

namespace detail {
// A small per-thread index so hot counters spread over stripes instead of one cache line.
size_t ThreadStripe();
inline constexpr size_t kStripes = 8;
struct alignas(64) PaddedCounter {
  std::atomic<uint64_t> v{0};
};
}  // namespace detail

// A monotonically increasing count. Thread-safe, lock-free; Inc is a relaxed add on a stripe.
class Counter {
 public:
  void Inc(uint64_t n = 1) {
    stripes_[detail::ThreadStripe()].v.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const;

 private:
  std::array<detail::PaddedCounter, detail::kStripes> stripes_;
};

// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void Set(double v) { bits_.store(ToBits(v), std::memory_order_relaxed); }
  void Add(double d);
  double Value() const { return FromBits(bits_.load(std::memory_order_relaxed)); }

 private:
  static uint64_t ToBits(double v);
  static double FromBits(uint64_t b);
  std::atomic<uint64_t> bits_{0};
};

// A log-linear histogram of non-negative integer samples (in a unit the caller picks, e.g.
// nanoseconds): 8 linear sub-buckets per power of two, so any quantile is within 12.5%.
// Thread-safe and lock-free; each thread records into its own stripe (so hot histograms do not
// bounce cache lines between cores) and reads sum the stripes. Histograms merge by adding counts.
class Histogram {
 public:
  static constexpr int kSubBits = 3;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  // `scale` converts a sample to the exposed unit (1e-9 for ns -> seconds); the exposition has
  // buckets at scale * 2^k for k in [min_pow2, max_pow2], plus +Inf.
  explicit Histogram(double scale = 1.0, int min_pow2 = 0, int max_pow2 = 40)
      : scale_(scale), min_pow2_(min_pow2), max_pow2_(max_pow2) {}

  void Record(uint64_t v) { Record(v, 1); }
  // `n` samples of value `v`.
  void Record(uint64_t v, uint64_t n) {
    Stripe& s = stripes_[detail::ThreadStripe()];
    s.buckets[BucketOf(v)].fetch_add(n, std::memory_order_relaxed);
    s.sum.fetch_add(v * n, std::memory_order_relaxed);
  }
  void Merge(const Histogram& other);
  void Reset();

  uint64_t Count() const;
  uint64_t Sum() const;
  // The smallest bucket upper bound below which at least q of the samples fall; 0 when empty.
  uint64_t Quantile(double q) const;
  // Every bucket's count; two of them subtracted give a window's distribution.
  using Counts = std::array<uint64_t, kBuckets>;
  Counts Buckets() const;
  static uint64_t QuantileOf(const Counts& counts, double q);
  // Samples strictly below `bound` (exact when bound is a power of two).
  uint64_t CountBelow(uint64_t bound) const;

  double scale() const { return scale_; }
  int min_pow2() const { return min_pow2_; }
  int max_pow2() const { return max_pow2_; }

  static int BucketOf(uint64_t v);
  static uint64_t BucketLowerBound(int b);
  static uint64_t BucketUpperBound(int b);  // exclusive; UINT64_MAX for the last

 private:
  struct alignas(64) Stripe {
    std::array<std::atomic<uint64_t>, kBuckets> buckets{};
    std::atomic<uint64_t> sum{0};
  };
  uint64_t BucketCount(int b) const;

  double scale_;
  int min_pow2_, max_pow2_;
  std::array<Stripe, detail::kStripes> stripes_;
};

// Named metric families with labels. Getting a metric takes a lock (do it once, keep the
// reference); using it does not. Metrics live as long as the registry. Thread-safe.
class Registry {
 public:
  Registry();
  ~Registry();
  static Registry& Global();

  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          const Labels& labels = {}, double scale = 1.0, int min_pow2 = 0,
                          int max_pow2 = 40);
  // A value computed at scrape time (e.g. current cache entries). `type` is "gauge" or "counter".
  void AddCallback(const std::string& name, const std::string& help, const std::string& type,
                   const Labels& labels, std::function<double()> fn);

  // The Prometheus text exposition format, version 0.0.4.
  std::string RenderPrometheus() const;

  // Every metric as it is now, for in-process readers (the analyzer): counters and gauges as
  // `value`, histograms as `histogram` (value = its count).
  struct Sample {
    const std::string& name;
    const std::string& type;  // counter, gauge, histogram
    const Labels& labels;
    double value;
    const Histogram* histogram;
  };
  void Visit(const std::function<void(const Sample&)>& fn) const;

 private:
  struct Family;
  Family& FamilyFor(const std::string& name, const std::string& help, const std::string& type);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

// The process metrics every Prometheus client library exports, read from /proc at scrape time.
namespace process_names {
inline constexpr char kCpuSeconds[] = "process_cpu_seconds_total";
inline constexpr char kResidentBytes[] = "process_resident_memory_bytes";
inline constexpr char kStartTime[] = "process_start_time_seconds";
inline constexpr char kThreads[] = "process_threads";
inline constexpr char kOpenFds[] = "process_open_fds";
}  // namespace process_names
void RegisterProcessMetrics(Registry& registry);

}  // namespace pier::metrics
