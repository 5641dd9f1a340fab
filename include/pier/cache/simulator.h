// File: simulator.h
// Replays traces through eviction policies at several cache sizes and reports miss ratios, the
// engine of `pier cache-sim` and of the analyzer's miss-ratio curves.
//   auto rows = Simulate(trace, {"lru", "s3fifo"}, {CacheSize::Fraction(0.01)}, 2);
#pragma once

#include <string>
#include <vector>

#include "pier/cache/trace.h"

namespace pier::cache {

// A cache size: a fraction of the trace's unique keys (or bytes, when by_bytes), or absolute.
struct CacheSize {
  double fraction = 0;  // used when > 0
  uint64_t absolute = 0;
  std::string label;  // as the user wrote it, e.g. "1%" or "5000"
  static CacheSize Fraction(double f, std::string label = {});
  static CacheSize Absolute(uint64_t n);
};

// "1%", "0.1%", "0.01" (a fraction) or "5000" (absolute) -> CacheSize.
Result<CacheSize> ParseCacheSize(const std::string& text);

struct SimulationRow {
  std::string trace;
  std::string policy;
  std::string size_label;
  uint64_t cache_size = 0;  // entries, or bytes when by_bytes
  uint64_t requests = 0;
  uint64_t misses = 0;
  double miss_ratio() const {
    return requests == 0 ? 0 : static_cast<double>(misses) / static_cast<double>(requests);
  }
};

// Each (policy, size) pair runs on its own cache; `threads` of them at a time. With by_bytes the
// capacity is in bytes and each request weighs its size. Rows come back in policy-major order.
Result<std::vector<SimulationRow>> Simulate(const Trace& trace,
                                            const std::vector<std::string>& policies,
                                            const std::vector<CacheSize>& sizes,
                                            unsigned threads = 1, bool by_bytes = false);

}  // namespace pier::cache
