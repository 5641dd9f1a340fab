// File: cache_perf.h
// The cache's analyzer source (cache_perf.cc; CacheServer::AttachTo registers it): its metrics,
// series, suggestion rules and score, plus the shadow's curve that the metrics lack. Series
// cache.ops_per_s, cache.hit_ratio, cache.evictions_per_s, cache.used_bytes, cache.p50_ms,
// cache.p99_ms; rules: a policy or a size the shadow predicts a better hit ratio for, and
// requests queueing; score: the hit ratio against the best policy's predicted one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pier/perf/source.h"

namespace pier::cache::server {

// The shadow's predicted hit ratio per policy and size, read once per sample.
struct Curve {
  std::string policy;  // maxmemory-policy now
  uint64_t maxmemory = 0;
  struct Point {
    std::string policy;  // maxmemory-policy name
    double size_factor = 1;
    uint64_t bytes = 0;
    double hit_ratio = 0;
    uint64_t lookups = 0;
  };
  std::vector<Point> points;  // empty without maxmemory

  const Point* Find(const std::string& p, double factor) const {
    for (const auto& x : points) {
      if (x.policy == p && x.size_factor == factor) return &x;
    }
    return nullptr;
  }
  const Point* Best() const {
    const Point* best = nullptr;
    for (const auto& x : points) {
      if (x.size_factor == 1 && (!best || x.hit_ratio > best->hit_ratio)) best = &x;
    }
    return best;
  }
};

// `read` runs once per sample (the analyzer's thread): the shadow's curve now.
std::shared_ptr<perf::Source> PerfSource(std::function<Curve()> read);

}  // namespace pier::cache::server
