// Each policy's defining behaviour, driven through the EvictionPolicy hooks directly.
#include <gtest/gtest.h>

#include <set>

#include "cache/fifo_policy.h"
#include "cache/lfu_policy.h"
#include "cache/lru_policy.h"
#include "cache/random_policy.h"
#include "cache/s3fifo_policy.h"
#include "cache/sieve_policy.h"
#include "cache/wtinylfu_policy.h"
#include "pier/base/hash.h"

namespace pier::cache {
namespace {

uint64_t H(EntryId id) { return Mix64(id + 1000); }

// Inserts ids [0, n) with weight 1.
void Fill(EvictionPolicy& p, EntryId n) {
  for (EntryId i = 0; i < n; ++i) p.OnInsert(i, H(i), 1);
}

EntryId Evict(EvictionPolicy& p) {
  EntryId v = p.Victim();
  p.OnRemove(v);
  return v;
}

TEST(LruPolicy, EvictsLeastRecentlyUsed) {
  LruPolicy p;
  Fill(p, 3);     // recency: 2 1 0
  p.OnAccess(0);  // 0 2 1
  EXPECT_EQ(Evict(p), 1u);
  EXPECT_EQ(Evict(p), 2u);
  EXPECT_EQ(Evict(p), 0u);
}

TEST(FifoPolicy, IgnoresHits) {
  FifoPolicy p;
  Fill(p, 3);
  p.OnAccess(0);
  p.OnAccess(0);
  EXPECT_EQ(Evict(p), 0u);
  EXPECT_EQ(Evict(p), 1u);
}

TEST(FifoPolicy, RemovalFromTheMiddleKeepsOrder) {
  FifoPolicy p;
  Fill(p, 4);
  p.OnRemove(1);
  EXPECT_EQ(Evict(p), 0u);
  EXPECT_EQ(Evict(p), 2u);
  EXPECT_EQ(Evict(p), 3u);
}

TEST(RandomPolicy, EvictsEveryEntryEventuallyAndOnlyLiveOnes) {
  RandomPolicy p(7);
  Fill(p, 100);
  p.OnRemove(50);
  std::set<EntryId> seen;
  for (int i = 0; i < 99; ++i) seen.insert(Evict(p));
  EXPECT_EQ(seen.size(), 99u);
  EXPECT_EQ(seen.count(50), 0u);
}

TEST(RandomPolicy, VictimsAreSpreadOut) {
  // With 10 entries and 1000 draws (without removal), each id should be drawn roughly 100 times.
  RandomPolicy p(42);
  Fill(p, 10);
  std::vector<int> count(10);
  for (int i = 0; i < 1000; ++i) ++count[p.Victim()];
  for (int c : count) {
    EXPECT_GT(c, 50);
    EXPECT_LT(c, 150);
  }
}

TEST(LfuPolicy, EvictsLeastFrequentlyUsedWithLruTieBreak) {
  LfuPolicy p;
  Fill(p, 3);
  p.OnAccess(0);
  p.OnAccess(0);
  p.OnAccess(2);
  // freq: 0 -> 3, 1 -> 1, 2 -> 2
  EXPECT_EQ(Evict(p), 1u);
  EXPECT_EQ(Evict(p), 2u);
}

TEST(LfuPolicy, AgingLetsNewEntriesOvertakeStalePopularity) {
  LfuPolicy p;
  p.OnInsert(0, H(0), 1);
  for (int i = 0; i < 5; ++i) p.OnAccess(0);  // 0 is popular once: priority 6
  // A stream of new entries, each hit twice, evicting as a cache of 2 would.
  EntryId next = 1;
  bool zero_evicted = false;
  for (int round = 0; round < 20 && !zero_evicted; ++round) {
    EntryId id = next++;
    p.OnInsert(id, H(id), 1);
    p.OnAccess(id);
    p.OnAccess(id);
    EntryId v = Evict(p);
    zero_evicted = v == 0;
  }
  // Without aging, entry 0 (6 hits) would outlive every 3-hit entry forever.
  EXPECT_TRUE(zero_evicted);
  EXPECT_GT(p.age(), 0u);
}

TEST(LfuPolicy, ExplicitRemovalDoesNotAge) {
  LfuPolicy p;
  Fill(p, 2);
  p.OnRemove(0);
  EXPECT_EQ(p.age(), 0u);
  Evict(p);
  EXPECT_EQ(p.age(), 1u);
}

TEST(SievePolicy, HandSkipsVisitedEntriesAndClearsThem) {
  SievePolicy p;
  Fill(p, 4);  // oldest first: 0 1 2 3
  p.OnAccess(0);
  p.OnAccess(1);
  // The hand starts at the oldest (0), clears 0 and 1, evicts 2.
  EXPECT_EQ(Evict(p), 2u);
  // The hand stays: it now points at 3 (the entry after 2 towards the newest).
  EXPECT_EQ(p.hand(), 3u);
  EXPECT_EQ(Evict(p), 3u);
  // Wrapped around to the oldest: 0's visited bit was cleared, so it goes now.
  EXPECT_EQ(Evict(p), 0u);
}

TEST(SievePolicy, NewEntriesDoNotMoveOnHit) {
  SievePolicy p;
  Fill(p, 3);
  p.OnAccess(2);
  EXPECT_EQ(Evict(p), 0u);  // unlike LRU, a hit does not reorder
  EXPECT_EQ(Evict(p), 1u);
}

TEST(S3FifoPolicy, OneHitEntriesLeaveFromTheSmallQueueIntoTheGhost) {
  S3FifoPolicy p;
  p.SetCapacity(10);
  Fill(p, 11);
  EntryId v = Evict(p);
  EXPECT_EQ(v, 0u);  // the oldest in S, never hit
  EXPECT_TRUE(p.InGhost(H(0)));
}

TEST(S3FifoPolicy, GhostHitIsAdmittedIntoMain) {
  S3FifoPolicy p;
  p.SetCapacity(10);
  Fill(p, 11);
  ASSERT_EQ(Evict(p), 0u);
  // Key 0 comes back (new id 0, same key hash): it goes straight to M.
  p.OnInsert(0, H(0), 1);
  EXPECT_TRUE(p.InMain(0));
  EXPECT_FALSE(p.InGhost(H(0)));
}

TEST(S3FifoPolicy, FrequentlyHitSmallEntryMovesToMain) {
  S3FifoPolicy p;
  p.SetCapacity(10);
  Fill(p, 11);
  p.OnAccess(0);
  p.OnAccess(0);  // freq 2 > threshold 1
  EXPECT_EQ(Evict(p), 1u);
  EXPECT_TRUE(p.InMain(0));
}

TEST(S3FifoPolicy, MainReinsertsEntriesWithFrequency) {
  S3FifoPolicy p;
  p.SetCapacity(10);
  // Fill M through ghost hits: evict everything once, then re-insert.
  Fill(p, 3);
  for (int i = 0; i < 3; ++i) Evict(p);
  for (EntryId i = 0; i < 3; ++i) p.OnInsert(i, H(i), 1);
  ASSERT_TRUE(p.InMain(0) && p.InMain(1) && p.InMain(2));
  p.OnAccess(0);
  // M is FIFO with reinsertion: 0 has freq 1 and is reinserted, 1 goes.
  EXPECT_EQ(Evict(p), 1u);
}

TEST(WTinyLfuPolicy, RejectsOneHitCandidateAgainstPopularVictim) {
  WTinyLfuPolicy p(1);
  p.SetCapacity(100);
  p.SetExpectedEntries(100);  // as a count-bounded Cache does  // window 1, main 99
  for (EntryId i = 0; i < 100; ++i) {
    p.OnInsert(i, H(i), 1);
    for (int k = 0; k < 3; ++k) p.OnAccess(i);  // everyone in the cache is popular
  }
  p.OnInsert(100, H(100), 1);  // a one-hit wonder enters the window...
  Evict(p);                    // ...behind the window's previous entry, which is judged first
  p.OnInsert(101, H(101), 1);  // now the one-hit wonder is the window's overflow
  EXPECT_EQ(p.RegionOf(100), WTinyLfuPolicy::Region::kWindow);
  // Its frequency (1) loses against main's victim (4): the candidate itself is evicted.
  EXPECT_EQ(Evict(p), 100u);
}

TEST(WTinyLfuPolicy, AdmitsCandidateMoreFrequentThanVictim) {
  WTinyLfuPolicy p(1);
  p.SetCapacity(100);
  p.SetExpectedEntries(100);                                 // as a count-bounded Cache does
  for (EntryId i = 0; i < 100; ++i) p.OnInsert(i, H(i), 1);  // all seen once
  p.OnInsert(100, H(100), 1);
  for (int k = 0; k < 5; ++k) p.OnAccess(100);  // hot while in the window
  Evict(p);
  p.OnInsert(101, H(101), 1);
  // Candidate 100 (frequency 6) beats main's victim (frequency 1) and takes its place.
  EntryId v = Evict(p);
  EXPECT_NE(v, 100u);
  EXPECT_NE(v, 101u);
  EXPECT_EQ(p.RegionOf(100), WTinyLfuPolicy::Region::kProbation);
}

TEST(WTinyLfuPolicy, HitInProbationPromotesToProtected) {
  WTinyLfuPolicy p(1);
  p.SetCapacity(100);
  p.SetExpectedEntries(100);  // as a count-bounded Cache does
  Fill(p, 10);
  EXPECT_EQ(p.RegionOf(0), WTinyLfuPolicy::Region::kProbation);
  p.OnAccess(0);
  EXPECT_EQ(p.RegionOf(0), WTinyLfuPolicy::Region::kProtected);
  EXPECT_EQ(p.RegionOf(9), WTinyLfuPolicy::Region::kWindow);
}

TEST(PolicyRegistry, KnowsAllSevenByName) {
  for (const char* name : {"lru", "lfu", "fifo", "random", "s3fifo", "sieve", "wtinylfu"}) {
    auto p = MakePolicy(name);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_EQ((*p)->name(), name);
  }
  EXPECT_EQ(PolicyNames().size(), 7u);
  auto bad = MakePolicy("lru2");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown eviction policy 'lru2'"), std::string::npos);
}

}  // namespace
}  // namespace pier::cache
