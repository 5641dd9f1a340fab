#include "cache/detail/count_min_sketch.h"

#include <gtest/gtest.h>

#include "pier/base/hash.h"

namespace pier::cache::detail {
namespace {

TEST(CountMinSketch, SixteenCountersPerExpectedEntry) {
  CountMinSketch s(1000);
  EXPECT_EQ(s.width(), 16u * 1024u);
}

TEST(CountMinSketch, CountsAndSaturatesAtFifteen) {
  CountMinSketch s(1024);
  EXPECT_EQ(s.Frequency(Mix64(1)), 0);
  for (int i = 0; i < 5; ++i) s.Increment(Mix64(1));
  EXPECT_EQ(s.Frequency(Mix64(1)), 5);
  for (int i = 0; i < 30; ++i) s.Increment(Mix64(2));
  EXPECT_EQ(s.Frequency(Mix64(2)), 15);
}

TEST(CountMinSketch, NeverUnderestimatesBeforeAReset) {
  CountMinSketch s(4096);
  for (uint64_t k = 0; k < 500; ++k) {
    for (uint64_t i = 0; i < k % 7; ++i) s.Increment(Mix64(k));
  }
  for (uint64_t k = 0; k < 500; ++k) EXPECT_GE(s.Frequency(Mix64(k)), static_cast<int>(k % 7));
}

TEST(CountMinSketch, HalvesCountsAfterTheSamplePeriod) {
  CountMinSketch s(1024, 20);  // halve after 20 increments
  for (int i = 0; i < 8; ++i) s.Increment(Mix64(7));
  EXPECT_EQ(s.Frequency(Mix64(7)), 8);
  for (uint64_t k = 100; k < 111; ++k) s.Increment(Mix64(k));
  EXPECT_EQ(s.Frequency(Mix64(7)), 8);  // 19 increments: not yet
  s.Increment(Mix64(111));              // the 20th halves every counter
  EXPECT_EQ(s.Frequency(Mix64(7)), 4);
  EXPECT_EQ(s.Frequency(Mix64(111)), 0);
}

}  // namespace
}  // namespace pier::cache::detail
