#include "cache/detail/count_min_sketch.h"

#include <algorithm>
#include <bit>

#include "pier/base/hash.h"

namespace pier::cache::detail {

CountMinSketch::CountMinSketch(uint64_t expected_entries, uint64_t sample_size) {
  // As Caffeine: one 64-bit word (16 counters) per expected entry, rounded up to a power of two.
  expected_ = std::max<uint64_t>(expected_entries, 1);
  table_.assign(std::bit_ceil(expected_), 0);
  sample_size_ = sample_size != 0 ? sample_size : 10 * expected_;
}

void CountMinSketch::EnsureCapacity(uint64_t entries) {
  if (entries <= expected_) return;
  *this = CountMinSketch(entries);
}

size_t CountMinSketch::IndexOf(uint64_t hash, int row) const {
  // Each row hashes with its own seed, so rows collide independently.
  uint64_t h = Mix64(hash + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(row + 1));
  return static_cast<size_t>(h & (width() - 1));
}

int CountMinSketch::Frequency(uint64_t hash) const {
  int freq = 15;
  for (int row = 0; row < 4; ++row) {
    size_t i = IndexOf(hash, row);
    int c = static_cast<int>((table_[i >> 4] >> ((i & 15) * 4)) & 0xF);
    freq = std::min(freq, c);
  }
  return freq;
}

void CountMinSketch::Increment(uint64_t hash) {
  bool added = false;
  for (int row = 0; row < 4; ++row) {
    size_t i = IndexOf(hash, row);
    uint64_t& word = table_[i >> 4];
    int shift = static_cast<int>((i & 15) * 4);
    if (((word >> shift) & 0xF) != 0xF) {
      word += uint64_t{1} << shift;
      added = true;
    }
  }
  if (added && ++size_ >= sample_size_) Reset();
}

void CountMinSketch::Reset() {
  // Halve every counter: shift each nibble right by one, masking the bit that crosses nibbles.
  for (auto& w : table_) w = (w >> 1) & 0x7777777777777777ULL;
  size_ /= 2;
}

}  // namespace pier::cache::detail
