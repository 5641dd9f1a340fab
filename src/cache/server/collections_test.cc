// Property tests: random operation sequences on each collection type and on a model built from
// std containers agree, across the encoding conversions (intset to hashtable, listpack to
// skiplist) and back to empty.
#include "cache/server/collections.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "cache/server/lazy_free.h"
#include "cache/server/packed.h"
#include "cache/server/zset_range.h"

namespace pier::cache::server {
namespace {

TEST(ListValueProperty, AgreesWithADeque) {
  std::mt19937_64 rng(7);
  ListValue l;
  std::deque<std::string> model;
  for (int step = 0; step < 20000; ++step) {
    const std::string v = std::to_string(rng() % 50) + std::string(rng() % 3    ? 0
                                                                   : rng() % 50 ? 20
                                                                                : 3000,
                                                                   'x');
    switch (rng() % 6) {
      case 0:
      case 1: {
        const bool left = rng() % 2;
        l.Push(left, v);
        left ? model.push_front(v) : model.push_back(v);
        break;
      }
      case 2:
        if (!model.empty()) {
          const bool left = rng() % 2;
          ASSERT_EQ(l.Pop(left), left ? model.front() : model.back());
          left ? model.pop_front() : model.pop_back();
        }
        break;
      case 3:
        if (!model.empty()) {
          const size_t i = rng() % model.size();
          l.Set(i, v);
          model[i] = v;
        }
        break;
      case 4: {
        const size_t i = model.empty() ? 0 : rng() % (model.size() + 1);
        l.Insert(i, v);
        model.insert(model.begin() + static_cast<ptrdiff_t>(i), v);
        break;
      }
      case 5:
        if (!model.empty() && rng() % 20 == 0) {
          const size_t a = rng() % model.size(), b = rng() % model.size();
          l.Trim(a, b);
          if (a > b) {
            model.clear();
          } else {
            model = std::deque<std::string>(model.begin() + static_cast<ptrdiff_t>(a),
                                            model.begin() + static_cast<ptrdiff_t>(b) + 1);
          }
        } else if (!model.empty()) {
          const size_t i = rng() % model.size();
          l.Erase(i);
          model.erase(model.begin() + static_cast<ptrdiff_t>(i));
        }
        break;
    }
    ASSERT_EQ(l.size(), model.size());
  }
  for (size_t i = 0; i < model.size(); ++i) ASSERT_EQ(l.Get(i), model[i]);
  std::vector<std::string> forward, backward;
  l.ForEach(0, [&](size_t i, std::string_view v) {
    EXPECT_EQ(i, forward.size());
    forward.emplace_back(v);
    return true;
  });
  l.ForEachReverse([&](size_t i, std::string_view v) {
    EXPECT_EQ(i, model.size() - 1 - backward.size());
    backward.emplace_back(v);
    return true;
  });
  EXPECT_EQ(forward, std::vector<std::string>(model.begin(), model.end()));
  EXPECT_EQ(backward, std::vector<std::string>(model.rbegin(), model.rend()));
  ListValue copy(l);
  EXPECT_EQ(copy.MemoryBytes(), l.MemoryBytes());
  while (l.size() > 0) l.Pop(l.size() % 2);
  EXPECT_EQ(l.MemoryBytes(), sizeof(ListValue));  // every chunk's bytes were accounted back
}

TEST(PackedStrings, InsertsErasesAndReplacesAnywhere) {
  std::mt19937_64 rng(3);
  PackedStrings p;
  std::vector<std::string> model;
  auto offset_of = [&](size_t i) {
    size_t pos = 0, next;
    for (size_t k = 0; k < i; ++k, pos = next) p.At(pos, &next);
    return pos;
  };
  for (int step = 0; step < 5000; ++step) {
    // Lengths across the one- and two-byte varint boundary.
    const std::string v(rng() % 3 == 0 ? 100 + rng() % 200 : rng() % 20, char('a' + rng() % 26));
    const size_t i = model.empty() ? 0 : rng() % model.size();
    switch (rng() % 4) {
      case 0:
      case 1:
        p.Insert(offset_of(i), v);
        model.insert(model.begin() + static_cast<ptrdiff_t>(i), v);
        break;
      case 2:
        if (!model.empty()) {
          p.Erase(offset_of(i));
          model.erase(model.begin() + static_cast<ptrdiff_t>(i));
        }
        break;
      case 3:
        if (!model.empty()) {
          p.Replace(offset_of(i), v);
          model[i] = v;
        }
        break;
    }
    ASSERT_EQ(p.size(), model.size());
  }
  std::vector<std::string> got;
  p.ForEach([&](std::string_view s) { got.emplace_back(s); });
  EXPECT_EQ(got, model);
}

TEST(HashValueProperty, AgreesWithAMapAndKeepsInsertionOrderWhileSmall) {
  std::mt19937_64 rng(9);
  HashValue h;
  std::map<std::string, std::string> model;
  std::vector<std::string> order;  // insertion order while packed
  for (int step = 0; step < 4000; ++step) {
    const std::string f = "f" + std::to_string(rng() % (step < 2000 ? 60 : 400));
    const std::string v(rng() % 5 == 0 && step > 3000 ? 80 : rng() % 10, 'v');
    if (rng() % 3 == 0) {
      ASSERT_EQ(h.Erase(f), model.erase(f) == 1);
      order.erase(std::remove(order.begin(), order.end(), f), order.end());
    } else {
      const bool fresh = model.count(f) == 0;
      ASSERT_EQ(h.Set(f, v), fresh);
      model[f] = v;
      if (fresh) order.push_back(f);
    }
    ASSERT_EQ(h.size(), model.size());
    auto got = h.Get(f);
    ASSERT_EQ(got.has_value(), model.count(f) == 1);
    if (got) {
      ASSERT_EQ(*got, model[f]);
    }
    if (h.encoding() == "listpack" && step % 100 == 0) {
      std::vector<std::string> fields;
      h.ForEach([&](std::string_view fi, std::string_view) { fields.emplace_back(fi); });
      ASSERT_EQ(fields, order);
    }
  }
  EXPECT_EQ(h.encoding(), "hashtable");
  HashValue copy(h);
  std::map<std::string, std::string> seen;
  copy.ForEach([&](std::string_view f, std::string_view v) { seen.emplace(f, v); });
  EXPECT_EQ(seen, model);
}

TEST(SetValueProperty, AgreesWithAStdSetAcrossTheIntsetConversion) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 4; ++round) {
    SetValue s;
    std::set<std::string> model;
    // Integers only at first (intset), past the entry limit or with a string later.
    for (int step = 0; step < 3000; ++step) {
      const bool strings = round % 2 == 1 && step > 1500;
      std::string m = strings ? "m" + std::to_string(rng() % 800)
                              : std::to_string(static_cast<int64_t>(rng() % 800) - 400);
      if (rng() % 3 == 0) {
        ASSERT_EQ(s.Remove(m), model.erase(m) == 1);
      } else {
        ASSERT_EQ(s.Add(m), model.insert(m).second);
      }
      ASSERT_EQ(s.size(), model.size());
      ASSERT_EQ(s.Contains(m), model.count(m) == 1);
    }
    std::vector<std::string> members = s.Members();
    std::sort(members.begin(), members.end());
    EXPECT_EQ(members, std::vector<std::string>(model.begin(), model.end()));
    if (!model.empty()) {
      EXPECT_EQ(model.count(s.Random(rng())), 1u);
    }
    if (round % 2 == 1) {
      EXPECT_EQ(s.encoding(), "hashtable");
    }
  }
  SetValue small;
  small.Add("3");
  small.Add("-1");
  EXPECT_EQ(small.encoding(), "intset");
  EXPECT_EQ(small.Members(), (std::vector<std::string>{"-1", "3"}));  // sorted, as an intset
  small.Add("x");
  EXPECT_EQ(small.encoding(), "hashtable");
  small.Remove("x");
  EXPECT_EQ(small.encoding(), "hashtable");  // never back, as Redis
}

// Random adds, updates and removes over `pool` members, checked against a std::map after every
// step and ranks, ranges and a copy every 500 steps. Scores mix quarters (packed as doubles),
// small and large integers (varints), and the infinities.
static void CheckZSetAgainstModel(size_t pool, std::string_view want_encoding) {
  std::mt19937_64 rng(5);
  ZSetValue z;
  std::map<std::string, double> model;
  auto sorted = [&] {
    std::vector<std::pair<double, std::string>> v;
    for (const auto& [m, s] : model) v.emplace_back(s, m);
    std::sort(v.begin(), v.end());
    return v;
  };
  const double specials[] = {0x1p48, -0x1p48, 0x1p48 - 1, -(0x1p48 - 1),
                             1e300,  -7,      HUGE_VAL,   -HUGE_VAL};
  for (int step = 0; step < 6000; ++step) {
    const std::string m = "m" + std::to_string(rng() % pool);
    double score = static_cast<double>(rng() % 40) / 4 - 5;
    if (rng() % 10 == 0) score = specials[rng() % std::size(specials)];
    if (rng() % 4 == 0) {
      ASSERT_EQ(z.Remove(m), model.erase(m) == 1);
    } else {
      ASSERT_EQ(z.Set(m, score), model.count(m) == 0);
      model[m] = score;
    }
    ASSERT_EQ(z.size(), model.size());
    ASSERT_EQ(z.Score(m), model.count(m) ? std::optional<double>(model[m]) : std::nullopt);
    if (step % 500 == 0 || step == 5999) {
      auto want = sorted();
      size_t rank = 0;
      z.ForEach(0, [&](ScoreMemberView v) {
        EXPECT_EQ(v.member, want[rank].second);
        EXPECT_EQ(v.score, want[rank].first);
        EXPECT_EQ(z.Rank(v.member, v.score), rank);
        EXPECT_EQ(z.At(rank).member, want[rank].second);
        ++rank;
        return true;
      });
      ASSERT_EQ(rank, want.size());
      // A score range with an exclusive minimum, forward and reversed, with LIMIT.
      ZRangeSpec spec;
      std::vector<std::string_view> args = {"(-1", "2.5", "BYSCORE", "LIMIT", "1", "7"};
      ASSERT_TRUE(ParseZRange(args, 0, false, &spec).ok());
      std::vector<std::string> expect;
      for (const auto& [s, mem] : want) {
        if (s > -1 && s <= 2.5) expect.push_back(mem);
      }
      expect.erase(expect.begin(), expect.begin() + std::min<size_t>(1, expect.size()));
      if (expect.size() > 7) expect.resize(7);
      std::vector<std::string> got;
      for (const ScoreMemberView& sm : CollectRange(z, spec)) got.emplace_back(sm.member);
      ASSERT_EQ(got, expect);
      // Ranks 1..5 from the top.
      std::vector<std::string_view> rev_args = {"1", "5", "REV"};
      ZRangeSpec rev;
      ASSERT_TRUE(ParseZRange(rev_args, 0, false, &rev).ok());
      expect.clear();
      for (size_t i = 1; i <= 5 && i < want.size(); ++i) {
        expect.push_back(want[want.size() - 1 - i].second);
      }
      got.clear();
      for (const ScoreMemberView& sm : CollectRange(z, rev)) got.emplace_back(sm.member);
      ASSERT_EQ(got, expect);
    }
  }
  EXPECT_EQ(z.encoding(), want_encoding);
  ZSetValue copy(z);
  EXPECT_EQ(copy.size(), z.size());
  EXPECT_LE(copy.MemoryBytes(), z.MemoryBytes());  // a packed copy holds no spare capacity
  EXPECT_EQ(copy.encoding(), want_encoding);
  size_t rank = 0;
  copy.ForEach(0, [&](ScoreMemberView v) { return v.member == z.At(rank++).member; });
  EXPECT_EQ(rank, z.size());
}

TEST(ZSetValueProperty, PackedRanksAndRangesAgreeWithASortedModel) {
  CheckZSetAgainstModel(100, "listpack");
}

TEST(ZSetValueProperty, SkiplistRanksAndRangesAgreeWithASortedModel) {
  CheckZSetAgainstModel(300, "skiplist");  // past zset-max-listpack-entries
}

TEST(ZSetValue, ConvertsPastTheListpackLimitsAndNeverBack) {
  ZSetValue z;
  z.Set("a", 1);
  EXPECT_EQ(z.encoding(), "listpack");
  z.Set(std::string(65, 'x'), 2);  // longer than zset-max-listpack-value
  EXPECT_EQ(z.encoding(), "skiplist");
  EXPECT_EQ(z.Score("a"), 1);
  z.Remove(std::string(65, 'x'));
  EXPECT_EQ(z.encoding(), "skiplist");
  ZSetValue packed;
  for (int i = 0; i < 128; ++i) packed.Set("m" + std::to_string(i), i);
  EXPECT_EQ(packed.encoding(), "listpack");
  const size_t small_bytes = packed.MemoryBytes();
  packed.Set("m128", 128);
  EXPECT_EQ(packed.encoding(), "skiplist");
  EXPECT_GT(packed.MemoryBytes(), small_bytes);
  EXPECT_EQ(packed.Rank("m128", 128), 128u);
}

TEST(ZSetRange, ParsesRedisBoundsAndRejectsBadOnes) {
  ScoreRange r;
  EXPECT_TRUE(ParseScoreRange("(1", "+inf", &r));
  EXPECT_TRUE(r.min_ex && !r.max_ex && std::isinf(r.max));
  EXPECT_TRUE(ParseScoreRange("", "", &r));  // strtod reads "" as 0, as Redis accepts
  EXPECT_FALSE(ParseScoreRange("x", "1", &r));
  EXPECT_FALSE(ParseScoreRange("nan", "1", &r));
  LexRange lr;
  EXPECT_TRUE(ParseLexRange("-", "(c", &lr));
  EXPECT_TRUE(lr.Contains("b") && !lr.Contains("c"));
  EXPECT_FALSE(ParseLexRange("a", "+", &lr));
  EXPECT_FALSE(ParseLexRange("++", "+", &lr));
  double d;
  EXPECT_TRUE(ParseScore("-inf", &d));
  EXPECT_FALSE(ParseScore(" 1", &d));
  EXPECT_FALSE(ParseScore("1e999", &d));
  ZRangeSpec spec;
  std::vector<std::string_view> args = {"0", "1", "LIMIT", "0", "1"};
  EXPECT_EQ(ParseZRange(args, 0, false, &spec).message(),
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or "
            "BYLEX");
}

TEST(LazyFree, BigCollectionsAreFreedInTheBackgroundSmallOnesAtOnce) {
  LazyFree lazy;
  auto* small = new ListValue();
  small->Push(true, "x");
  lazy.Free(small);
  EXPECT_EQ(lazy.pending(), 0u);
  for (int round = 0; round < 3; ++round) {
    auto* big = new SetValue();
    for (int i = 0; i < 10000; ++i) big->Add("member" + std::to_string(i));
    lazy.Free(big);  // ASan's leak check proves it is freed
  }
  lazy.Drain();
  EXPECT_EQ(lazy.pending(), 0u);
}

}  // namespace
}  // namespace pier::cache::server
