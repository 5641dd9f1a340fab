#include "pier/balance/hash_ring.h"

#include <gtest/gtest.h>

#include <set>

#include "pier/base/hash.h"

namespace pier::balance {
namespace {

TEST(HashRing, SpreadsKeysEvenly) {
  HashRing ring({"a:1", "b:2", "c:3", "d:4"});
  std::vector<int> count(4);
  for (uint64_t k = 0; k < 40000; ++k) ++count[ring.Owner(Mix64(k + 1))];
  for (int c : count) EXPECT_NEAR(c, 10000, 1500);
}

TEST(HashRing, AddingANodeMovesAboutOneNth) {
  HashRing four({"a:1", "b:2", "c:3", "d:4"});
  HashRing five({"a:1", "b:2", "c:3", "d:4", "e:5"});
  int moved = 0;
  const int n = 50000;
  for (uint64_t k = 0; k < n; ++k) {
    size_t before = four.Owner(Mix64(k + 1)), after = five.Owner(Mix64(k + 1));
    if (before != after) {
      ++moved;
      EXPECT_EQ(after, 4u);  // keys only move to the new node
    }
  }
  EXPECT_NEAR(static_cast<double>(moved) / n, 0.2, 0.05);
}

TEST(HashRing, WalkVisitsEveryNodeOnceOwnerFirst) {
  HashRing ring({"a:1", "b:2", "c:3"});
  for (uint64_t k = 1; k < 100; ++k) {
    auto walk = ring.Walk(Mix64(k));
    ASSERT_EQ(walk.size(), 3u);
    EXPECT_EQ(std::set<size_t>(walk.begin(), walk.end()).size(), 3u);
    EXPECT_EQ(walk[0], ring.Owner(Mix64(k)));
  }
}

}  // namespace
}  // namespace pier::balance
