#include "pier/cache/shadow.h"

#include <gtest/gtest.h>

#include <thread>

#include "pier/base/hash.h"
#include "pier/cache/cache.h"
#include "pier/cache/trace.h"

namespace pier::cache {
namespace {

// The real cache's hit ratio for a trace replayed cache-aside (get; on a miss, put).
double RealHitRatio(const Trace& t, const std::string& policy, uint64_t capacity) {
  auto c = Cache<uint64_t, uint64_t>::Create(
      {.policy = policy, .max_weight = capacity, .weigher = [](const uint64_t&, const uint64_t& w) {
         return w;
       }});
  uint64_t hits = 0;
  for (const auto& r : t.requests) {
    if ((*c)->Get(r.key) != nullptr) {
      ++hits;
    } else {
      (*c)->Put(r.key, 100);
    }
  }
  return static_cast<double>(hits) / static_cast<double>(t.requests.size());
}

TEST(MissRatioShadow, PredictsEachPolicysHitRatioWithinTwoPoints) {
  auto t = GenerateTrace("zipf:0.9", {.objects = 200000, .requests = 2000000, .seed = 7});
  ASSERT_TRUE(t.ok());
  const uint64_t capacity = 20000 * 100;  // 10% of the objects, 100 bytes each
  MissRatioShadow shadow({.policies = {"lru", "s3fifo", "sieve"}});
  shadow.Configure(capacity, "lru");
  EXPECT_EQ(shadow.sample_shift(), 4u);  // 7,800 entries of 256 bytes fit: the highest rate
  for (const auto& r : t->requests) {
    const uint64_t h = Mix64(r.key);
    shadow.OnLookup(h);
    shadow.OnStore(h, 100);  // a hit's store is a no-op for the prediction (same weight)
  }
  for (const std::string policy : {"lru", "s3fifo", "sieve"}) {
    const double real = RealHitRatio(*t, policy, capacity);
    const auto p = shadow.Predict(policy, 1, t->requests.size());
    const auto raw = shadow.Predict(policy, 1);
    std::printf("%s real %.4f predicted %.4f (unadjusted %.4f)\n", policy.c_str(), real,
                p.hit_ratio, raw.hit_ratio);
    EXPECT_GT(p.lookups, t->requests.size() / 32);
    EXPECT_NEAR(p.hit_ratio, real, 0.02) << policy;
  }
  // Bigger is better, and S3-FIFO beats LRU on Zipf (as the simulator shows).
  EXPECT_GT(shadow.Predict("lru", 2).hit_ratio, shadow.Predict("lru", 1).hit_ratio);
  EXPECT_GT(shadow.Predict("s3fifo", 1).hit_ratio, shadow.Predict("lru", 1).hit_ratio);
}

TEST(MissRatioShadow, BigCachesSampleLessAndOnlyTheCurrentPolicyGetsOtherSizes) {
  MissRatioShadow shadow({.policies = {"lru", "sieve"}});
  shadow.Configure(uint64_t{1} << 30, "sieve");  // 4M entries of 256 bytes: 1 in 2^11 fits 2048
  EXPECT_EQ(shadow.sample_shift(), 11u);
  auto names = [&] {
    std::vector<std::string> out;
    for (const auto& p : shadow.Curve())
      out.push_back(p.policy + "@" + std::to_string(p.size_factor));
    return out;
  };
  EXPECT_EQ(names(), (std::vector<std::string>{"lru@1.000000", "sieve@1.000000", "sieve@0.500000",
                                               "sieve@2.000000"}));
  shadow.SetCurrentPolicy("lru");
  EXPECT_EQ(names(), (std::vector<std::string>{"lru@1.000000", "sieve@1.000000", "lru@0.500000",
                                               "lru@2.000000"}));
}

TEST(MissRatioShadow, SamplesAboutOneKeyInTwoToTheShiftAndIsOffWithoutCapacity) {
  MissRatioShadow shadow({.policies = {"lru"}, .size_factors = {}, .min_sample_shift = 3});
  EXPECT_FALSE(shadow.Sampled(Mix64(1)));  // no capacity: off
  shadow.Configure(1000, "lru");
  int sampled = 0;
  for (uint64_t k = 0; k < 80000; ++k) sampled += shadow.Sampled(Mix64(k));
  EXPECT_NEAR(sampled, 10000, 500);
  shadow.ResetCounts();
  EXPECT_EQ(shadow.Predict("lru", 1).lookups, 0u);
  EXPECT_EQ(shadow.Predict("nope", 1).lookups, 0u);
}

}  // namespace
}  // namespace pier::cache

namespace pier::cache {
namespace {

// Under TSan in CI: shards on several threads feed one shadow while it is read and resized.
TEST(MissRatioShadowConcurrent, FeedsFromThreadsWhileReadAndReconfigured) {
  MissRatioShadow shadow({.policies = {"lru", "s3fifo"}, .min_sample_shift = 1});
  shadow.Configure(100000, "lru");
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (uint64_t k = 0; k < 20000; ++k) {
        const uint64_t h = Mix64(k * 3 + t);
        shadow.OnLookup(h);
        shadow.OnStore(h, 100);
        if (k % 7 == 0) shadow.OnRemove(h);
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    shadow.Curve(1000);
    if (i == 20) shadow.SetCurrentPolicy("s3fifo");
    if (i == 30) shadow.Configure(200000, "s3fifo");
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(shadow.Curve().empty());
}

}  // namespace
}  // namespace pier::cache
