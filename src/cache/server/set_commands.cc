// Sets: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SMOVE SINTER SUNION SDIFF
// SINTERSTORE SUNIONSTORE SDIFFSTORE SINTERCARD SSCAN, as Redis 7.0.
#include <algorithm>
#include <climits>
#include <random>
#include <unordered_set>

#include "cache/server/collection_access.h"
#include "cache/server/scan_args.h"
#include "pier/base/glob.h"

namespace pier::cache::server {

namespace {

uint64_t RandomBits() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

void SAdd(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e = FindOrCreate<SetValue>(c, k);
  if (!e) return;
  Edit edit(c, k, e);
  int64_t added = 0;
  for (size_t i = 2; i < c.argc(); ++i) added += ValueOf<SetValue>(e)->Add(c.args[i]);
  if (added == 0) edit.Unchanged();
  c.out.Integer(added);
}

void SRem(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<SetValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return c.out.Integer(0);
  Edit edit(c, k, e);
  int64_t removed = 0;
  for (size_t i = 2; i < c.argc(); ++i) removed += ValueOf<SetValue>(e)->Remove(c.args[i]);
  if (removed == 0) edit.Unchanged();
  c.out.Integer(removed);
}

template <typename Fn>
void ReadSet(CommandContext& c, Fn&& fn) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<SetValue>(c, k, &wrong);
  if (!wrong) fn(ValueOf<SetValue>(e));
}

void ReplySet(CommandContext& c, const std::vector<std::string>& members) {
  c.out.SetHeader(static_cast<int64_t>(members.size()));
  for (const auto& m : members) c.out.Bulk(m);
}

void SMembers(CommandContext& c) {
  ReadSet(c, [&](SetValue* s) {
    if (!s) return c.out.SetHeader(0);
    c.out.SetHeader(static_cast<int64_t>(s->size()));
    s->ForEach([&](std::string_view m) { c.out.Bulk(m); });
  });
}

void SIsMember(CommandContext& c) {
  ReadSet(c, [&](SetValue* s) { c.out.Integer(s && s->Contains(c.args[2]) ? 1 : 0); });
}

void SMIsMember(CommandContext& c) {
  ReadSet(c, [&](SetValue* s) {
    c.out.ArrayHeader(static_cast<int64_t>(c.argc() - 2));
    for (size_t i = 2; i < c.argc(); ++i) c.out.Integer(s && s->Contains(c.args[i]) ? 1 : 0);
  });
}

void SCard(CommandContext& c) {
  ReadSet(c, [&](SetValue* s) { c.out.Integer(s ? static_cast<int64_t>(s->size()) : 0); });
}

void SPop(CommandContext& c) {
  if (c.argc() > 3) return c.out.Error(kErrSyntax);
  int64_t count = -1;
  if (c.argc() == 3 && (!ParseInt64(c.args[2], &count) || count < 0)) {
    return c.out.Error("ERR value is out of range, must be positive");
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<SetValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return count < 0 ? c.out.Null() : c.out.SetHeader(0);
  Edit edit(c, k, e);
  auto* s = ValueOf<SetValue>(e);
  if (count < 0) {
    std::string m = s->Random(RandomBits());
    s->Remove(m);
    return c.out.Bulk(m);
  }
  const size_t n = std::min<size_t>(static_cast<size_t>(count), s->size());
  if (n == 0) edit.Unchanged();
  c.out.SetHeader(static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) {
    std::string m = s->Random(RandomBits());
    s->Remove(m);
    c.out.Bulk(m);
  }
}

void SRandMember(CommandContext& c) {
  if (c.argc() > 3) return c.out.Error(kErrSyntax);
  int64_t count = 0;
  const bool has_count = c.argc() == 3;
  if (has_count && !ParseInt64(c.args[2], &count)) return c.out.Error(kErrNotInteger);
  if (count == LLONG_MIN) {
    return c.out.Error(
        "ERR value is out of range, must be between -9223372036854775807 and "
        "9223372036854775807");
  }
  ReadSet(c, [&](SetValue* s) {
    if (!has_count) return s ? c.out.Bulk(s->Random(RandomBits())) : c.out.Null();
    if (!s || count == 0) return c.out.ArrayHeader(0);
    if (count < 0) {  // may repeat
      c.out.ArrayHeader(-count);
      for (int64_t i = 0; i < -count; ++i) c.out.Bulk(s->Random(RandomBits()));
      return;
    }
    std::vector<std::string> all = s->Members();
    const size_t n = std::min<size_t>(static_cast<size_t>(count), all.size());
    for (size_t i = 0; i < n; ++i) std::swap(all[i], all[i + RandomBits() % (all.size() - i)]);
    c.out.ArrayHeader(static_cast<int64_t>(n));
    for (size_t i = 0; i < n; ++i) c.out.Bulk(all[i]);
  });
}

void SMove(CommandContext& c) {
  KeyRef keys[2] = {KeyRef(c.args[1]), KeyRef(c.args[2])};
  auto lock = c.db.Lock(keys, 2);
  bool wrong;
  Entry* src = FindAs<SetValue>(c, keys[0], &wrong, false);
  if (wrong) return;
  Entry* dst = FindAs<SetValue>(c, keys[1], &wrong, false);
  if (wrong) return;
  if (!src || !ValueOf<SetValue>(src)->Contains(c.args[3])) return c.out.Integer(0);
  if (src == dst) return c.out.Integer(1);
  {
    Edit edit(c, keys[0], src);
    ValueOf<SetValue>(src)->Remove(c.args[3]);
  }
  Entry* d = FindOrCreate<SetValue>(c, keys[1]);
  if (!d) return;
  Edit edit(c, keys[1], d);
  ValueOf<SetValue>(d)->Add(c.args[3]);
  c.out.Integer(1);
}

enum class SetOp { kInter, kUnion, kDiff };

// The sets of `keys` (nullptr for absent keys); false after WRONGTYPE.
bool LoadSets(CommandContext& c, const std::vector<KeyRef>& keys, std::vector<SetValue*>* sets) {
  for (const KeyRef& k : keys) {
    bool wrong;
    Entry* e = FindAs<SetValue>(c, k, &wrong);
    if (wrong) return false;
    sets->push_back(ValueOf<SetValue>(e));
  }
  return true;
}

std::vector<std::string> Combine(SetOp op, const std::vector<SetValue*>& sets, size_t limit) {
  std::vector<std::string> out;
  if (sets.empty()) return out;
  switch (op) {
    case SetOp::kInter: {
      const SetValue* smallest = nullptr;
      for (const SetValue* s : sets) {
        if (!s) return out;
        if (!smallest || s->size() < smallest->size()) smallest = s;
      }
      smallest->ForEach([&](const std::string& m) {
        if (out.size() >= limit) return;
        for (const SetValue* s : sets) {
          if (s != smallest && !s->Contains(m)) return;
        }
        out.push_back(m);
      });
      return out;
    }
    case SetOp::kUnion: {
      std::unordered_set<std::string> seen;
      for (const SetValue* s : sets) {
        if (!s) continue;
        s->ForEach([&](const std::string& m) {
          if (seen.insert(m).second) out.push_back(m);
        });
      }
      return out;
    }
    case SetOp::kDiff: {
      if (!sets[0]) return out;
      sets[0]->ForEach([&](const std::string& m) {
        for (size_t i = 1; i < sets.size(); ++i) {
          if (sets[i] && sets[i]->Contains(m)) return;
        }
        out.push_back(m);
      });
      return out;
    }
  }
  return out;
}

std::vector<KeyRef> KeyRefs(CommandContext& c, size_t first, size_t last) {
  std::vector<KeyRef> keys;
  for (size_t i = first; i <= last; ++i) keys.emplace_back(c.args[i]);
  return keys;
}

void SetOpGeneric(CommandContext& c, SetOp op) {
  auto keys = KeyRefs(c, 1, c.argc() - 1);
  auto lock = c.db.Lock(keys.data(), keys.size());
  std::vector<SetValue*> sets;
  if (!LoadSets(c, keys, &sets)) return;
  ReplySet(c, Combine(op, sets, SIZE_MAX));
}
void SInter(CommandContext& c) { SetOpGeneric(c, SetOp::kInter); }
void SUnion(CommandContext& c) { SetOpGeneric(c, SetOp::kUnion); }
void SDiff(CommandContext& c) { SetOpGeneric(c, SetOp::kDiff); }

void SetOpStore(CommandContext& c, SetOp op) {
  auto keys = KeyRefs(c, 1, c.argc() - 1);  // keys[0] is the destination
  auto lock = c.db.Lock(keys.data(), keys.size());
  std::vector<SetValue*> sets;
  if (!LoadSets(c, {keys.begin() + 1, keys.end()}, &sets)) return;
  std::vector<std::string> result = Combine(op, sets, SIZE_MAX);
  Keyspace& ks = c.db.ShardFor(keys[0]);
  if (Entry* old = ks.Find(keys[0].key, keys[0].hash, c.now_ms)) ks.Delete(old);
  if (!result.empty()) {
    Entry* e = FindOrCreate<SetValue>(c, keys[0]);
    if (!e) return;
    Edit edit(c, keys[0], e);
    for (const auto& m : result) ValueOf<SetValue>(e)->Add(m);
  }
  c.out.Integer(static_cast<int64_t>(result.size()));
}
void SInterStore(CommandContext& c) { SetOpStore(c, SetOp::kInter); }
void SUnionStore(CommandContext& c) { SetOpStore(c, SetOp::kUnion); }
void SDiffStore(CommandContext& c) { SetOpStore(c, SetOp::kDiff); }

// SINTERCARD numkeys key... [LIMIT n]
void SInterCard(CommandContext& c) {
  size_t n;
  if (!ParseNumKeys(c, 1, &n)) return;
  int64_t limit = 0;
  for (size_t i = 2 + n; i < c.argc(); i += 2) {
    if (!EqualsIgnoreCase(c.args[i], "LIMIT") || i + 1 >= c.argc()) {
      return c.out.Error(kErrSyntax);
    }
    if (!ParseInt64(c.args[i + 1], &limit)) return c.out.Error(kErrNotInteger);
    if (limit < 0) return c.out.Error("ERR LIMIT can't be negative");
  }
  auto keys = KeyRefs(c, 2, 1 + n);
  auto lock = c.db.Lock(keys.data(), keys.size());
  std::vector<SetValue*> sets;
  if (!LoadSets(c, keys, &sets)) return;
  const size_t cap = limit == 0 ? SIZE_MAX : static_cast<size_t>(limit);
  c.out.Integer(static_cast<int64_t>(Combine(SetOp::kInter, sets, cap).size()));
}

// SSCAN: like Redis for intsets, the whole set comes back in one call with cursor 0.
void SScan(CommandContext& c) {
  ScanArgs a;
  if (!ParseScanArgs(c, 2, /*allow_type=*/false, &a)) return;
  ReadSet(c, [&](SetValue* s) {
    std::vector<std::string> items;
    if (s && a.cursor == 0) {
      s->ForEach([&](const std::string& m) {
        if (a.pattern.empty() || GlobMatch(a.pattern, m)) items.push_back(m);
      });
    }
    c.out.ArrayHeader(2);
    c.out.Bulk("0");
    c.out.ArrayHeader(static_cast<int64_t>(items.size()));
    for (const auto& m : items) c.out.Bulk(m);
  });
}

}  // namespace

void RegisterSetCommands(CommandTable& t) {
  const uint32_t w = kWrite | kDenyOom;
  t.Add({"sadd", -3, w | kFast, 1, 1, 1, SAdd, "set",
         "Adds one or more members to a set. Creates the key if it doesn't exist.", "1.0.0"});
  t.Add({"srem", -3, kWrite | kFast, 1, 1, 1, SRem, "set",
         "Removes one or more members from a set. Deletes the set if the last member was removed.",
         "1.0.0"});
  t.Add({"smembers", 2, kReadonly, 1, 1, 1, SMembers, "set", "Returns all members of a set.",
         "1.0.0"});
  t.Add({"sismember", 3, kReadonly | kFast, 1, 1, 1, SIsMember, "set",
         "Determines whether a member belongs to a set.", "1.0.0"});
  t.Add({"smismember", -3, kReadonly | kFast, 1, 1, 1, SMIsMember, "set",
         "Determines whether multiple members belong to a set.", "6.2.0"});
  t.Add({"scard", 2, kReadonly | kFast, 1, 1, 1, SCard, "set",
         "Returns the number of members in a set.", "1.0.0"});
  t.Add({"spop", -2, kWrite | kFast, 1, 1, 1, SPop, "set",
         "Returns one or more random members from a set after removing them. Deletes the set if "
         "the last member was popped.",
         "1.0.0"});
  t.Add({"srandmember", -2, kReadonly, 1, 1, 1, SRandMember, "set",
         "Get one or multiple random members from a set", "1.0.0"});
  t.Add({"smove", 4, kWrite | kFast, 1, 2, 1, SMove, "set",
         "Moves a member from one set to another.", "1.0.0"});
  t.Add({"sinter", -2, kReadonly, 1, -1, 1, SInter, "set",
         "Returns the intersect of multiple sets.", "1.0.0"});
  t.Add({"sunion", -2, kReadonly, 1, -1, 1, SUnion, "set", "Returns the union of multiple sets.",
         "1.0.0"});
  t.Add({"sdiff", -2, kReadonly, 1, -1, 1, SDiff, "set", "Returns the difference of multiple sets.",
         "1.0.0"});
  t.Add({"sinterstore", -3, w, 1, -1, 1, SInterStore, "set",
         "Stores the intersect of multiple sets in a key.", "1.0.0"});
  t.Add({"sunionstore", -3, w, 1, -1, 1, SUnionStore, "set",
         "Stores the union of multiple sets in a key.", "1.0.0"});
  t.Add({"sdiffstore", -3, w, 1, -1, 1, SDiffStore, "set",
         "Stores the difference of multiple sets in a key.", "1.0.0"});
  CommandSpec card{"sintercard",
                   -3,
                   kReadonly,
                   0,
                   0,
                   0,
                   SInterCard,
                   "set",
                   "Returns the number of members of the intersect of multiple sets.",
                   "7.0.0"};
  card.numkeys_at = 1;
  t.Add(std::move(card));
  t.Add(
      {"sscan", -3, kReadonly, 1, 1, 1, SScan, "set", "Iterates over members of a set.", "2.6.0"});
}

}  // namespace pier::cache::server
