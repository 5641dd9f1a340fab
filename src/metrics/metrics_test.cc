#include "pier/metrics/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace pier::metrics {
namespace {

TEST(Counter, SumsAcrossThreads) {
  Counter c;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) c.Inc();
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Value(), 40000u);
}

TEST(Gauge, SetAndAdd) {
  Gauge g;
  g.Set(2.5);
  g.Add(-1);
  EXPECT_DOUBLE_EQ(g.Value(), 1.5);
}

TEST(Histogram, BucketsAreLogLinearAndContiguous) {
  for (int b = 0; b + 1 < Histogram::kBuckets; ++b) {
    ASSERT_EQ(Histogram::BucketUpperBound(b), Histogram::BucketLowerBound(b + 1));
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketLowerBound(b)), b);
    ASSERT_EQ(Histogram::BucketOf(Histogram::BucketUpperBound(b) - 1), b);
  }
  EXPECT_EQ(Histogram::BucketOf(0), 0);
  EXPECT_EQ(Histogram::BucketOf(UINT64_MAX), Histogram::kBuckets - 1);
}

TEST(Histogram, QuantilesWithinOneEighth) {
  Histogram h;
  for (uint64_t v = 1; v <= 10000; ++v) h.Record(v);
  for (double q : {0.5, 0.9, 0.99}) {
    double exact = q * 10000;
    double got = static_cast<double>(h.Quantile(q));
    EXPECT_GE(got, exact);
    EXPECT_LE(got, exact * 1.125 + 1);
  }
  EXPECT_EQ(h.Count(), 10000u);
  EXPECT_EQ(h.Sum(), 10000u * 10001u / 2);
}

TEST(Histogram, MergeAddsCounts) {
  Histogram a, b;
  a.Record(5);
  b.Record(500);
  b.Record(500);
  a.Merge(b);
  EXPECT_EQ(a.Count(), 3u);
  EXPECT_EQ(a.CountBelow(8), 1u);
  EXPECT_EQ(a.CountBelow(512), 3u);
  a.Reset();
  EXPECT_EQ(a.Count(), 0u);
  EXPECT_EQ(a.Quantile(0.5), 0u);
}

TEST(Registry, RendersPrometheusText) {
  Registry r;
  r.GetCounter("pier_requests_total", "Requests served.", {{"code", "200"}}).Inc(3);
  r.GetCounter("pier_requests_total", "Requests served.", {{"code", "500"}}).Inc();
  r.GetGauge("pier_connections", "Open connections.").Set(7);
  auto& h = r.GetHistogram("pier_latency_seconds", "Latency.", {}, 1e-9, 10, 12);
  h.Record(1500);  // 1.5 us
  r.AddCallback("pier_entries", "Entries \\ now.", "gauge", {{"q", "a\"b"}}, [] { return 9.0; });
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE pier_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("pier_requests_total{code=\"200\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("pier_requests_total{code=\"500\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pier_connections 7\n"), std::string::npos);
  EXPECT_NE(text.find("pier_latency_seconds_bucket{le=\"1.024e-06\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("pier_latency_seconds_bucket{le=\"2.048e-06\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pier_latency_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("pier_latency_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("# HELP pier_entries Entries \\\\ now.\n"), std::string::npos);
  EXPECT_NE(text.find("pier_entries{q=\"a\\\"b\"} 9\n"), std::string::npos);
  // Same name and labels give the same metric.
  EXPECT_EQ(&r.GetCounter("pier_requests_total", "x", {{"code", "200"}}),
            &r.GetCounter("pier_requests_total", "x", {{"code", "200"}}));
}

TEST(Registry, ProcessMetricsReadProc) {
  Registry r;
  RegisterProcessMetrics(r);
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("process_resident_memory_bytes "), std::string::npos);
  EXPECT_EQ(text.find("process_resident_memory_bytes 0\n"), std::string::npos);
  EXPECT_NE(text.find("process_open_fds "), std::string::npos);
}

}  // namespace
}  // namespace pier::metrics
