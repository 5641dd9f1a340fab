// Strings: GET SET SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET MSETNX INCR DECR INCRBY
// DECRBY INCRBYFLOAT APPEND STRLEN GETRANGE SETRANGE, with Redis 7.0's replies and errors.
#include <charconv>
#include <climits>
#include <cmath>

#include "cache/server/command.h"
#include "cache/server/expire_args.h"
#include "pier/net/resp_server.h"

namespace pier::cache::server {

namespace {

// Looks a key up for a read: nullptr (reply nil) or a string entry; WRONGTYPE is replied here.
Entry* ReadString(CommandContext& c, Keyspace& ks, const KeyRef& k, bool* wrongtype) {
  Entry* e = ks.Lookup(k.key, k.hash, c.now_ms);
  *wrongtype = e != nullptr && e->type != ValueType::kString;
  if (*wrongtype) c.out.Error(kErrWrongType);
  return *wrongtype ? nullptr : e;
}

void Get(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = ReadString(c, c.db.ShardFor(k), k, &wrong);
  if (wrong) return;
  if (e)
    c.out.Bulk(e->str());
  else
    c.out.Null();
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]
void Set(CommandContext& c) {
  bool nx = false, xx = false, get = false, keepttl = false;
  ExpireSpec ex;
  for (size_t i = 3; i < c.argc(); ++i) {
    std::string_view a = c.args[i];
    if (EqualsIgnoreCase(a, "NX") && !xx) {
      nx = true;
    } else if (EqualsIgnoreCase(a, "XX") && !nx) {
      xx = true;
    } else if (EqualsIgnoreCase(a, "GET")) {
      get = true;
    } else if (EqualsIgnoreCase(a, "KEEPTTL") && !ex.set) {
      keepttl = true;
    } else if (!keepttl && !ex.set && i + 1 < c.argc() && ex.Accept(a, c.args[i + 1])) {
      ++i;
    } else {
      return c.out.Error(kErrSyntax);
    }
  }
  int64_t expire_ms = keepttl ? -1 : 0;
  if (ex.set) {
    auto at = ex.Resolve(c.now_ms, "set");
    if (!at.ok()) return c.out.Error(at.status().message());
    expire_ms = *at;
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  if (!c.db.MakeRoom(&k, 1)) return c.out.Error(kErrOom);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* old = ks.Find(k.key, k.hash, c.now_ms);
  if (get && old != nullptr && old->type != ValueType::kString) return c.out.Error(kErrWrongType);
  std::string prev;
  if (get && old != nullptr) prev.assign(old->str());
  const bool had = old != nullptr;
  if ((nx && had) || (xx && !had)) {
    if (!get) return c.out.Null();
    return had ? c.out.Bulk(prev) : c.out.Null();
  }
  // An expiry in the past stores the key anyway (it expires when next touched), as Redis 7.0.
  ks.SetString(k.key, k.hash, c.args[2], expire_ms);
  if (!get) return c.out.Ok();
  if (had)
    c.out.Bulk(prev);
  else
    c.out.Null();
}

void SetNx(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  if (!c.db.MakeRoom(&k, 1)) return c.out.Error(kErrOom);
  Keyspace& ks = c.db.ShardFor(k);
  if (ks.Find(k.key, k.hash, c.now_ms)) return c.out.Integer(0);
  ks.SetString(k.key, k.hash, c.args[2], 0);
  c.out.Integer(1);
}

void SetExGeneric(CommandContext& c, bool millis, const char* name) {
  ExpireSpec ex;
  ex.Accept(millis ? "PX" : "EX", c.args[2]);
  auto at = ex.Resolve(c.now_ms, name);
  if (!at.ok()) return c.out.Error(at.status().message());
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  if (!c.db.MakeRoom(&k, 1)) return c.out.Error(kErrOom);
  c.db.ShardFor(k).SetString(k.key, k.hash, c.args[3], *at);
  c.out.Ok();
}
void SetEx(CommandContext& c) { SetExGeneric(c, false, "setex"); }
void PSetEx(CommandContext& c) { SetExGeneric(c, true, "psetex"); }

void GetSet(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  if (!c.db.MakeRoom(&k, 1)) return c.out.Error(kErrOom);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, c.now_ms);
  if (e && e->type != ValueType::kString) return c.out.Error(kErrWrongType);
  if (e)
    c.out.Bulk(e->str());
  else
    c.out.Null();
  ks.SetString(k.key, k.hash, c.args[2], 0);
}

void GetDel(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Keyspace& ks = c.db.ShardFor(k);
  bool wrong;
  Entry* e = ReadString(c, ks, k, &wrong);
  if (wrong) return;
  if (!e) return c.out.Null();
  c.out.Bulk(e->str());
  ks.Delete(e);
}

// GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]
void GetEx(CommandContext& c) {
  ExpireSpec ex;
  bool persist = false;
  for (size_t i = 2; i < c.argc(); ++i) {
    if (EqualsIgnoreCase(c.args[i], "PERSIST") && !ex.set && !persist) {
      persist = true;
    } else if (!persist && !ex.set && i + 1 < c.argc() && ex.Accept(c.args[i], c.args[i + 1])) {
      ++i;
    } else {
      return c.out.Error(kErrSyntax);
    }
  }
  int64_t at = 0;
  if (ex.set) {
    auto r = ex.Resolve(c.now_ms, "getex");
    if (!r.ok()) return c.out.Error(r.status().message());
    at = *r;
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Keyspace& ks = c.db.ShardFor(k);
  bool wrong;
  Entry* e = ReadString(c, ks, k, &wrong);
  if (wrong) return;
  if (!e) return c.out.Null();
  c.out.Bulk(e->str());
  if (ex.set && at <= c.now_ms) {
    ks.Delete(e);
  } else if (ex.set) {
    ks.SetExpire(e, at);
  } else if (persist) {
    ks.SetExpire(e, 0);
  }
}

void MGet(CommandContext& c) {
  std::vector<KeyRef> keys;
  keys.reserve(c.argc() - 1);
  for (size_t i = 1; i < c.argc(); ++i) keys.emplace_back(c.args[i]);
  auto lock = c.db.Lock(keys.data(), keys.size());
  c.out.ArrayHeader(static_cast<int64_t>(keys.size()));
  const int64_t now = c.now_ms;
  for (const KeyRef& k : keys) {
    Entry* e = c.db.ShardFor(k).Lookup(k.key, k.hash, now);
    if (e && e->type == ValueType::kString)
      c.out.Bulk(e->str());
    else
      c.out.Null();
  }
}

void MSetGeneric(CommandContext& c, bool nx) {
  if (c.argc() % 2 != 1) return c.WrongArity();
  std::vector<KeyRef> keys;
  for (size_t i = 1; i < c.argc(); i += 2) keys.emplace_back(c.args[i]);
  auto lock = c.db.Lock(keys.data(), keys.size());
  if (!c.db.MakeRoom(keys.data(), keys.size())) return c.out.Error(kErrOom);
  const int64_t now = c.now_ms;
  if (nx) {
    for (const KeyRef& k : keys) {
      if (c.db.ShardFor(k).Find(k.key, k.hash, now)) return c.out.Integer(0);
    }
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    c.db.ShardFor(keys[i]).SetString(keys[i].key, keys[i].hash, c.args[2 * i + 2], 0);
  }
  if (nx)
    c.out.Integer(1);
  else
    c.out.Ok();
}
void MSet(CommandContext& c) { MSetGeneric(c, false); }
void MSetNx(CommandContext& c) { MSetGeneric(c, true); }

void IncrGeneric(CommandContext& c, int64_t delta) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  if (!c.db.MakeRoom(&k, 1)) return c.out.Error(kErrOom);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, c.now_ms);
  int64_t v = 0;
  if (e) {
    if (e->type != ValueType::kString) return c.out.Error(kErrWrongType);
    if (!ParseInt64(e->str(), &v)) return c.out.Error(kErrNotInteger);
  }
  if ((delta < 0 && v < 0 && delta < LLONG_MIN - v) ||
      (delta > 0 && v > 0 && delta > LLONG_MAX - v)) {
    return c.out.Error(kErrOverflow);
  }
  v += delta;
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  ks.SetString(k.key, k.hash, std::string_view(buf, static_cast<size_t>(p - buf)), -1);
  c.out.Integer(v);
}
void Incr(CommandContext& c) { IncrGeneric(c, 1); }
void Decr(CommandContext& c) { IncrGeneric(c, -1); }
void IncrBy(CommandContext& c) {
  int64_t d;
  if (!ParseInt64(c.args[2], &d)) return c.out.Error(kErrNotInteger);
  IncrGeneric(c, d);
}
void DecrBy(CommandContext& c) {
  int64_t d;
  if (!ParseInt64(c.args[2], &d)) return c.out.Error(kErrNotInteger);
  if (d == LLONG_MIN) return c.out.Error("ERR decrement would overflow");
  IncrGeneric(c, -d);
}

void IncrByFloat(CommandContext& c) {
  long double incr;
  if (!ParseLongDouble(c.args[2], &incr)) return c.out.Error(kErrNotFloat);
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  if (!c.db.MakeRoom(&k, 1)) return c.out.Error(kErrOom);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, c.now_ms);
  long double v = 0;
  if (e) {
    if (e->type != ValueType::kString) return c.out.Error(kErrWrongType);
    if (!ParseLongDouble(e->str(), &v)) return c.out.Error(kErrNotFloat);
  }
  v += incr;
  if (std::isnan(v) || std::isinf(v))
    return c.out.Error("ERR increment would produce NaN or Infinity");
  std::string s = FormatLongDouble(v);
  ks.SetString(k.key, k.hash, s, -1);
  c.out.Bulk(s);
}

void Append(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  if (!c.db.MakeRoom(&k, 1)) return c.out.Error(kErrOom);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, c.now_ms);
  std::string_view add = c.args[2];
  if (!e) {
    ks.SetString(k.key, k.hash, add, 0);
    return c.out.Integer(static_cast<int64_t>(add.size()));
  }
  if (e->type != ValueType::kString) return c.out.Error(kErrWrongType);
  size_t old = e->val_len;
  if (old + add.size() > c.server.limits().max_bulk_len) return c.out.Error(kErrTooBig);
  e = ks.ResizeString(e, old + add.size());
  std::memcpy(e->mutable_str() + old, add.data(), add.size());
  c.out.Integer(static_cast<int64_t>(e->val_len));
}

void StrLen(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = ReadString(c, c.db.ShardFor(k), k, &wrong);
  if (wrong) return;
  c.out.Integer(e ? e->val_len : 0);
}

void GetRange(CommandContext& c) {
  int64_t start, end;
  if (!ParseInt64(c.args[2], &start) || !ParseInt64(c.args[3], &end))
    return c.out.Error(kErrNotInteger);
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  bool wrong;
  Entry* e = ReadString(c, c.db.ShardFor(k), k, &wrong);
  if (wrong) return;
  std::string_view s = e ? e->str() : std::string_view();
  const int64_t len = static_cast<int64_t>(s.size());
  // Redis 7.0: negative indexes count from the end; an empty or inverted range is "".
  if (start < 0 && end < 0 && start > end) return c.out.Bulk("");
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (len == 0 || start > end) return c.out.Bulk("");
  c.out.Bulk(s.substr(static_cast<size_t>(start), static_cast<size_t>(end - start + 1)));
}

void SetRange(CommandContext& c) {
  int64_t offset;
  if (!ParseInt64(c.args[2], &offset)) return c.out.Error(kErrNotInteger);
  if (offset < 0) return c.out.Error("ERR offset is out of range");
  std::string_view v = c.args[3];
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, c.now_ms);
  if (e && e->type != ValueType::kString) return c.out.Error(kErrWrongType);
  const size_t cur = e ? e->val_len : 0;
  if (v.empty()) return c.out.Integer(static_cast<int64_t>(cur));
  if (static_cast<uint64_t>(offset) + v.size() > c.server.limits().max_bulk_len)
    return c.out.Error(kErrTooBig);
  if (!c.db.MakeRoom(&k, 1)) return c.out.Error(kErrOom);
  e = ks.Find(k.key, k.hash, c.now_ms);  // MakeRoom may have evicted it
  const size_t need = static_cast<size_t>(offset) + v.size();
  if (!e)
    e = ks.SetString(k.key, k.hash, std::string(need, '\0'), 0);
  else if (need > e->val_len)
    e = ks.ResizeString(e, need);
  std::memcpy(e->mutable_str() + offset, v.data(), v.size());
  c.out.Integer(static_cast<int64_t>(e->val_len));
}

}  // namespace

void RegisterStringCommands(CommandTable& t) {
  const uint32_t w = kWrite | kDenyOom;
  t.Add({"get", 2, kReadonly | kFast, 1, 1, 1, Get, "string", "Returns the string value of a key.",
         "1.0.0"});
  t.Add(
      {"set", -3, w, 1, 1, 1, Set, "string",
       "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
       "1.0.0"});
  t.Add({"setnx", 3, w | kFast, 1, 1, 1, SetNx, "string",
         "Set the string value of a key only when the key doesn't exist.", "1.0.0"});
  t.Add({"setex", 4, w, 1, 1, 1, SetEx, "string",
         "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
         "2.0.0"});
  t.Add({"psetex", 4, w, 1, 1, 1, PSetEx, "string",
         "Sets both string value and expiration time in milliseconds of a key. The key is created "
         "if it doesn't exist.",
         "2.6.0"});
  t.Add({"getset", 3, w | kFast, 1, 1, 1, GetSet, "string",
         "Returns the previous string value of a key after setting it to a new value.", "1.0.0"});
  t.Add({"getdel", 2, kWrite | kFast, 1, 1, 1, GetDel, "string",
         "Returns the string value of a key after deleting the key.", "6.2.0"});
  t.Add({"getex", -2, kWrite | kFast, 1, 1, 1, GetEx, "string",
         "Returns the string value of a key after setting its expiration time.", "6.2.0"});
  t.Add({"mget", -2, kReadonly | kFast, 1, -1, 1, MGet, "string",
         "Atomically returns the string values of one or more keys.", "1.0.0"});
  t.Add({"mset", -3, w, 1, -1, 2, MSet, "string",
         "Atomically creates or modifies the string values of one or more keys.", "1.0.1"});
  t.Add(
      {"msetnx", -3, w, 1, -1, 2, MSetNx, "string",
       "Atomically modifies the string values of one or more keys only when all keys don't exist.",
       "1.0.1"});
  t.Add({"incr", 2, w | kFast, 1, 1, 1, Incr, "string",
         "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't "
         "exist.",
         "1.0.0"});
  t.Add({"decr", 2, w | kFast, 1, 1, 1, Decr, "string",
         "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't "
         "exist.",
         "1.0.0"});
  t.Add({"incrby", 3, w | kFast, 1, 1, 1, IncrBy, "string",
         "Increments the integer value of a key by a number. Uses 0 as initial value if the key "
         "doesn't exist.",
         "1.0.0"});
  t.Add({"decrby", 3, w | kFast, 1, 1, 1, DecrBy, "string",
         "Decrements a number from the integer value of a key. Uses 0 as initial value if the key "
         "doesn't exist.",
         "1.0.0"});
  t.Add({"incrbyfloat", 3, w | kFast, 1, 1, 1, IncrByFloat, "string",
         "Increment the floating point value of a key by a number. Uses 0 as initial value if the "
         "key doesn't exist.",
         "2.6.0"});
  t.Add({"append", 3, w | kFast, 1, 1, 1, Append, "string",
         "Appends a string to the value of a key. Creates the key if it doesn't exist.", "2.0.0"});
  t.Add({"strlen", 2, kReadonly | kFast, 1, 1, 1, StrLen, "string",
         "Returns the length of a string value.", "2.2.0"});
  t.Add({"getrange", 4, kReadonly, 1, 1, 1, GetRange, "string",
         "Returns a substring of the string stored at a key.", "2.4.0"});
  t.Add({"setrange", 4, w, 1, 1, 1, SetRange, "string",
         "Overwrites a part of a string value with another by an offset. Creates the key if it "
         "doesn't exist.",
         "2.2.0"});
}

}  // namespace pier::cache::server
