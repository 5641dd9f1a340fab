// Saving and loading the analyzer's history: across a restart the points keep their wall-clock
// times on the new clock; bad files are refused whole with what is wrong and where.
#include <gtest/gtest.h>

#include "pier/perf/analyzer.h"

namespace pier::perf {
namespace {

struct HistoryTest : ::testing::Test {
  metrics::Registry m;
  int64_t now = 1000000;
  Analyzer a{m, {.history = 5, .max_series = 3}, [this] { return now; }};
};

TEST_F(HistoryTest, ARestartedAnalyzerGetsTheOldPointsBeforeItsNewOnes) {
  for (int i = 0; i < 3; ++i) a.Record("proxy.p99_ms", now - (3 - i) * 1000, 10 + i);
  const std::string saved = a.SaveHistory();
  // The new process: its clock starts elsewhere; it sampled once before loading.
  int64_t later = 5000;
  Analyzer b{m, {.history = 5, .max_series = 3}, [&later] { return later; }};
  b.Record("proxy.p99_ms", later + 10, 99);
  ASSERT_TRUE(b.LoadHistory(saved).ok());
  const auto v = b.Recent("proxy.p99_ms", 10);
  EXPECT_EQ(v, (std::vector<double>{10, 11, 12, 99}));
  // Same wall-clock spacing: the old points are 1 s apart on the new clock too.
  const auto h = b.History("proxy.p99_ms");
  EXPECT_EQ(h[1][0].get<int64_t>() - h[0][0].get<int64_t>(), 1000);
  EXPECT_LT(h[2][0].get<int64_t>(), h[3][0].get<int64_t>());
}

TEST_F(HistoryTest, KeepsOnlyTheNewestPointsOfALongSeries) {
  for (int i = 0; i < 5; ++i) a.Record("s", now + i, i);
  std::string saved = a.SaveHistory();
  a.Record("s", now + 100, 100);
  ASSERT_TRUE(a.LoadHistory(saved).ok());  // overlapping and newer points are not doubled
  EXPECT_EQ(a.Recent("s", 10), (std::vector<double>{1, 2, 3, 4, 100}));
}

TEST_F(HistoryTest, RefusesBadInputWholeSayingWhereItIsWrong) {
  auto error = [&](const std::string& text) {
    Status s = a.LoadHistory(text);
    return s.ok() ? std::string("ok") : s.message();
  };
  EXPECT_EQ(error("{\"format\": "), "not JSON: at byte 12");
  EXPECT_EQ(error("1e99999"), "not JSON that can be read: a number out of range");
  EXPECT_EQ(error(R"({"format": 0, "version": "1"})"),
            "not a history: expected {\"format\": \"pier-perf-history\", \"version\": 1, "
            "\"series\": {...}}");
  EXPECT_EQ(error("[]"),
            "not a history: expected {\"format\": \"pier-perf-history\", \"version\": 1, "
            "\"series\": {...}}");
  const std::string head = R"({"format": "pier-perf-history", "version": 1, "series": )";
  EXPECT_EQ(error(head + R"({"a": [[1, 2], [3, "x"]]}})"),
            "series 'a': point 1 is not [t_ms, value]");
  EXPECT_EQ(error(head + R"({"a": [[5, 2], [3, 1]]}})"), "series 'a': point 1 goes back in time");
  EXPECT_EQ(error(head + R"({"a": [], "b": [], "c": [], "d": []}})"),
            "4 series, more than the 3 tracked");
  EXPECT_EQ(error(head + R"({"": []}})"), "series '': a name is 1 to 256 characters");
  EXPECT_EQ(error(head + R"({"a": [[1, 1]], "b": 7}})"), "series 'b': not an array of points");
  EXPECT_TRUE(a.SeriesNames().empty());  // nothing of a refused file was loaded
  EXPECT_EQ(error(head + R"({"a": [[1, 1]]}})"), "ok");
}

}  // namespace
}  // namespace pier::perf
