#include "pier/base/strings.h"

#include <gtest/gtest.h>

namespace pier {
namespace {

TEST(Strings, CaseInsensitive) {
  EXPECT_TRUE(EqualsIgnoreCase("GeT", "get"));
  EXPECT_FALSE(EqualsIgnoreCase("get", "gets"));
  EXPECT_TRUE(StartsWithIgnoreCase("Bearer abc", "bearer "));
  EXPECT_EQ(AsciiLower("X-Consul-Token"), "x-consul-token");
}

TEST(Strings, NamesThatBecomePathsAreChecked) {
  EXPECT_TRUE(CheckName("service name", "catalog-v2.1_a").ok());
  for (const char* bad : {"", "../x", "a/b", ".hidden", "-x", "a b", "a\nb", "tab\t"}) {
    EXPECT_FALSE(CheckName("service name", bad).ok()) << bad;
  }
  EXPECT_FALSE(CheckName("version", std::string(64, 'a')).ok());
  EXPECT_EQ(CheckName("version", "a/b").message(),
            "version 'a/b' has a character not allowed (use 1-63 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit)");
}

}  // namespace
}  // namespace pier
