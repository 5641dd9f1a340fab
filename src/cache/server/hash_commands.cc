// Hashes: HSET HSETNX HMSET HGET HMGET HDEL HGETALL HLEN HEXISTS HSTRLEN HINCRBY HINCRBYFLOAT
// HKEYS HVALS HSCAN, so session-style caches work.
#include <charconv>
#include <climits>
#include <cmath>

#include "cache/server/command.h"
#include "cache/server/scan_args.h"
#include "pier/base/glob.h"

namespace pier::cache::server {

namespace {

// Runs fn(hash) under the lock of the key in args[1], with nullptr when the key is absent;
// answers WRONGTYPE instead when the key holds something else.
template <typename Fn>
void ReadHash(CommandContext& c, Fn&& fn) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e = c.db.ShardFor(k).Lookup(k.key, k.hash, c.now_ms);
  if (e && e->type != ValueType::kHash) return c.out.Error(kErrWrongType);
  fn(e ? e->hash() : nullptr);
}

void BulkOrNull(CommandContext& c, std::optional<std::string_view> v) {
  if (v) {
    c.out.Bulk(*v);
  } else {
    c.out.Null();
  }
}

// The hash for writing, created when absent; nullptr after replying WRONGTYPE or OOM.
Entry* WriteHash(CommandContext& c, const KeyRef& k) {
  if (!c.db.MakeRoom(&k, 1)) {
    c.out.Error(kErrOom);
    return nullptr;
  }
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, c.now_ms);
  if (e && e->type != ValueType::kHash) {
    c.out.Error(kErrWrongType);
    return nullptr;
  }
  return e ? e : ks.CreateHash(k.key, k.hash);
}

void HSetGeneric(CommandContext& c, bool reply_ok) {
  if (c.argc() % 2 != 0) return c.WrongArity();
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e = WriteHash(c, k);
  if (!e) return;
  size_t before = e->hash()->MemoryBytes();
  int64_t added = 0;
  for (size_t i = 2; i < c.argc(); i += 2) added += e->hash()->Set(c.args[i], c.args[i + 1]);
  c.db.ShardFor(k).HashChanged(e, before);
  if (reply_ok)
    c.out.Ok();
  else
    c.out.Integer(added);
}
void HSet(CommandContext& c) { HSetGeneric(c, false); }
void HMSet(CommandContext& c) { HSetGeneric(c, true); }

void HSetNx(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e = WriteHash(c, k);
  if (!e) return;
  if (e->hash()->Get(c.args[2])) return c.out.Integer(0);
  size_t before = e->hash()->MemoryBytes();
  e->hash()->Set(c.args[2], c.args[3]);
  c.db.ShardFor(k).HashChanged(e, before);
  c.out.Integer(1);
}

void HGet(CommandContext& c) {
  ReadHash(c, [&](HashValue* h) { BulkOrNull(c, h ? h->Get(c.args[2]) : std::nullopt); });
}

void HMGet(CommandContext& c) {
  ReadHash(c, [&](HashValue* h) {
    c.out.ArrayHeader(static_cast<int64_t>(c.argc() - 2));
    for (size_t i = 2; i < c.argc(); ++i) {
      BulkOrNull(c, h ? h->Get(c.args[i]) : std::nullopt);
    }
  });
}

void HDel(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, c.now_ms);
  if (!e) return c.out.Integer(0);
  if (e->type != ValueType::kHash) return c.out.Error(kErrWrongType);
  size_t before = e->hash()->MemoryBytes();
  int64_t n = 0;
  for (size_t i = 2; i < c.argc(); ++i) n += e->hash()->Erase(c.args[i]);
  ks.HashChanged(e, before, n > 0);
  if (e->hash()->size() == 0) ks.Delete(e);  // Redis deletes empty hashes
  c.out.Integer(n);
}

enum class Part { kBoth, kKeys, kValues };

void HGetAllGeneric(CommandContext& c, Part part) {
  ReadHash(c, [&](HashValue* h) {
    const int64_t n = h ? static_cast<int64_t>(h->size()) : 0;
    if (part == Part::kBoth)
      c.out.MapHeader(n);
    else
      c.out.ArrayHeader(n);
    if (!h) return;
    h->ForEach([&](std::string_view f, std::string_view v) {
      if (part != Part::kValues) c.out.Bulk(f);
      if (part != Part::kKeys) c.out.Bulk(v);
    });
  });
}
void HGetAll(CommandContext& c) { HGetAllGeneric(c, Part::kBoth); }
void HKeys(CommandContext& c) { HGetAllGeneric(c, Part::kKeys); }
void HVals(CommandContext& c) { HGetAllGeneric(c, Part::kValues); }

void HLen(CommandContext& c) {
  ReadHash(c, [&](HashValue* h) { c.out.Integer(h ? static_cast<int64_t>(h->size()) : 0); });
}

void HExists(CommandContext& c) {
  ReadHash(c, [&](HashValue* h) { c.out.Integer(h && h->Get(c.args[2]) ? 1 : 0); });
}

void HStrLen(CommandContext& c) {
  ReadHash(c, [&](HashValue* h) {
    auto v = h ? h->Get(c.args[2]) : std::nullopt;
    c.out.Integer(v ? static_cast<int64_t>(v->size()) : 0);
  });
}

void HIncrBy(CommandContext& c) {
  int64_t incr;
  if (!ParseInt64(c.args[3], &incr)) return c.out.Error(kErrNotInteger);
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e = WriteHash(c, k);
  if (!e) return;
  int64_t v = 0;
  if (auto cur = e->hash()->Get(c.args[2])) {
    if (!ParseInt64(*cur, &v)) return c.out.Error("ERR hash value is not an integer");
  }
  if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) || (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
    return c.out.Error(kErrOverflow);
  }
  v += incr;
  size_t before = e->hash()->MemoryBytes();
  e->hash()->Set(c.args[2], std::to_string(v));
  c.db.ShardFor(k).HashChanged(e, before);
  c.out.Integer(v);
}

void HIncrByFloat(CommandContext& c) {
  long double incr;
  if (!ParseLongDouble(c.args[3], &incr)) return c.out.Error(kErrNotFloat);
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Entry* e = WriteHash(c, k);
  if (!e) return;
  long double v = 0;
  if (auto cur = e->hash()->Get(c.args[2])) {
    if (!ParseLongDouble(*cur, &v)) return c.out.Error("ERR hash value is not a float");
  }
  v += incr;
  if (std::isnan(v) || std::isinf(v))
    return c.out.Error("ERR increment would produce NaN or Infinity");
  std::string s = FormatLongDouble(v);
  size_t before = e->hash()->MemoryBytes();
  e->hash()->Set(c.args[2], s);
  c.db.ShardFor(k).HashChanged(e, before);
  c.out.Bulk(s);
}

// HSCAN key cursor [MATCH p] [COUNT n]: like Redis for small (listpack) hashes, the whole hash
// comes back in one call with cursor 0.
void HScan(CommandContext& c) {
  ScanArgs a;
  if (!ParseScanArgs(c, 2, /*allow_type=*/false, &a)) return;
  const uint64_t cursor = a.cursor;
  const std::string_view pattern = a.pattern;
  ReadHash(c, [&](HashValue* h) {
    std::vector<std::pair<std::string_view, std::string_view>> items;
    if (h && cursor == 0) {
      h->ForEach([&](std::string_view f, std::string_view v) {
        if (pattern.empty() || GlobMatch(pattern, f)) items.emplace_back(f, v);
      });
    }
    c.out.ArrayHeader(2);
    c.out.Bulk("0");
    c.out.ArrayHeader(static_cast<int64_t>(items.size() * 2));
    for (const auto& [f, v] : items) {
      c.out.Bulk(f);
      c.out.Bulk(v);
    }
  });
}

}  // namespace

void RegisterHashCommands(CommandTable& t) {
  const uint32_t w = kWrite | kDenyOom;
  t.Add({"hset", -4, w | kFast, 1, 1, 1, HSet, "hash",
         "Creates or modifies the value of a field in a hash.", "2.0.0"});
  t.Add({"hmset", -4, w | kFast, 1, 1, 1, HMSet, "hash", "Sets the values of multiple fields.",
         "2.0.0"});
  t.Add({"hsetnx", 4, w | kFast, 1, 1, 1, HSetNx, "hash",
         "Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0"});
  t.Add({"hget", 3, kReadonly | kFast, 1, 1, 1, HGet, "hash",
         "Returns the value of a field in a hash.", "2.0.0"});
  t.Add({"hmget", -3, kReadonly | kFast, 1, 1, 1, HMGet, "hash",
         "Returns the values of all fields in a hash.", "2.0.0"});
  t.Add({"hdel", -3, kWrite | kFast, 1, 1, 1, HDel, "hash",
         "Deletes one or more fields and their values from a hash. Deletes the hash if no fields "
         "remain.",
         "2.0.0"});
  t.Add({"hgetall", 2, kReadonly, 1, 1, 1, HGetAll, "hash",
         "Returns all fields and values in a hash.", "2.0.0"});
  t.Add({"hkeys", 2, kReadonly, 1, 1, 1, HKeys, "hash", "Returns all fields in a hash.", "2.0.0"});
  t.Add({"hvals", 2, kReadonly, 1, 1, 1, HVals, "hash", "Returns all values in a hash.", "2.0.0"});
  t.Add({"hlen", 2, kReadonly | kFast, 1, 1, 1, HLen, "hash",
         "Returns the number of fields in a hash.", "2.0.0"});
  t.Add({"hexists", 3, kReadonly | kFast, 1, 1, 1, HExists, "hash",
         "Determines whether a field exists in a hash.", "2.0.0"});
  t.Add({"hstrlen", 3, kReadonly | kFast, 1, 1, 1, HStrLen, "hash",
         "Returns the length of the value of a field.", "3.2.0"});
  t.Add({"hincrby", 4, w | kFast, 1, 1, 1, HIncrBy, "hash",
         "Increments the integer value of a field in a hash by a number. Uses 0 as initial value "
         "if the field doesn't exist.",
         "2.0.0"});
  t.Add({"hincrbyfloat", 4, w | kFast, 1, 1, 1, HIncrByFloat, "hash",
         "Increments the floating point value of a field by a number. Uses 0 as initial value if "
         "the field doesn't exist.",
         "2.6.0"});
  t.Add({"hscan", -3, kReadonly, 1, 1, 1, HScan, "hash",
         "Iterates over fields and values of a hash.", "2.8.0"});
}

}  // namespace pier::cache::server
