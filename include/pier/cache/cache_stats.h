// File: cache_stats.h
// CacheStats: what a cache did, for INFO, /metrics and cache-sim.
#pragma once

#include <cstdint>

namespace pier::cache {

struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t insertions = 0;          // new keys stored
  uint64_t updates = 0;             // existing keys overwritten
  uint64_t evictions_capacity = 0;  // removed to make room
  uint64_t evictions_expired = 0;   // removed because their TTL passed
  uint64_t removals_explicit = 0;   // erased by the user
  uint64_t rejections = 0;          // puts not stored (heavier than the whole capacity)
  uint64_t entries = 0;
  uint64_t weight = 0;

  double HitRatio() const {
    uint64_t total = hits + misses;
    return total == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(total);
  }
  CacheStats& operator+=(const CacheStats& o) {
    hits += o.hits;
    misses += o.misses;
    insertions += o.insertions;
    updates += o.updates;
    evictions_capacity += o.evictions_capacity;
    evictions_expired += o.evictions_expired;
    removals_explicit += o.removals_explicit;
    rejections += o.rejections;
    entries += o.entries;
    weight += o.weight;
    return *this;
  }
};

}  // namespace pier::cache
