// File: count_min_sketch.h
// CountMinSketch: approximate access frequencies with 4-bit counters and periodic halving, the
// "TinyLFU" frequency sketch (Einziger, Friedman, Manes: "TinyLFU: A Highly Efficient Cache
// Admission Policy", ACM TOS 2017), laid out as Caffeine's FrequencySketch: 16 counters per
// 64-bit word, one word per cached entry, 4 hashed positions per key, and a reset that halves every
// counter after 10 * width increments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pier::cache::detail {

// Not thread-safe.
class CountMinSketch {
 public:
  // Sized for about `expected_entries` distinct hot keys: 16 counters each, rounded up to a power
  // of two; counts halve after `sample_size` increments (0: 10 * expected_entries, as Caffeine).
  explicit CountMinSketch(uint64_t expected_entries = 64, uint64_t sample_size = 0);

  void Increment(uint64_t hash);
  // The estimated frequency, 0..15.
  int Frequency(uint64_t hash) const;
  // Grows the table when the cache holds more entries than it was sized for (counts restart).
  void EnsureCapacity(uint64_t entries);
  uint64_t width() const { return table_.size() * 16; }  // counters
  uint64_t expected() const { return expected_; }

 private:
  void Reset();
  size_t IndexOf(uint64_t hash, int row) const;

  std::vector<uint64_t> table_;  // 16 counters of 4 bits per word
  uint64_t expected_ = 1;
  uint64_t size_ = 0;  // increments since the last reset
  uint64_t sample_size_ = 0;
};

}  // namespace pier::cache::detail
