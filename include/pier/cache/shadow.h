// File: shadow.h
// MissRatioShadow: predicts the hit ratio a cache would have under each eviction policy at its
// size, and under its current policy at other sizes, from the live key stream (miss-ratio
// curves). Keys are sampled by hash at a fixed rate (SHARDS, Waldspurger et al., FAST'15): a
// sampled key is fed to one simulated cache per (policy, size) whose capacity is scaled down by
// the same rate, so each prediction costs the sampled share of the traffic. The rate follows
// the capacity: about `target_entries` sampled entries fit at 1x (1 in 16 at most), so a big
// cache, which serves more traffic, samples less. Only key hashes and weights are kept.
// Thread-safe.
//   MissRatioShadow shadow({});
//   shadow.Configure(64 << 20, "lru");          // the real capacity (weight units), its policy
//   shadow.OnLookup(hash);  shadow.OnStore(hash, bytes);  shadow.OnRemove(hash);
//   for (auto& p : shadow.Curve()) ...          // p.policy, p.size_factor, p.hit_ratio
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace pier::cache {

class MissRatioShadow {
 public:
  struct Options {
    std::vector<std::string> policies;            // at 1x; empty: every registered policy
    std::vector<double> size_factors = {0.5, 2};  // the current policy's other sizes
    uint32_t min_sample_shift = 4;                // sample at most 1 key in 2^4
    uint64_t target_entries = 2048;               // sampled entries that fit at 1x
    uint64_t assumed_entry_bytes = 256;           // to turn a capacity into entries
  };
  struct Point {
    std::string policy;
    double size_factor = 1;
    uint64_t capacity = 0;  // the real-scale capacity this point stands for
    uint64_t lookups = 0;   // sampled lookups since the last Configure or ResetCounts
    double hit_ratio = 0;
  };

  explicit MissRatioShadow(Options options);
  ~MissRatioShadow();

  // (Re)builds the simulated caches for a real capacity (0: off) and the current policy (its
  // other sizes are simulated too). Counts start over.
  void Configure(uint64_t capacity, const std::string& current_policy);
  // The real cache changed policy: only the sizes of the new current policy are rebuilt.
  void SetCurrentPolicy(const std::string& policy);
  uint32_t sample_shift() const { return shift_.load(std::memory_order_relaxed); }
  uint64_t capacity() const { return capacity_.load(std::memory_order_relaxed); }

  // Cheap when the key is not sampled (one multiply and compare).
  bool Sampled(uint64_t hash) const {
    return enabled_.load(std::memory_order_relaxed) &&
           ((hash * kMix) >> (64 - kBits)) < threshold_.load(std::memory_order_relaxed);
  }
  void OnLookup(uint64_t hash) {
    if (Sampled(hash)) Lookup(hash);
  }
  void OnStore(uint64_t hash, uint64_t weight) {
    if (Sampled(hash)) Store(hash, weight);
  }
  void OnRemove(uint64_t hash) {
    if (Sampled(hash)) Remove(hash);
  }

  // `total_lookups`: all lookups the real cache saw over the same window (sampled or not), for
  // SHARDS-adj: the sample's surplus or shortfall against the expected share is taken as hits
  // or misses of the hottest keys, which removes most of the error a few hot keys being sampled
  // (or not) would cause. 0: unadjusted.
  std::vector<Point> Curve(uint64_t total_lookups = 0) const;
  // The prediction for one policy and size factor (lookups == 0 when unknown).
  Point Predict(const std::string& policy, double size_factor, uint64_t total_lookups = 0) const;
  void ResetCounts();

 private:
  static constexpr uint64_t kMix = 0x9E3779B97F4A7C15ull;
  static constexpr int kBits = 24;
  void Lookup(uint64_t hash);
  void Store(uint64_t hash, uint64_t weight);
  void Remove(uint64_t hash);

  struct Sim;
  std::unique_ptr<Sim> MakeSim(const std::string& policy, double factor) const;
  Options options_;
  std::atomic<uint32_t> shift_{4};
  std::atomic<uint64_t> threshold_{0};
  std::string current_;
  std::atomic<bool> enabled_{false};
  std::atomic<uint64_t> capacity_{0};
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Sim>> sims_;
};

}  // namespace pier::cache
