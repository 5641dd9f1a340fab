// Lists: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LINSERT LREM LTRIM LPOS
// LMOVE RPOPLPUSH LMPOP and the blocking BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP, as Redis 7.0.
#include <algorithm>
#include <climits>

#include "cache/server/collection_access.h"

namespace pier::cache::server {

namespace {

void PushGeneric(CommandContext& c, bool left, bool only_existing) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e;
  if (only_existing) {
    bool wrong;
    e = FindAs<ListValue>(c, k, &wrong, false);
    if (wrong) return;
    if (!e) return c.out.Integer(0);
  } else {
    e = FindOrCreate<ListValue>(c, k);
    if (!e) return;
  }
  Edit edit(c, k, e);
  auto* l = ValueOf<ListValue>(e);
  for (size_t i = 2; i < c.argc(); ++i) l->Push(left, c.args[i]);
  c.out.Integer(static_cast<int64_t>(l->size()));
}
void LPush(CommandContext& c) { PushGeneric(c, true, false); }
void RPush(CommandContext& c) { PushGeneric(c, false, false); }
void LPushX(CommandContext& c) { PushGeneric(c, true, true); }
void RPushX(CommandContext& c) { PushGeneric(c, false, true); }

// LPOP/RPOP key [count]
void PopGeneric(CommandContext& c, bool left) {
  if (c.argc() > 3) return c.WrongArity();
  int64_t count = -1;
  if (c.argc() == 3) {
    if (!ParseInt64(c.args[2], &count) || count < 0) {
      return c.out.Error("ERR value is out of range, must be positive");
    }
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ListValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return count < 0 ? c.out.Null() : c.out.NullArray();
  Edit edit(c, k, e);
  auto* l = ValueOf<ListValue>(e);
  if (count < 0) return c.out.Bulk(l->Pop(left));
  const size_t n = std::min<size_t>(static_cast<size_t>(count), l->size());
  if (n == 0) edit.Unchanged();
  c.out.ArrayHeader(static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) c.out.Bulk(l->Pop(left));
}
void LPop(CommandContext& c) { PopGeneric(c, true); }
void RPop(CommandContext& c) { PopGeneric(c, false); }

// Runs fn(list) for a read of args[1]; list is nullptr when the key is absent.
template <typename Fn>
void ReadList(CommandContext& c, Fn&& fn) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ListValue>(c, k, &wrong);
  if (!wrong) fn(ValueOf<ListValue>(e));
}

void LLen(CommandContext& c) {
  ReadList(c, [&](ListValue* l) { c.out.Integer(l ? static_cast<int64_t>(l->size()) : 0); });
}

void LRange(CommandContext& c) {
  int64_t start, stop;
  if (!ParseInt64(c.args[2], &start) || !ParseInt64(c.args[3], &stop)) {
    return c.out.Error(kErrNotInteger);
  }
  ReadList(c, [&](ListValue* l) {
    size_t a, b;
    if (!l || !ClampRange(start, stop, l->size(), &a, &b)) return c.out.ArrayHeader(0);
    c.out.ArrayHeader(static_cast<int64_t>(b - a + 1));
    l->ForEach(a, [&](size_t i, std::string_view v) {
      c.out.Bulk(v);
      return i < b;
    });
  });
}

// A list index (negative from the end) within [0, len), or false.
bool IndexIn(int64_t index, size_t len, size_t* out) {
  if (index < 0) index += static_cast<int64_t>(len);
  if (index < 0 || index >= static_cast<int64_t>(len)) return false;
  *out = static_cast<size_t>(index);
  return true;
}

void LIndex(CommandContext& c) {
  int64_t index;
  if (!ParseInt64(c.args[2], &index)) return c.out.Error(kErrNotInteger);
  ReadList(c, [&](ListValue* l) {
    size_t i;
    if (!l || !IndexIn(index, l->size(), &i)) return c.out.Null();
    c.out.Bulk(l->Get(i));
  });
}

void LSet(CommandContext& c) {
  int64_t index;
  if (!ParseInt64(c.args[2], &index)) return c.out.Error(kErrNotInteger);
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ListValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return c.out.Error(kErrNoSuchKey);
  Edit edit(c, k, e);
  auto* l = ValueOf<ListValue>(e);
  size_t i;
  if (!IndexIn(index, l->size(), &i)) {
    edit.Unchanged();
    return c.out.Error("ERR index out of range");
  }
  l->Set(i, c.args[3]);
  c.out.Ok();
}

void LInsert(CommandContext& c) {
  bool before;
  if (EqualsIgnoreCase(c.args[2], "BEFORE")) {
    before = true;
  } else if (EqualsIgnoreCase(c.args[2], "AFTER")) {
    before = false;
  } else {
    return c.out.Error(kErrSyntax);
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ListValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return c.out.Integer(0);
  Edit edit(c, k, e);
  auto* l = ValueOf<ListValue>(e);
  size_t at = SIZE_MAX;
  l->ForEach(0, [&](size_t i, std::string_view v) {
    if (v == c.args[3]) at = i;
    return at == SIZE_MAX;
  });
  if (at == SIZE_MAX) {
    edit.Unchanged();
    return c.out.Integer(-1);
  }
  l->Insert(before ? at : at + 1, c.args[4]);
  c.out.Integer(static_cast<int64_t>(l->size()));
}

void LRem(CommandContext& c) {
  int64_t count;
  if (!ParseInt64(c.args[2], &count)) return c.out.Error(kErrNotInteger);
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ListValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return c.out.Integer(0);
  Edit edit(c, k, e);
  auto* l = ValueOf<ListValue>(e);
  const uint64_t limit = count == 0  ? UINT64_MAX
                         : count < 0 ? uint64_t(-(count + 1)) + 1
                                     : uint64_t(count);
  std::vector<size_t> hits;  // ascending or, from the tail, descending
  auto match = [&](size_t i, std::string_view v) {
    if (v == c.args[3]) hits.push_back(i);
    return hits.size() < limit;
  };
  if (count >= 0) {
    l->ForEach(0, match);
  } else {
    l->ForEachReverse(match);
  }
  if (count >= 0) std::reverse(hits.begin(), hits.end());
  for (size_t i : hits) l->Erase(i);  // from the highest index down
  if (hits.empty()) edit.Unchanged();
  c.out.Integer(static_cast<int64_t>(hits.size()));
}

void LTrim(CommandContext& c) {
  int64_t start, stop;
  if (!ParseInt64(c.args[2], &start) || !ParseInt64(c.args[3], &stop)) {
    return c.out.Error(kErrNotInteger);
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = FindAs<ListValue>(c, k, &wrong, false);
  if (wrong) return;
  if (!e) return c.out.Ok();
  Edit edit(c, k, e);
  auto* l = ValueOf<ListValue>(e);
  size_t a, b;
  if (!ClampRange(start, stop, l->size(), &a, &b)) {
    l->Trim(1, 0);
  } else {
    l->Trim(a, b);
  }
  c.out.Ok();
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
void LPos(CommandContext& c) {
  int64_t rank = 1, count = -1, maxlen = 0;
  for (size_t i = 3; i < c.argc(); i += 2) {
    if (i + 1 >= c.argc()) return c.out.Error(kErrSyntax);
    std::string_view opt = c.args[i];
    int64_t v;
    if (!ParseInt64(c.args[i + 1], &v)) return c.out.Error(kErrNotInteger);
    if (EqualsIgnoreCase(opt, "RANK")) {
      if (v == 0) {
        return c.out.Error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
      }
      // Redis 7.0 negates the rank in place: LLONG_MIN stays negative and matches the first hit
      // from the tail, as -1 does.
      rank = v == LLONG_MIN ? -1 : v;
    } else if (EqualsIgnoreCase(opt, "COUNT")) {
      if (v < 0) return c.out.Error("ERR COUNT can't be negative");
      count = v;
    } else if (EqualsIgnoreCase(opt, "MAXLEN")) {
      if (v < 0) return c.out.Error("ERR MAXLEN can't be negative");
      maxlen = v;
    } else {
      return c.out.Error(kErrSyntax);
    }
  }
  ReadList(c, [&](ListValue* l) {
    std::vector<int64_t> found;
    const size_t want = count < 0 ? 1 : count == 0 ? SIZE_MAX : static_cast<size_t>(count);
    if (l) {
      const size_t n = l->size();
      const size_t scan = maxlen == 0 ? n : std::min<size_t>(n, static_cast<size_t>(maxlen));
      uint64_t skip = rank > 0 ? uint64_t(rank) - 1 : uint64_t(-(rank + 1));
      size_t step = 0;
      auto visit = [&](size_t i, std::string_view v) {
        if (step++ >= scan) return false;
        if (v == c.args[2]) {
          if (skip > 0) {
            --skip;
          } else {
            found.push_back(static_cast<int64_t>(i));
          }
        }
        return found.size() < want;
      };
      if (rank > 0) {
        l->ForEach(0, visit);
      } else {
        l->ForEachReverse(visit);
      }
    }
    if (count < 0) return found.empty() ? c.out.Null() : c.out.Integer(found[0]);
    c.out.ArrayHeader(static_cast<int64_t>(found.size()));
    for (int64_t i : found) c.out.Integer(i);
  });
}

bool ParseSide(std::string_view s, bool* left) {
  if (EqualsIgnoreCase(s, "LEFT")) {
    *left = true;
  } else if (EqualsIgnoreCase(s, "RIGHT")) {
    *left = false;
  } else {
    return false;
  }
  return true;
}

// Moves one element from src to dst (both locked): the moved element's reply, or nil. `first`
// false: serving a parked BLMOVE (a source of another type is skipped).
bool MoveOne(CommandContext& c, std::string_view src_key, std::string_view dst_key, bool from_left,
             bool to_left, bool first) {
  KeyRef keys[2] = {KeyRef(src_key), KeyRef(dst_key)};
  auto lock = c.db.Lock(keys, 2);
  bool answered;
  Entry* src = FindToPop<ListValue>(c, keys[0], first, &answered);
  if (!src) return answered;
  Entry* dst = c.db.ShardFor(keys[1]).Find(keys[1].key, keys[1].hash, c.now_ms);
  if (dst && dst->type != ValueType::kList) {
    c.out.Error(kErrWrongType);
    return true;
  }
  std::string v;
  {
    Edit edit(c, keys[0], src);
    v = ValueOf<ListValue>(src)->Pop(from_left);
  }
  // The source may be gone now (it was the last element, or src == dst emptied).
  Entry* d = FindOrCreate<ListValue>(c, keys[1]);
  if (!d) return true;
  Edit edit(c, keys[1], d);
  ValueOf<ListValue>(d)->Push(to_left, v);
  c.out.Bulk(v);
  return true;
}

void LMove(CommandContext& c) {
  bool from_left, to_left;
  if (!ParseSide(c.args[3], &from_left) || !ParseSide(c.args[4], &to_left)) {
    return c.out.Error(kErrSyntax);
  }
  if (!MoveOne(c, c.args[1], c.args[2], from_left, to_left, true)) c.out.Null();
}

void RPopLPush(CommandContext& c) {
  if (!MoveOne(c, c.args[1], c.args[2], false, true, true)) c.out.Null();
}

// Pops up to `count` from one list key: [key, [elements]]. False when the key has nothing.
bool MPopFrom(CommandContext& c, std::string_view key, bool left, int64_t count, bool first) {
  KeyRef k(key);
  auto lock = c.db.Lock(k);
  bool answered;
  Entry* e = FindToPop<ListValue>(c, k, first, &answered);
  if (!e) return answered;
  Edit edit(c, k, e);
  auto* l = ValueOf<ListValue>(e);
  const size_t n = std::min<size_t>(static_cast<size_t>(count), l->size());
  c.out.ArrayHeader(2);
  c.out.Bulk(key);
  c.out.ArrayHeader(static_cast<int64_t>(n));
  for (size_t i = 0; i < n; ++i) c.out.Bulk(l->Pop(left));
  return true;
}

void LMPop(CommandContext& c) {
  MPopArgs a;
  if (!ParseMPop(c, 1, "LEFT", "RIGHT", &a)) return;
  for (const auto& key : a.keys) {
    if (MPopFrom(c, key, a.first_end, a.count, true)) return;
  }
  c.out.NullArray();
}

// Blocking forms: each parks with a serve function that re-parses its own arguments.
bool ServeBPop(CommandContext& c, std::string_view key, bool first) {
  const bool left = EqualsIgnoreCase(c.args[0], "BLPOP");
  KeyRef k(key);
  auto lock = c.db.Lock(k);
  bool answered;
  Entry* e = FindToPop<ListValue>(c, k, first, &answered);
  if (!e) return answered;
  Edit edit(c, k, e);
  c.out.ArrayHeader(2);
  c.out.Bulk(key);
  c.out.Bulk(ValueOf<ListValue>(e)->Pop(left));
  return true;
}

void BPop(CommandContext& c) {
  int64_t timeout;
  if (!ParseTimeout(c, c.args.back(), &timeout)) return;
  BlockOn(c, {c.args.begin() + 1, c.args.end() - 1}, timeout, ServeBPop, true);
}

bool ServeBLMove(CommandContext& c, std::string_view /*key*/, bool first) {
  bool from_left = false, to_left = true;  // BRPOPLPUSH
  if (c.argc() == 6) {
    ParseSide(c.args[3], &from_left);
    ParseSide(c.args[4], &to_left);
  }
  return MoveOne(c, c.args[1], c.args[2], from_left, to_left, first);
}

void BLMove(CommandContext& c) {
  bool from_left, to_left;
  if (!ParseSide(c.args[3], &from_left) || !ParseSide(c.args[4], &to_left)) {
    return c.out.Error(kErrSyntax);
  }
  int64_t timeout;
  if (!ParseTimeout(c, c.args[5], &timeout)) return;
  BlockOn(c, {std::string(c.args[1])}, timeout, ServeBLMove, false);
}

void BRPopLPush(CommandContext& c) {
  int64_t timeout;
  if (!ParseTimeout(c, c.args[3], &timeout)) return;
  BlockOn(c, {std::string(c.args[1])}, timeout, ServeBLMove, false);
}

bool ServeBLMPop(CommandContext& c, std::string_view key, bool first) {
  const MPopArgs a = ReparseMPop(c, 2, "LEFT", "RIGHT");
  return MPopFrom(c, key, a.first_end, a.count, first);
}

void BLMPop(CommandContext& c) {
  int64_t timeout;
  if (!ParseTimeout(c, c.args[1], &timeout)) return;
  MPopArgs a;
  if (!ParseMPop(c, 2, "LEFT", "RIGHT", &a)) return;
  BlockOn(c, std::move(a.keys), timeout, ServeBLMPop, true);
}

}  // namespace

void RegisterListCommands(CommandTable& t) {
  const uint32_t w = kWrite | kDenyOom;
  t.Add({"lpush", -3, w | kFast, 1, 1, 1, LPush, "list",
         "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0"});
  t.Add({"rpush", -3, w | kFast, 1, 1, 1, RPush, "list",
         "Appends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0"});
  t.Add({"lpushx", -3, w | kFast, 1, 1, 1, LPushX, "list",
         "Prepends one or more elements to a list only when the list exists.", "2.2.0"});
  t.Add({"rpushx", -3, w | kFast, 1, 1, 1, RPushX, "list",
         "Appends an element to a list only when the list exists.", "2.2.0"});
  t.Add({"lpop", -2, kWrite | kFast, 1, 1, 1, LPop, "list",
         "Returns the first elements in a list after removing it. Deletes the list if the last "
         "element was popped.",
         "1.0.0"});
  t.Add({"rpop", -2, kWrite | kFast, 1, 1, 1, RPop, "list",
         "Returns and removes the last elements of a list. Deletes the list if the last element "
         "was popped.",
         "1.0.0"});
  t.Add({"llen", 2, kReadonly | kFast, 1, 1, 1, LLen, "list", "Returns the length of a list.",
         "1.0.0"});
  t.Add({"lrange", 4, kReadonly, 1, 1, 1, LRange, "list",
         "Returns a range of elements from a list.", "1.0.0"});
  t.Add({"lindex", 3, kReadonly, 1, 1, 1, LIndex, "list",
         "Returns an element from a list by its index.", "1.0.0"});
  t.Add({"lset", 4, w, 1, 1, 1, LSet, "list",
         "Sets the value of an element in a list by its index.", "1.0.0"});
  t.Add({"linsert", 5, w, 1, 1, 1, LInsert, "list",
         "Inserts an element before or after another element in a list.", "2.2.0"});
  t.Add({"lrem", 4, kWrite, 1, 1, 1, LRem, "list",
         "Removes elements from a list. Deletes the list if the last element was removed.",
         "1.0.0"});
  t.Add({"ltrim", 4, kWrite, 1, 1, 1, LTrim, "list",
         "Removes elements from both ends a list. Deletes the list if all elements were trimmed.",
         "1.0.0"});
  t.Add({"lpos", -3, kReadonly, 1, 1, 1, LPos, "list",
         "Returns the index of matching elements in a list.", "6.0.6"});
  t.Add({"lmove", 5, w, 1, 2, 1, LMove, "list",
         "Returns an element after popping it from one list and pushing it to another. Deletes the "
         "list if the last element was moved.",
         "6.2.0"});
  t.Add({"rpoplpush", 3, w, 1, 2, 1, RPopLPush, "list",
         "Returns the last element of a list after removing and pushing it to another list. "
         "Deletes the list if the last element was popped.",
         "1.2.0"});
  CommandSpec lmpop{"lmpop",
                    -4,
                    kWrite,
                    0,
                    0,
                    0,
                    LMPop,
                    "list",
                    "Returns multiple elements from a list after removing them. Deletes the list "
                    "if the last element was popped.",
                    "7.0.0"};
  lmpop.numkeys_at = 1;
  t.Add(std::move(lmpop));
  t.Add({"blpop", -3, kWrite, 1, -2, 1, BPop, "list",
         "Removes and returns the first element in a list. Blocks until an element is available "
         "otherwise. Deletes the list if the last element was popped.",
         "2.0.0"});
  t.Add({"brpop", -3, kWrite, 1, -2, 1, BPop, "list",
         "Removes and returns the last element in a list. Blocks until an element is available "
         "otherwise. Deletes the list if the last element was popped.",
         "2.0.0"});
  t.Add({"blmove", 6, w, 1, 2, 1, BLMove, "list",
         "Pops an element from a list, pushes it to another list and returns it. Blocks until an "
         "element is available otherwise. Deletes the list if the last element was moved.",
         "6.2.0"});
  t.Add({"brpoplpush", 4, w, 1, 2, 1, BRPopLPush, "list",
         "Pops an element from a list, pushes it to another list and returns it. Block until an "
         "element is available otherwise. Deletes the list if the last element was popped.",
         "2.2.0"});
  CommandSpec blmpop{"blmpop",
                     -5,
                     kWrite,
                     0,
                     0,
                     0,
                     BLMPop,
                     "list",
                     "Pops the first element from one of multiple lists. Blocks until an element "
                     "is available otherwise. Deletes the list if the last element was popped.",
                     "7.0.0"};
  blmpop.numkeys_at = 2;
  t.Add(std::move(blmpop));
}

}  // namespace pier::cache::server
