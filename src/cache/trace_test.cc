#include "pier/cache/trace.h"

#include <gtest/gtest.h>

#include <sstream>
#include <unordered_map>

#include "pier/cache/simulator.h"

namespace pier::cache {
namespace {

TEST(Trace, ZipfIsSkewedAndDeterministic) {
  auto a = GenerateTrace("zipf:1.0", {.objects = 1000, .requests = 100000, .seed = 3});
  auto b = GenerateTrace("zipf:1.0", {.objects = 1000, .requests = 100000, .seed = 3});
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->requests.size(), 100000u);
  std::unordered_map<uint64_t, int> count;
  for (size_t i = 0; i < a->requests.size(); ++i) {
    ASSERT_EQ(a->requests[i].key, b->requests[i].key);
    ++count[a->requests[i].key];
  }
  // Rank 1 of Zipf(1.0) over 1000 objects has probability 1/H(1000) ~ 13.4%.
  EXPECT_NEAR(count[0] / 100000.0, 0.134, 0.01);
  EXPECT_GT(count[0], 1.8 * count[1]);
}

TEST(Trace, ScanFractionIsAsAsked) {
  auto t = GenerateTrace("scan:0.3", {.objects = 1000, .requests = 200000, .seed = 1});
  ASSERT_TRUE(t.ok());
  size_t scan = 0;
  for (const auto& r : t->requests) scan += r.key >= 1000;
  EXPECT_NEAR(static_cast<double>(scan) / 200000, 0.3, 0.03);
}

TEST(Trace, OneHitWondersAreNeverRepeated) {
  auto t = GenerateTrace("onehit:0.5", {.objects = 100, .requests = 10000, .seed = 1});
  ASSERT_TRUE(t.ok());
  std::unordered_map<uint64_t, int> count;
  for (const auto& r : t->requests) ++count[r.key];
  for (const auto& [k, n] : count) {
    if (k >= 100) {
      EXPECT_EQ(n, 1);
    }
  }
}

TEST(Trace, LoopCycles) {
  auto t = GenerateTrace("loop", {.objects = 3, .requests = 7, .seed = 1});
  ASSERT_TRUE(t.ok());
  std::vector<uint64_t> keys;
  for (const auto& r : t->requests) keys.push_back(r.key);
  EXPECT_EQ(keys, (std::vector<uint64_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(Trace, BadGeneratorsAreNamed) {
  EXPECT_NE(GenerateTrace("zipf:x", {}).status().message().find("zipf:x"), std::string::npos);
  EXPECT_NE(GenerateTrace("pareto", {}).status().message().find("unknown trace generator"),
            std::string::npos);
  EXPECT_FALSE(GenerateTrace("scan:1.5", {}).ok());
}

TEST(Trace, ReadsKeysAndSizes) {
  std::istringstream in("a 10\nb,20\n# comment\n\na\nc\t5\r\n");
  auto t = ReadTrace(in, "t.txt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->requests.size(), 4u);
  EXPECT_EQ(t->requests[0].key, t->requests[2].key);
  EXPECT_EQ(t->requests[1].size, 20u);
  EXPECT_EQ(t->requests[2].size, 1u);
  EXPECT_EQ(t->unique_keys, 3u);
}

TEST(Trace, FileErrorsGiveFileAndLine) {
  std::istringstream bad_size("a 1\nb -3\n");
  EXPECT_EQ(ReadTrace(bad_size, "t.txt").status().message().rfind("t.txt:2: size", 0), 0u);
  std::istringstream extra("a 1 2\n");
  EXPECT_NE(ReadTrace(extra, "t.txt").status().message().find("t.txt:1: expected KEY [SIZE]"),
            std::string::npos);
  std::istringstream longline(std::string(kMaxTraceLineBytes + 5, 'x'));
  EXPECT_NE(ReadTrace(longline, "t.txt").status().message().find("line longer"), std::string::npos);
  std::istringstream many("a\nb\nc\n");
  EXPECT_NE(ReadTrace(many, "t.txt", 2).status().message().find("t.txt:3: more than 2"),
            std::string::npos);
  std::istringstream empty("# nothing\n");
  EXPECT_FALSE(ReadTrace(empty, "t.txt").ok());
}

TEST(Simulator, LoopDefeatsLruButNotFifoReinsertion) {
  // A loop over 100 keys with room for 50: LRU misses every request (its textbook worst case).
  auto t = GenerateTrace("loop", {.objects = 100, .requests = 10000, .seed = 1});
  ASSERT_TRUE(t.ok());
  auto rows = Simulate(*t, {"lru", "random"}, {CacheSize::Absolute(50)}, 2);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].policy, "lru");
  EXPECT_DOUBLE_EQ((*rows)[0].miss_ratio(), 1.0);
  EXPECT_LT((*rows)[1].miss_ratio(), 0.8);
}

TEST(Simulator, ByBytesUsesSizes) {
  std::istringstream in("a 60\nb 60\na 60\nb 60\n");
  auto t = ReadTrace(in, "t");
  ASSERT_TRUE(t.ok());
  // 100 bytes hold one of the two objects: every request misses with LRU.
  auto rows = Simulate(*t, {"lru"}, {CacheSize::Absolute(100)}, 1, true);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].misses, 4u);
  auto fits = Simulate(*t, {"lru"}, {CacheSize::Absolute(120)}, 1, true);
  EXPECT_EQ((*fits)[0].misses, 2u);
}

TEST(Simulator, ParsesCacheSizes) {
  EXPECT_DOUBLE_EQ(ParseCacheSize("1%")->fraction, 0.01);
  EXPECT_DOUBLE_EQ(ParseCacheSize("0.1%")->fraction, 0.001);
  EXPECT_DOUBLE_EQ(ParseCacheSize("0.5")->fraction, 0.5);
  EXPECT_EQ(ParseCacheSize("5000")->absolute, 5000u);
  EXPECT_FALSE(ParseCacheSize("0").ok());
  EXPECT_FALSE(ParseCacheSize("200%").ok());
  EXPECT_FALSE(ParseCacheSize("abc").ok());
  EXPECT_FALSE(Simulate(Trace{}, {"bogus"}, {CacheSize::Absolute(1)}).ok());
}

}  // namespace
}  // namespace pier::cache
