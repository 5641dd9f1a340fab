#include "pier/cache/concurrent_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <string>
#include <thread>

namespace pier::cache {
namespace {

TEST(ConcurrentCache, SplitsCapacityOverPowerOfTwoShards) {
  auto c = ConcurrentCache<int, int>::Create({.policy = "lru", .max_entries = 1000}, 6);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->shard_count(), 8u);
  for (int i = 0; i < 10000; ++i) (*c)->Put(i, i);
  EXPECT_LE((*c)->size(), 8u * 125u);
  EXPECT_GT((*c)->size(), 500u);
}

TEST(ConcurrentCache, GetOrLoadIsSingleFlight) {
  auto c = ConcurrentCache<std::string, int>::Create({.policy = "lru", .max_entries = 100}, 4);
  ASSERT_TRUE(c.ok());
  std::atomic<int> loads{0};
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> arrived{0};
  auto loader = [&](const std::string&) -> Result<int> {
    ++loads;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });  // hold the load until every caller is waiting
    return 42;
  };
  std::vector<std::thread> threads;
  std::vector<int> results(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      ++arrived;
      results[t] = *(*c)->GetOrLoad("key", loader);
    });
  }
  while (arrived.load() < 8) std::this_thread::yield();
  // Give the waiters a chance to reach the in-flight future; correctness does not depend on it:
  // a caller arriving after the load finished gets a hit instead.
  for (int i = 0; i < 1000; ++i) std::this_thread::yield();
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  for (auto& th : threads) th.join();
  EXPECT_EQ(loads.load(), 1);
  for (int r : results) EXPECT_EQ(r, 42);
}

TEST(ConcurrentCache, FailedLoadReachesWaitersAndIsNotCached) {
  auto c = ConcurrentCache<int, int>::Create({.policy = "lru", .max_entries = 100}, 2);
  ASSERT_TRUE(c.ok());
  auto r =
      (*c)->GetOrLoad(1, [](const int&) -> Result<int> { return Status::Unavailable("db down"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "db down");
  EXPECT_FALSE((*c)->Contains(1));
  auto t = (*c)->GetOrLoad(1, [](const int&) -> Result<int> { throw std::runtime_error("boom"); });
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("boom"), std::string::npos);
}

// Run under TSan in CI's tsan job: every policy under concurrent mixed operations.
class ConcurrentStress : public ::testing::TestWithParam<std::string> {};

TEST_P(ConcurrentStress, MixedOperationsFromFourThreads) {
  auto c =
      ConcurrentCache<uint64_t, uint64_t>::Create({.policy = GetParam(), .max_entries = 512}, 8);
  ASSERT_TRUE(c.ok());
  auto& cache = **c;
  std::vector<std::thread> threads;
  std::atomic<uint64_t> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      uint64_t x = 0x1234 + t;
      for (int i = 0; i < 20000; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t key = (x >> 33) % 2048;
        switch ((x >> 13) % 8) {
          case 0:
            cache.Erase(key);
            break;
          case 1:
            cache.ExpireTick(4);
            break;
          case 2: {
            auto v =
                cache.GetOrLoad(key, [](const uint64_t& k) -> Result<uint64_t> { return k * 3; });
            if (!v.ok() || *v != key * 3) ++wrong;
            break;
          }
          default:
            if (auto v = cache.Get(key)) {
              if (*v != key * 3) ++wrong;
            } else {
              cache.Put(key, key * 3);
            }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0u);
  CacheStats s = cache.stats();
  EXPECT_LE(s.entries, 512u);
  EXPECT_GT(s.hits + s.misses, 0u);
}

INSTANTIATE_TEST_SUITE_P(Policies, ConcurrentStress,
                         ::testing::Values("lru", "lfu", "fifo", "random", "s3fifo", "sieve",
                                           "wtinylfu"));

}  // namespace
}  // namespace pier::cache
