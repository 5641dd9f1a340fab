// Sorted sets, popping and combining: ZPOPMIN ZPOPMAX ZMPOP BZPOPMIN BZPOPMAX BZMPOP ZUNION ZINTER
// ZDIFF and their STORE forms (WEIGHTS, AGGREGATE; sets count as score 1), ZINTERCARD
// ZRANDMEMBER ZSCAN, as Redis 7.0.
#include <algorithm>
#include <climits>
#include <cmath>
#include <random>
#include <unordered_map>

#include "cache/server/collection_access.h"
#include "cache/server/scan_args.h"
#include "cache/server/zset_commands.h"
#include "cache/server/zset_range.h"
#include "pier/base/glob.h"

namespace pier::cache::server {

namespace {

uint64_t RandomBits() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

// Pops up to `count` members from the low (min) or high end of z.
std::vector<ScoreMember> PopEnd(ZSetValue* z, bool min, size_t count) {
  std::vector<ScoreMember> out;
  while (out.size() < count && z->size() > 0) {
    const ScoreMemberView v = z->At(min ? 0 : z->size() - 1);
    out.push_back({v.score, std::string(v.member)});
    z->Remove(out.back().member);
  }
  return out;
}

void ReplyPairs(CommandContext& c, const std::vector<ScoreMember>& items, bool nested) {
  const auto n = static_cast<int64_t>(items.size());
  c.out.ArrayHeader(nested ? n : 2 * n);
  for (const ScoreMember& sm : items) {
    if (nested) c.out.ArrayHeader(2);
    c.out.Bulk(sm.member);
    c.out.Double(sm.score);
  }
}

void PopGeneric(CommandContext& c, bool min) {
  if (c.argc() > 3) return c.out.Error(kErrSyntax);
  int64_t count = 1;
  if (c.argc() == 3) {
    if (!ParseInt64(c.args[2], &count)) return c.out.Error(kErrNotInteger);
    if (count < 0) return c.out.Error("ERR value is out of range, must be positive");
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ZSetValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e || count == 0) return c.out.ArrayHeader(0);
  Edit edit(c, k, e);
  auto items = PopEnd(ValueOf<ZSetValue>(e), min, static_cast<size_t>(count));
  ReplyPairs(c, items, c.argc() == 3 && c.out.protocol() >= 3);
}
void ZPopMin(CommandContext& c) { PopGeneric(c, true); }
void ZPopMax(CommandContext& c) { PopGeneric(c, false); }

// Pops from one key for [B]ZMPOP ([key, [[member, score]...]]) or BZPOPMIN ([key, member,
// score]). False when the key has nothing.
bool PopFrom(CommandContext& c, std::string_view key, bool min, int64_t count, bool mpop,
             bool first) {
  KeyRef k(key);
  auto lock = c.db.Lock(k);
  bool answered;
  Entry* e = FindToPop<ZSetValue>(c, k, first, &answered);
  if (!e) return answered;
  Edit edit(c, k, e);
  auto items = PopEnd(ValueOf<ZSetValue>(e), min, static_cast<size_t>(count));
  if (mpop) {
    c.out.ArrayHeader(2);
    c.out.Bulk(key);
    ReplyPairs(c, items, true);
  } else {
    c.out.ArrayHeader(3);
    c.out.Bulk(key);
    c.out.Bulk(items[0].member);
    c.out.Double(items[0].score);
  }
  return true;
}

void ZMPop(CommandContext& c) {
  MPopArgs a;
  if (!ParseMPop(c, 1, "MIN", "MAX", &a)) return;
  for (const auto& key : a.keys) {
    if (PopFrom(c, key, a.first_end, a.count, true, true)) return;
  }
  c.out.NullArray();
}

bool ServeBZPop(CommandContext& c, std::string_view key, bool first) {
  return PopFrom(c, key, EqualsIgnoreCase(c.args[0], "BZPOPMIN"), 1, false, first);
}

void BZPop(CommandContext& c) {
  int64_t timeout;
  if (!ParseTimeout(c, c.args.back(), &timeout)) return;
  BlockOn(c, {c.args.begin() + 1, c.args.end() - 1}, timeout, ServeBZPop, true);
}

bool ServeBZMPop(CommandContext& c, std::string_view key, bool first) {
  const MPopArgs a = ReparseMPop(c, 2, "MIN", "MAX");
  return PopFrom(c, key, a.first_end, a.count, true, first);
}

void BZMPop(CommandContext& c) {
  int64_t timeout;
  if (!ParseTimeout(c, c.args[1], &timeout)) return;
  MPopArgs a;
  if (!ParseMPop(c, 2, "MIN", "MAX", &a)) return;
  BlockOn(c, std::move(a.keys), timeout, ServeBZMPop, true);
}

// ZUNION / ZINTER / ZDIFF / ZINTERCARD and the STORE forms -------------------------------------

enum class Op { kUnion, kInter, kDiff };
enum class Aggregate { kSum, kMin, kMax };

// One input: a sorted set, or a set (every member scores 1), or nothing.
struct Source {
  const ZSetValue* zset = nullptr;
  const SetValue* set = nullptr;
  double weight = 1;
  size_t size() const { return zset ? zset->size() : set ? set->size() : 0; }
  std::optional<double> Score(std::string_view m) const {
    if (zset) return zset->Score(m);
    if (set && set->Contains(m)) return 1.0;
    return std::nullopt;
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (zset) {
      zset->ForEach(0, [&](ScoreMemberView v) {
        fn(v.member, v.score);
        return true;
      });
    } else if (set) {
      set->ForEach([&](const std::string& m) { fn(std::string_view(m), 1.0); });
    }
  }
};

void Combine(Aggregate agg, double* target, double v) {
  switch (agg) {
    case Aggregate::kSum:
      *target += v;
      if (std::isnan(*target)) *target = 0;
      break;
    case Aggregate::kMin:
      *target = std::min(*target, v);
      break;
    case Aggregate::kMax:
      *target = std::max(*target, v);
      break;
  }
}

double Weighted(double score, double weight) {
  const double v = score * weight;
  return std::isnan(v) ? 0 : v;
}

std::vector<ScoreMember> Compute(Op op, Aggregate agg, std::vector<Source> src, size_t limit) {
  std::vector<ScoreMember> out;
  if (op == Op::kUnion) {
    std::unordered_map<std::string, double> acc;
    for (const Source& s : src) {
      s.ForEach([&](std::string_view m, double score) {
        const double v = Weighted(score, s.weight);
        auto [it, fresh] = acc.try_emplace(std::string(m), v);
        if (!fresh) Combine(agg, &it->second, v);
      });
    }
    for (auto& [m, v] : acc) out.push_back({v, std::string(m)});
  } else if (op == Op::kInter) {
    for (const Source& s : src) {
      if (s.size() == 0) return out;
    }
    std::stable_sort(src.begin(), src.end(),
                     [](const Source& a, const Source& b) { return a.size() < b.size(); });
    src[0].ForEach([&](std::string_view m, double score) {
      if (out.size() >= limit) return;
      double v = Weighted(score, src[0].weight);
      for (size_t i = 1; i < src.size(); ++i) {
        auto s = src[i].Score(m);
        if (!s) return;
        Combine(agg, &v, Weighted(*s, src[i].weight));
      }
      out.push_back({v, std::string(m)});
    });
  } else {
    src[0].ForEach([&](std::string_view m, double score) {
      for (size_t i = 1; i < src.size(); ++i) {
        if (src[i].Score(m)) return;
      }
      out.push_back({score, std::string(m)});
    });
  }
  std::sort(out.begin(), out.end(), ScoreMemberLess());
  return out;
}

// ZUNION/ZINTER/ZDIFF numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]; with a
// destination (STORE forms) or as ZINTERCARD numkeys key... [LIMIT n].
void ZSetOpGeneric(CommandContext& c, Op op, bool store, bool card) {
  const size_t numkeys_at = store ? 2 : 1;
  int64_t n;
  if (!ParseInt64(c.args[numkeys_at], &n)) return c.out.Error(kErrNotInteger);
  if (n < 1) {
    return c.out.Error("ERR at least 1 input key is needed for '" + Lower(c.args[0]) + "' command");
  }
  if (static_cast<uint64_t>(n) > c.argc() - numkeys_at - 1) return c.out.Error(kErrSyntax);
  std::vector<KeyRef> keys;
  if (store) keys.emplace_back(c.args[1]);
  for (size_t i = numkeys_at + 1; i <= numkeys_at + size_t(n); ++i) keys.emplace_back(c.args[i]);
  auto lock = c.db.Lock(keys.data(), keys.size());
  std::vector<Source> src;
  for (size_t i = store ? 1 : 0; i < keys.size(); ++i) {
    Entry* e = c.db.ShardFor(keys[i]).Lookup(keys[i].key, keys[i].hash, c.now_ms);
    Source s;
    if (e && e->type == ValueType::kZSet) {
      s.zset = ValueOf<ZSetValue>(e);
    } else if (e && e->type == ValueType::kSet) {
      s.set = ValueOf<SetValue>(e);
    } else if (e) {
      return c.out.Error(kErrWrongType);
    }
    src.push_back(s);
  }
  Aggregate agg = Aggregate::kSum;
  bool withscores = false;
  int64_t limit = 0;
  for (size_t j = numkeys_at + 1 + size_t(n); j < c.argc();) {
    const size_t remaining = c.argc() - j;
    std::string_view a = c.args[j];
    if (op != Op::kDiff && !card && remaining >= size_t(n) + 1 && EqualsIgnoreCase(a, "WEIGHTS")) {
      ++j;
      for (auto& s : src) {
        if (!ParseScore(c.args[j++], &s.weight)) {
          return c.out.Error("ERR weight value is not a float");
        }
      }
    } else if (op != Op::kDiff && !card && remaining >= 2 && EqualsIgnoreCase(a, "AGGREGATE")) {
      std::string_view v = c.args[j + 1];
      if (EqualsIgnoreCase(v, "SUM")) {
        agg = Aggregate::kSum;
      } else if (EqualsIgnoreCase(v, "MIN")) {
        agg = Aggregate::kMin;
      } else if (EqualsIgnoreCase(v, "MAX")) {
        agg = Aggregate::kMax;
      } else {
        return c.out.Error(kErrSyntax);
      }
      j += 2;
    } else if (!store && !card && EqualsIgnoreCase(a, "WITHSCORES")) {
      withscores = true;
      ++j;
    } else if (card && remaining >= 2 && EqualsIgnoreCase(a, "LIMIT")) {
      if (!ParseInt64(c.args[j + 1], &limit)) return c.out.Error(kErrNotInteger);
      if (limit < 0) return c.out.Error("ERR LIMIT can't be negative");
      j += 2;
    } else {
      return c.out.Error(kErrSyntax);
    }
  }
  const size_t cap = card && limit > 0 ? static_cast<size_t>(limit) : SIZE_MAX;
  std::vector<ScoreMember> result = Compute(op, agg, std::move(src), cap);
  if (card) return c.out.Integer(static_cast<int64_t>(result.size()));
  if (store) {
    StoreZSet(c, keys[0], result);
    return c.out.Integer(static_cast<int64_t>(result.size()));
  }
  std::vector<ScoreMemberView> items;
  for (const auto& sm : result) items.push_back({sm.score, sm.member});
  ReplyScored(c, items, withscores);
}
void ZUnion(CommandContext& c) { ZSetOpGeneric(c, Op::kUnion, false, false); }
void ZInter(CommandContext& c) { ZSetOpGeneric(c, Op::kInter, false, false); }
void ZDiff(CommandContext& c) { ZSetOpGeneric(c, Op::kDiff, false, false); }
void ZUnionStore(CommandContext& c) { ZSetOpGeneric(c, Op::kUnion, true, false); }
void ZInterStore(CommandContext& c) { ZSetOpGeneric(c, Op::kInter, true, false); }
void ZDiffStore(CommandContext& c) { ZSetOpGeneric(c, Op::kDiff, true, false); }
void ZInterCard(CommandContext& c) { ZSetOpGeneric(c, Op::kInter, false, true); }

// ZRANDMEMBER key [count [WITHSCORES]]
void ZRandMember(CommandContext& c) {
  int64_t count = 0;
  const bool has_count = c.argc() >= 3;
  bool withscores = false;
  if (has_count) {
    if (!ParseInt64(c.args[2], &count)) return c.out.Error(kErrNotInteger);
    if (count == LLONG_MIN) {
      return c.out.Error(
          "ERR value is out of range, must be between -9223372036854775807 and "
          "9223372036854775807");
    }
    if (c.argc() > 4 || (c.argc() == 4 && !EqualsIgnoreCase(c.args[3], "WITHSCORES"))) {
      return c.out.Error(kErrSyntax);
    }
    withscores = c.argc() == 4;
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ZSetValue>(c, k, &wrong);
  if (wrong) return;
  auto* z = ValueOf<ZSetValue>(e);
  if (!has_count) return z ? c.out.Bulk(z->At(RandomBits() % z->size()).member) : c.out.Null();
  if (!z || count == 0) return c.out.ArrayHeader(0);
  std::vector<ScoreMemberView> picked;
  if (count < 0) {
    for (int64_t i = 0; i < -count; ++i) picked.push_back(z->At(RandomBits() % z->size()));
  } else {
    std::vector<size_t> ranks(z->size());
    for (size_t i = 0; i < ranks.size(); ++i) ranks[i] = i;
    const size_t n = std::min<size_t>(static_cast<size_t>(count), ranks.size());
    for (size_t i = 0; i < n; ++i) {
      std::swap(ranks[i], ranks[i + RandomBits() % (ranks.size() - i)]);
      picked.push_back(z->At(ranks[i]));
    }
  }
  ReplyScored(c, picked, withscores);
}

// ZSCAN: like Redis for small (listpack) sorted sets, everything in one call with cursor 0.
void ZScan(CommandContext& c) {
  ScanArgs a;
  if (!ParseScanArgs(c, 2, /*allow_type=*/false, &a)) return;
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ZSetValue>(c, k, &wrong);
  if (wrong) return;
  auto* z = ValueOf<ZSetValue>(e);
  std::vector<ScoreMemberView> items;
  if (z && a.cursor == 0) {
    z->ForEach(0, [&](ScoreMemberView v) {
      if (a.pattern.empty() || GlobMatch(a.pattern, v.member)) items.push_back(v);
      return true;
    });
  }
  c.out.ArrayHeader(2);
  c.out.Bulk("0");
  c.out.ArrayHeader(static_cast<int64_t>(items.size() * 2));
  std::string score;
  for (const ScoreMemberView& sm : items) {
    c.out.Bulk(sm.member);
    score.clear();
    net::RespWriter(&score, 2).Double(sm.score);  // "$n\r\n<%.17g>\r\n": a bulk string
    c.out.buffer()->append(score);
  }
}

}  // namespace

void RegisterZSetOpsCommands(CommandTable& t) {
  const uint32_t w = kWrite | kDenyOom;
  t.Add({"zpopmin", -2, kWrite | kFast, 1, 1, 1, ZPopMin, "sorted_set",
         "Returns the lowest-scoring members from a sorted set after removing them. Deletes the "
         "sorted set if the last member was popped.",
         "5.0.0"});
  t.Add({"zpopmax", -2, kWrite | kFast, 1, 1, 1, ZPopMax, "sorted_set",
         "Returns the highest-scoring members from a sorted set after removing them. Deletes the "
         "sorted set if the last member was popped.",
         "5.0.0"});
  CommandSpec zmpop{"zmpop",
                    -4,
                    kWrite,
                    0,
                    0,
                    0,
                    ZMPop,
                    "sorted_set",
                    "Returns the highest- or lowest-scoring members from one or more sorted sets "
                    "after removing them. Deletes the sorted set if the last member was popped.",
                    "7.0.0"};
  zmpop.numkeys_at = 1;
  t.Add(std::move(zmpop));
  t.Add({"bzpopmin", -3, kWrite | kFast, 1, -2, 1, BZPop, "sorted_set",
         "Removes and returns the member with the lowest score from one or more sorted sets. "
         "Blocks until a member is available otherwise. Deletes the sorted set if the last element "
         "was popped.",
         "5.0.0"});
  t.Add({"bzpopmax", -3, kWrite | kFast, 1, -2, 1, BZPop, "sorted_set",
         "Removes and returns the member with the highest score from one or more sorted sets. "
         "Blocks until a member available otherwise.  Deletes the sorted set if the last element "
         "was popped.",
         "5.0.0"});
  CommandSpec bzmpop{
      "bzmpop",
      -5,
      kWrite,
      0,
      0,
      0,
      BZMPop,
      "sorted_set",
      "Removes and returns a member by score from one or more sorted sets. Blocks until a member "
      "is available otherwise. Deletes the sorted set if the last element was popped.",
      "7.0.0"};
  bzmpop.numkeys_at = 2;
  t.Add(std::move(bzmpop));
  struct Algebra {
    const char* name;
    int arity;
    CommandHandler fn;
    bool store;
    const char* summary;
    const char* since;
  };
  const Algebra algebra[] = {
      {"zunion", -3, ZUnion, false, "Returns the union of multiple sorted sets.", "6.2.0"},
      {"zinter", -3, ZInter, false, "Returns the intersect of multiple sorted sets.", "6.2.0"},
      {"zdiff", -3, ZDiff, false, "Returns the difference between multiple sorted sets.", "6.2.0"},
      {"zunionstore", -4, ZUnionStore, true, "Stores the union of multiple sorted sets in a key.",
       "2.0.0"},
      {"zinterstore", -4, ZInterStore, true,
       "Stores the intersect of multiple sorted sets in a key.", "2.0.0"},
      {"zdiffstore", -4, ZDiffStore, true,
       "Stores the difference of multiple sorted sets in a key.", "6.2.0"},
      {"zintercard", -3, ZInterCard, false,
       "Returns the number of members of the intersect of multiple sorted sets.", "7.0.0"},
  };
  for (const Algebra& a : algebra) {
    CommandSpec spec{a.name,
                     a.arity,
                     a.store ? w : kReadonly,
                     a.store ? 1 : 0,
                     a.store ? 1 : 0,
                     a.store ? 1 : 0,
                     a.fn,
                     "sorted_set",
                     a.summary,
                     a.since};
    spec.numkeys_at = a.store ? 2 : 1;
    t.Add(std::move(spec));
  }
  t.Add({"zrandmember", -2, kReadonly, 1, 1, 1, ZRandMember, "sorted_set",
         "Returns one or more random members from a sorted set.", "6.2.0"});
  t.Add({"zscan", -3, kReadonly, 1, 1, 1, ZScan, "sorted_set",
         "Iterates over members and scores of a sorted set.", "2.8.0"});
}

}  // namespace pier::cache::server
