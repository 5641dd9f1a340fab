#include "cache/detail/ghost_set.h"

#include <gtest/gtest.h>

#include "pier/base/hash.h"

namespace pier::cache::detail {
namespace {

TEST(HashSet32, InsertContainsEraseUnderChurn) {
  HashSet32 s;
  for (uint64_t i = 1; i <= 5000; ++i) s.Insert(Mix64(i));
  s.Insert(0);  // zero is a valid hash (Mix64(i) is non-zero for i > 0)
  EXPECT_EQ(s.size(), 5001u);
  for (uint64_t i = 2; i <= 5000; i += 2) EXPECT_TRUE(s.Erase(Mix64(i)));
  EXPECT_FALSE(s.Erase(Mix64(2)));
  for (uint64_t i = 1; i <= 5000; ++i) EXPECT_EQ(s.Contains(Mix64(i)), i % 2 == 1) << i;
  EXPECT_TRUE(s.Contains(0));
}

TEST(GhostSet, RemembersTheRecentHalfToAllOfCapacity) {
  GhostSet g;
  g.set_capacity(100);
  for (uint64_t i = 0; i < 1000; ++i) g.Insert(Mix64(i));
  // The 50 most recent are always remembered; anything older than 100 inserts is forgotten.
  for (uint64_t i = 950; i < 1000; ++i) EXPECT_TRUE(g.Contains(Mix64(i)));
  for (uint64_t i = 0; i < 900; ++i) EXPECT_FALSE(g.Contains(Mix64(i)));
  EXPECT_LE(g.size(), 100u);
  g.Erase(Mix64(999));
  EXPECT_FALSE(g.Contains(Mix64(999)));
}

}  // namespace
}  // namespace pier::cache::detail
