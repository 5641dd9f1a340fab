#include "pier/base/duration.h"

#include <gtest/gtest.h>

namespace pier {
namespace {

using namespace std::chrono_literals;
using Duration = std::chrono::nanoseconds;

TEST(DurationTest, ParsesAndFormatsGoDurations) {
  EXPECT_EQ(*ParseGoDuration("10s"), 10s);
  EXPECT_EQ(*ParseGoDuration("1h30m"), 90min);
  EXPECT_EQ(*ParseGoDuration("1.5s"), 1500ms);
  EXPECT_EQ(*ParseGoDuration("300ms"), 300ms);
  EXPECT_EQ(*ParseGoDuration("0"), 0s);
  EXPECT_FALSE(ParseGoDuration("").ok());
  EXPECT_FALSE(ParseGoDuration("10").ok());
  EXPECT_FALSE(ParseGoDuration("1x").ok());
  EXPECT_FALSE(ParseGoDuration("s").ok());
  EXPECT_FALSE(ParseGoDuration("3000000h").ok());  // past int64 nanoseconds
  EXPECT_FALSE(ParseGoDuration(".s").ok());
  EXPECT_EQ(*ParseGoDuration(".5s"), 500ms);
  EXPECT_EQ(*ParseGoDuration("1.000000001s"), 1000000001ns);
  for (auto d : {Duration(1), Duration(999), Duration(9'223'372'036'854'775'807),
                 Duration(8'999'999'999'999'998'977), Duration(3'600'000'000'001)}) {
    EXPECT_EQ(*ParseGoDuration(FormatGoDuration(d)), d) << FormatGoDuration(d);
  }
  EXPECT_EQ(FormatGoDuration(90s), "1m30s");
  EXPECT_EQ(FormatGoDuration(250ms), "250ms");
  EXPECT_EQ(FormatGoDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatGoDuration(2h), "2h0m0s");
  EXPECT_EQ(FormatGoDuration(0s), "0s");
}

}  // namespace
}  // namespace pier
