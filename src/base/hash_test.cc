#include "pier/base/hash.h"

#include <gtest/gtest.h>

#include <bitset>

namespace pier {
namespace {

TEST(Hash, BytesMatchAcrossStringTypes) {
  std::string s = "user:42";
  EXPECT_EQ(HashBytes(s), HashBytes(std::string_view("user:42")));
  EXPECT_EQ(KeyHash<std::string>{}(s), HashBytes(s));
  EXPECT_NE(HashBytes("a"), HashBytes("b"));
}

TEST(Hash, IntegerKeysAreMixed) {
  // Consecutive integers must differ in about half their bits (std::hash<int> is the identity).
  int total = 0;
  for (int i = 0; i < 1000; ++i) {
    total += static_cast<int>(std::bitset<64>(KeyHash<int>{}(i) ^ KeyHash<int>{}(i + 1)).count());
  }
  EXPECT_NEAR(total / 1000.0, 32.0, 2.0);
}

}  // namespace
}  // namespace pier
