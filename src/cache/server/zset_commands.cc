// Sorted sets, reading and writing members: ZADD ZREM ZSCORE ZMSCORE ZINCRBY ZCARD ZCOUNT
// ZLEXCOUNT ZRANK ZREVRANK, the ZRANGE family (ZRANGE ZRANGESTORE ZRANGEBYSCORE ZREVRANGEBYSCORE
// ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE) and ZREMRANGEBYRANK/SCORE/LEX, as Redis 7.0. Pops,
// blocking pops and set algebra are in zset_ops_commands.cc.
#include "cache/server/zset_commands.h"

#include <cmath>

#include "cache/server/collection_access.h"
#include "cache/server/zset_range.h"

namespace pier::cache::server {

void ReplyScored(CommandContext& c, const std::vector<ScoreMemberView>& items, bool withscores) {
  const auto n = static_cast<int64_t>(items.size());
  const bool pairs = withscores && c.out.protocol() >= 3;
  c.out.ArrayHeader(withscores && !pairs ? 2 * n : n);
  for (const ScoreMemberView& sm : items) {
    if (pairs) c.out.ArrayHeader(2);
    c.out.Bulk(sm.member);
    if (withscores) c.out.Double(sm.score);
  }
}

namespace {

template <typename Fn>
void ReadZSet(CommandContext& c, Fn&& fn) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ZSetValue>(c, k, &wrong);
  if (!wrong) fn(ValueOf<ZSetValue>(e));
}

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
void ZAdd(CommandContext& c) {
  bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
  size_t i = 2;
  for (; i < c.argc(); ++i) {
    std::string_view a = c.args[i];
    if (EqualsIgnoreCase(a, "NX")) {
      nx = true;
    } else if (EqualsIgnoreCase(a, "XX")) {
      xx = true;
    } else if (EqualsIgnoreCase(a, "GT")) {
      gt = true;
    } else if (EqualsIgnoreCase(a, "LT")) {
      lt = true;
    } else if (EqualsIgnoreCase(a, "CH")) {
      ch = true;
    } else if (EqualsIgnoreCase(a, "INCR")) {
      incr = true;
    } else {
      break;
    }
  }
  const size_t elements = c.argc() - i;
  if (elements == 0 || elements % 2 != 0) return c.out.Error(kErrSyntax);
  if (nx && xx) return c.out.Error("ERR XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return c.out.Error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && elements > 2) {
    return c.out.Error("ERR INCR option supports a single increment-element pair");
  }
  std::vector<double> scores;
  for (size_t j = i; j < c.argc(); j += 2) {
    double s;
    if (!ParseScore(c.args[j], &s)) return c.out.Error(kErrNotFloat);
    scores.push_back(s);
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ZSetValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) {
    if (xx) return incr ? c.out.Null() : c.out.Integer(0);
    e = FindOrCreate<ZSetValue>(c, k);
    if (!e) return;
  }
  Edit edit(c, k, e);
  auto* z = ValueOf<ZSetValue>(e);
  int64_t added = 0, changed = 0;
  double last = 0;
  bool done = false;  // INCR: the element was added or updated
  for (size_t j = 0; j < scores.size(); ++j) {
    const std::string_view m = c.args[i + 2 * j + 1];
    double score = scores[j];
    const std::optional<double> cur = z->Score(m);
    if (cur) {
      if (nx) continue;
      if (incr) {
        score += *cur;
        if (std::isnan(score)) {
          edit.Unchanged();
          return c.out.Error("ERR resulting score is not a number (NaN)");
        }
      }
      if ((lt && score >= *cur) || (gt && score <= *cur)) continue;
      last = score;
      done = true;
      if (score != *cur) {
        z->Set(m, score);
        ++changed;
      }
    } else {
      if (xx) continue;
      z->Set(m, score);
      last = score;
      done = true;
      ++added;
    }
  }
  if (added + changed == 0) edit.Unchanged();
  if (incr) return done ? c.out.Double(last) : c.out.Null();
  c.out.Integer(ch ? added + changed : added);
}

void ZRem(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ZSetValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return c.out.Integer(0);
  Edit edit(c, k, e);
  int64_t n = 0;
  for (size_t i = 2; i < c.argc(); ++i) n += ValueOf<ZSetValue>(e)->Remove(c.args[i]);
  if (n == 0) edit.Unchanged();
  c.out.Integer(n);
}

void ZScore(CommandContext& c) {
  ReadZSet(c, [&](ZSetValue* z) {
    auto s = z ? z->Score(c.args[2]) : std::nullopt;
    if (s) {
      c.out.Double(*s);
    } else {
      c.out.Null();
    }
  });
}

void ZMScore(CommandContext& c) {
  ReadZSet(c, [&](ZSetValue* z) {
    c.out.ArrayHeader(static_cast<int64_t>(c.argc() - 2));
    for (size_t i = 2; i < c.argc(); ++i) {
      auto s = z ? z->Score(c.args[i]) : std::nullopt;
      if (s) {
        c.out.Double(*s);
      } else {
        c.out.Null();
      }
    }
  });
}

void ZIncrBy(CommandContext& c) {
  double incr;
  if (!ParseScore(c.args[2], &incr)) return c.out.Error(kErrNotFloat);
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e = FindOrCreate<ZSetValue>(c, k);
  if (!e) return;
  Edit edit(c, k, e);
  auto* z = ValueOf<ZSetValue>(e);
  const double score = z->Score(c.args[3]).value_or(0) + incr;
  if (std::isnan(score)) {
    edit.Unchanged();
    return c.out.Error("ERR resulting score is not a number (NaN)");
  }
  z->Set(c.args[3], score);
  c.out.Double(score);
}

void ZCard(CommandContext& c) {
  ReadZSet(c, [&](ZSetValue* z) { c.out.Integer(z ? static_cast<int64_t>(z->size()) : 0); });
}

void ZCount(CommandContext& c) {
  ScoreRange r;
  if (!ParseScoreRange(c.args[2], c.args[3], &r)) {
    return c.out.Error("ERR min or max is not a float");
  }
  ReadZSet(c, [&](ZSetValue* z) {
    if (!z) return c.out.Integer(0);
    int64_t n = 0;
    z->ForEachFromScore(r.min, r.min_ex, [&](ScoreMemberView v) {
      if (!r.Contains(v.score)) return false;
      ++n;
      return true;
    });
    c.out.Integer(n);
  });
}

void ZLexCount(CommandContext& c) {
  LexRange r;
  if (!ParseLexRange(c.args[2], c.args[3], &r)) {
    return c.out.Error("ERR min or max not valid string range item");
  }
  ReadZSet(c, [&](ZSetValue* z) {
    int64_t n = 0;
    if (z) {
      z->ForEach(0, [&](ScoreMemberView v) {
        n += r.Contains(v.member);
        return true;
      });
    }
    c.out.Integer(n);
  });
}

void RankGeneric(CommandContext& c, bool rev) {
  ReadZSet(c, [&](ZSetValue* z) {
    auto s = z ? z->Score(c.args[2]) : std::nullopt;
    if (!s) return c.out.Null();
    const size_t r = z->Rank(c.args[2], *s);
    c.out.Integer(static_cast<int64_t>(rev ? z->size() - 1 - r : r));
  });
}
void ZRank(CommandContext& c) { RankGeneric(c, false); }
void ZRevRank(CommandContext& c) { RankGeneric(c, true); }

void RangeGeneric(CommandContext& c, ZRangeSpec spec) {
  if (Status st = ParseZRange(c.args, 2, false, &spec); !st.ok()) return c.out.Error(st.message());
  ReadZSet(c, [&](ZSetValue* z) {
    if (!z) return c.out.ArrayHeader(0);
    ReplyScored(c, CollectRange(*z, spec), spec.withscores);
  });
}
ZRangeSpec Preset(ZRangeSpec::Kind kind, ZRangeSpec::Direction dir) {
  ZRangeSpec s;
  s.kind = kind;
  s.direction = dir;
  return s;
}
void ZRange(CommandContext& c) { RangeGeneric(c, ZRangeSpec()); }
void ZRevRange(CommandContext& c) {
  RangeGeneric(c, Preset(ZRangeSpec::kRank, ZRangeSpec::kReverse));
}
void ZRangeByScore(CommandContext& c) {
  RangeGeneric(c, Preset(ZRangeSpec::kScore, ZRangeSpec::kForward));
}
void ZRevRangeByScore(CommandContext& c) {
  RangeGeneric(c, Preset(ZRangeSpec::kScore, ZRangeSpec::kReverse));
}
void ZRangeByLex(CommandContext& c) {
  RangeGeneric(c, Preset(ZRangeSpec::kLex, ZRangeSpec::kForward));
}
void ZRevRangeByLex(CommandContext& c) {
  RangeGeneric(c, Preset(ZRangeSpec::kLex, ZRangeSpec::kReverse));
}

// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
void ZRangeStore(CommandContext& c) {
  ZRangeSpec spec;
  std::vector<std::string_view> args(c.args.begin() + 1, c.args.end());  // as ZRANGE src ...
  if (Status st = ParseZRange(args, 2, true, &spec); !st.ok()) return c.out.Error(st.message());
  KeyRef keys[2] = {KeyRef(c.args[1]), KeyRef(c.args[2])};
  auto lock = c.db.Lock(keys, 2);
  bool wrong;
  Entry* src = FindAs<ZSetValue>(c, keys[1], &wrong);
  if (wrong) return;
  std::vector<ScoreMember> result;
  if (src) {
    for (const ScoreMemberView& sm : CollectRange(*ValueOf<ZSetValue>(src), spec)) {
      result.push_back({sm.score, std::string(sm.member)});
    }
  }
  StoreZSet(c, keys[0], result);
  c.out.Integer(static_cast<int64_t>(result.size()));
}

void RemRangeGeneric(CommandContext& c, ZRangeSpec::Kind kind) {
  ZRangeSpec spec = Preset(kind, ZRangeSpec::kForward);
  std::vector<std::string_view> args(c.args.begin(), c.args.begin() + 4);
  if (Status st = ParseZRange(args, 2, true, &spec); !st.ok()) return c.out.Error(st.message());
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ZSetValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return c.out.Integer(0);
  Edit edit(c, k, e);
  auto* z = ValueOf<ZSetValue>(e);
  std::vector<std::string> members;
  for (const ScoreMemberView& sm : CollectRange(*z, spec)) members.emplace_back(sm.member);
  for (const auto& m : members) z->Remove(m);
  if (members.empty()) edit.Unchanged();
  c.out.Integer(static_cast<int64_t>(members.size()));
}
void ZRemRangeByRank(CommandContext& c) { RemRangeGeneric(c, ZRangeSpec::kRank); }
void ZRemRangeByScore(CommandContext& c) { RemRangeGeneric(c, ZRangeSpec::kScore); }
void ZRemRangeByLex(CommandContext& c) { RemRangeGeneric(c, ZRangeSpec::kLex); }

}  // namespace

void StoreZSet(CommandContext& c, const KeyRef& dst, const std::vector<ScoreMember>& items) {
  Keyspace& ks = c.db.ShardFor(dst);
  if (Entry* old = ks.Find(dst.key, dst.hash, c.now_ms)) ks.Delete(old);
  if (items.empty()) return;
  auto z = std::make_unique<ZSetValue>();
  for (const ScoreMember& sm : items) z->Set(sm.member, sm.score);
  ks.CreateObject(dst.key, dst.hash, std::move(z));
}

void RegisterZSetCommands(CommandTable& t) {
  const uint32_t w = kWrite | kDenyOom;
  t.Add({"zadd", -4, w | kFast, 1, 1, 1, ZAdd, "sorted_set",
         "Adds one or more members to a sorted set, or updates their scores. Creates the key if it "
         "doesn't exist.",
         "1.2.0"});
  t.Add({"zrem", -3, kWrite | kFast, 1, 1, 1, ZRem, "sorted_set",
         "Removes one or more members from a sorted set. Deletes the sorted set if all members "
         "were removed.",
         "1.2.0"});
  t.Add({"zscore", 3, kReadonly | kFast, 1, 1, 1, ZScore, "sorted_set",
         "Returns the score of a member in a sorted set.", "1.2.0"});
  t.Add({"zmscore", -3, kReadonly | kFast, 1, 1, 1, ZMScore, "sorted_set",
         "Returns the score of one or more members in a sorted set.", "6.2.0"});
  t.Add({"zincrby", 4, w | kFast, 1, 1, 1, ZIncrBy, "sorted_set",
         "Increments the score of a member in a sorted set.", "1.2.0"});
  t.Add({"zcard", 2, kReadonly | kFast, 1, 1, 1, ZCard, "sorted_set",
         "Returns the number of members in a sorted set.", "1.2.0"});
  t.Add({"zcount", 4, kReadonly | kFast, 1, 1, 1, ZCount, "sorted_set",
         "Returns the count of members in a sorted set that have scores within a range.", "2.0.0"});
  t.Add({"zlexcount", 4, kReadonly | kFast, 1, 1, 1, ZLexCount, "sorted_set",
         "Returns the number of members in a sorted set within a lexicographical range.", "2.8.9"});
  t.Add({"zrank", 3, kReadonly | kFast, 1, 1, 1, ZRank, "sorted_set",
         "Returns the index of a member in a sorted set ordered by ascending scores.", "2.0.0"});
  t.Add({"zrevrank", 3, kReadonly | kFast, 1, 1, 1, ZRevRank, "sorted_set",
         "Returns the index of a member in a sorted set ordered by descending scores.", "2.0.0"});
  t.Add({"zrange", -4, kReadonly, 1, 1, 1, ZRange, "sorted_set",
         "Returns members in a sorted set within a range of indexes.", "1.2.0"});
  t.Add({"zrangestore", -5, w, 1, 2, 1, ZRangeStore, "sorted_set",
         "Stores a range of members from sorted set in a key.", "6.2.0"});
  t.Add({"zrevrange", -4, kReadonly, 1, 1, 1, ZRevRange, "sorted_set",
         "Returns members in a sorted set within a range of indexes in reverse order.", "1.2.0"});
  t.Add({"zrangebyscore", -4, kReadonly, 1, 1, 1, ZRangeByScore, "sorted_set",
         "Returns members in a sorted set within a range of scores.", "1.0.5"});
  t.Add({"zrevrangebyscore", -4, kReadonly, 1, 1, 1, ZRevRangeByScore, "sorted_set",
         "Returns members in a sorted set within a range of scores in reverse order.", "2.2.0"});
  t.Add({"zrangebylex", -4, kReadonly, 1, 1, 1, ZRangeByLex, "sorted_set",
         "Returns members in a sorted set within a lexicographical range.", "2.8.9"});
  t.Add({"zrevrangebylex", -4, kReadonly, 1, 1, 1, ZRevRangeByLex, "sorted_set",
         "Returns members in a sorted set within a lexicographical range in reverse order.",
         "2.8.9"});
  t.Add({"zremrangebyrank", 4, kWrite, 1, 1, 1, ZRemRangeByRank, "sorted_set",
         "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all "
         "members were removed.",
         "2.0.0"});
  t.Add({"zremrangebyscore", 4, kWrite, 1, 1, 1, ZRemRangeByScore, "sorted_set",
         "Removes members in a sorted set within a range of scores. Deletes the sorted set if all "
         "members were removed.",
         "1.2.0"});
  t.Add({"zremrangebylex", 4, kWrite, 1, 1, 1, ZRemRangeByLex, "sorted_set",
         "Removes members in a sorted set within a lexicographical range. Deletes the sorted set "
         "if all members were removed.",
         "2.8.9"});
  RegisterZSetOpsCommands(t);
}

}  // namespace pier::cache::server
