#include "pier/cache/cache.h"

#include <gtest/gtest.h>

#include <string>

namespace pier::cache {
namespace {

using namespace std::chrono_literals;
using StrCache = Cache<std::string, std::string>;

std::unique_ptr<StrCache> Make(StrCache::Options o) {
  auto c = StrCache::Create(std::move(o));
  PIER_CHECK(c.ok());
  return std::move(*c);
}

TEST(Cache, GetPutEraseContains) {
  auto c = Make({.policy = "lru", .max_entries = 10});
  EXPECT_EQ(c->Get("a"), nullptr);
  EXPECT_TRUE(c->Put("a", "1"));
  ASSERT_NE(c->Get("a"), nullptr);
  EXPECT_EQ(*c->Get("a"), "1");
  EXPECT_TRUE(c->Put("a", "2"));
  EXPECT_EQ(*c->Get("a"), "2");
  EXPECT_TRUE(c->Contains("a"));
  EXPECT_TRUE(c->Erase("a"));
  EXPECT_FALSE(c->Erase("a"));
  EXPECT_FALSE(c->Contains("a"));
  const CacheStats& s = c->stats();
  EXPECT_EQ(s.hits, 3u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.insertions, 1u);
  EXPECT_EQ(s.updates, 1u);
  EXPECT_EQ(s.removals_explicit, 1u);
  EXPECT_EQ(s.entries, 0u);
}

TEST(Cache, UnknownPolicyIsAnError) {
  auto c = StrCache::Create({.policy = "nope"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

TEST(Cache, EvictsAtEntryCapacityThroughThePolicy) {
  auto c = Make({.policy = "lru", .max_entries = 2});
  c->Put("a", "1");
  c->Put("b", "2");
  c->Get("a");
  c->Put("c", "3");  // b is least recently used
  EXPECT_TRUE(c->Contains("a"));
  EXPECT_FALSE(c->Contains("b"));
  EXPECT_TRUE(c->Contains("c"));
  EXPECT_EQ(c->size(), 2u);
  EXPECT_EQ(c->stats().evictions_capacity, 1u);
}

TEST(Cache, WeightAccountingEvictsUntilItFits) {
  auto c = Make(
      {.policy = "fifo",
       .max_weight = 10,
       .weigher = [](const std::string& k, const std::string& v) { return k.size() + v.size(); }});
  c->Put("a", "1234");  // 5
  c->Put("b", "123");   // 4 -> 9
  EXPECT_EQ(c->weight(), 9u);
  c->Put("c", "12345");  // 6 -> 15: a and then b must go (fifo) until <= 10
  EXPECT_FALSE(c->Contains("a"));
  EXPECT_TRUE(c->Contains("b"));
  EXPECT_EQ(c->weight(), 10u);
  c->Put("b", "1");  // reweigh: 2 + 6
  EXPECT_EQ(c->weight(), 8u);
  c->Erase("c");
  EXPECT_EQ(c->weight(), 2u);
  EXPECT_EQ(c->stats().weight, 2u);
}

TEST(Cache, RejectsValueHeavierThanCapacityAndDropsOldValue) {
  auto c = Make({.policy = "lru",
                 .max_weight = 4,
                 .weigher = [](const std::string&, const std::string& v) { return v.size(); }});
  c->Put("k", "12");
  EXPECT_FALSE(c->Put("k", "12345"));
  EXPECT_FALSE(c->Contains("k"));  // never serve the stale value
  EXPECT_EQ(c->stats().rejections, 1u);
  EXPECT_EQ(c->weight(), 0u);
}

TEST(Cache, TtlExpiresLazilyOnAccess) {
  FakeClock clock;
  auto c = Make({.policy = "lru", .max_entries = 10, .clock = &clock});
  c->Put("k", "v", 10s);
  clock.Advance(9s);
  EXPECT_NE(c->Get("k"), nullptr);
  auto ttl = c->Ttl("k");
  ASSERT_TRUE(ttl.has_value());
  EXPECT_EQ(*ttl, std::chrono::nanoseconds(1s));
  clock.Advance(1s);
  EXPECT_EQ(c->Get("k"), nullptr);
  EXPECT_EQ(c->stats().evictions_expired, 1u);
  EXPECT_EQ(c->size(), 0u);
}

TEST(Cache, PutWithoutTtlClearsThePreviousTtl) {
  FakeClock clock;
  auto c = Make({.policy = "lru", .max_entries = 10, .clock = &clock});
  c->Put("k", "v", 1s);
  c->Put("k", "w");
  clock.Advance(2s);
  EXPECT_TRUE(c->Contains("k"));
  EXPECT_EQ(c->ExpireTick(100), 0u);  // the old timer is stale
  EXPECT_TRUE(c->Contains("k"));
}

TEST(Cache, ManualExpireAndPersist) {
  FakeClock clock;
  auto c = Make({.policy = "lru", .max_entries = 10, .clock = &clock});
  c->Put("a", "1");
  c->Put("b", "2");
  EXPECT_TRUE(c->ExpireAt("a", clock.Now() + 5s));
  EXPECT_TRUE(c->ExpireAt("b", clock.Now()));  // not in the future: gone now
  EXPECT_FALSE(c->Contains("b"));
  EXPECT_FALSE(c->ExpireAt("missing", clock.Now()));
  EXPECT_TRUE(c->Persist("a"));
  clock.Advance(10s);
  EXPECT_TRUE(c->Contains("a"));
  EXPECT_EQ(c->Ttl("a"), Clock::Duration::max());
}

TEST(Cache, ActiveExpiryDoesBoundedWorkPerTick) {
  FakeClock clock;
  auto c = Make({.policy = "lru", .max_entries = 1000, .clock = &clock});
  for (int i = 0; i < 100; ++i)
    c->Put("k" + std::to_string(i), "v", std::chrono::seconds(1 + i % 2));
  c->Put("forever", "v");
  EXPECT_EQ(c->ExpireTick(10), 0u);  // nothing due yet
  clock.Advance(1s);                 // the 50 with a 1 s TTL are due
  EXPECT_EQ(c->ExpireTick(10), 10u);
  EXPECT_EQ(c->size(), 91u);
  EXPECT_EQ(c->ExpireTick(1000), 40u);
  clock.Advance(1s);
  EXPECT_EQ(c->ExpireTick(1000), 50u);
  EXPECT_EQ(c->size(), 1u);
  EXPECT_EQ(c->stats().evictions_expired, 100u);
}

TEST(Cache, RewritingTtlsKeepsTheTimerHeapBounded) {
  FakeClock clock;
  auto c = Make({.policy = "lru", .max_entries = 10, .clock = &clock});
  for (int i = 0; i < 100000; ++i) c->Put("k", "v", std::chrono::seconds(100 + i));
  clock.Advance(std::chrono::seconds(150));
  // Every earlier timer is stale; none may remove the key.
  c->ExpireTick(1000000);
  EXPECT_TRUE(c->Contains("k"));
}

TEST(Cache, ClearEmptiesEverything) {
  auto c = Make({.policy = "s3fifo", .max_entries = 10});
  for (int i = 0; i < 20; ++i) c->Put(std::to_string(i), "v");
  c->Clear();
  EXPECT_EQ(c->size(), 0u);
  EXPECT_EQ(c->weight(), 0u);
  c->Put("x", "y");
  EXPECT_TRUE(c->Contains("x"));
}

TEST(Cache, GetOrLoadLoadsOnceAndCaches) {
  auto c = Make({.policy = "lru", .max_entries = 10});
  int loads = 0;
  auto loader = [&](const std::string& k) -> Result<std::string> {
    ++loads;
    return "value-of-" + k;
  };
  EXPECT_EQ(*c->GetOrLoad("a", loader), "value-of-a");
  EXPECT_EQ(*c->GetOrLoad("a", loader), "value-of-a");
  EXPECT_EQ(loads, 1);
  auto failing = [](const std::string&) -> Result<std::string> { return Status::NotFound("no"); };
  EXPECT_FALSE(c->GetOrLoad("b", failing).ok());
  EXPECT_FALSE(c->Contains("b"));
}

// Every policy keeps the cache within capacity and consistent under a random workload.
class EveryPolicy : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryPolicy, StaysWithinCapacityUnderChurn) {
  FakeClock clock;
  auto c = Cache<int, int>::Create(
      {.policy = GetParam(),
       .max_entries = 64,
       .max_weight = 300,
       .weigher = [](const int&, const int& v) { return uint64_t(v % 9 + 1); },
       .clock = &clock});
  ASSERT_TRUE(c.ok());
  uint64_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int key = static_cast<int>((x >> 33) % 500);
    switch ((x >> 20) % 6) {
      case 0:
        (*c)->Erase(key);
        break;
      case 1:
        (*c)->Put(key, i, std::chrono::milliseconds(x % 50));
        break;
      case 2:
        clock.Advance(std::chrono::milliseconds(1));
        (*c)->ExpireTick(8);
        break;
      default:
        if (const int* v = (*c)->Get(key); v == nullptr) (*c)->Put(key, i);
    }
    ASSERT_LE((*c)->size(), 64u);
    ASSERT_LE((*c)->weight(), 300u);
  }
  uint64_t weight = 0;
  size_t n = 0;
  (*c)->ForEach([&](const int&, const int& v) {
    weight += v % 9 + 1;
    ++n;
  });
  EXPECT_LE(weight, (*c)->weight());  // ForEach skips expired-but-not-yet-removed entries
  EXPECT_LE(n, (*c)->size());
}

INSTANTIATE_TEST_SUITE_P(Policies, EveryPolicy,
                         ::testing::Values("lru", "lfu", "fifo", "random", "s3fifo", "sieve",
                                           "wtinylfu"));

}  // namespace
}  // namespace pier::cache
