// Keys: DEL UNLINK EXISTS TOUCH EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST TTL PTTL EXPIRETIME
// PEXPIRETIME TYPE KEYS SCAN RANDOMKEY RENAME RENAMENX.
#include <charconv>
#include <climits>
#include <random>

#include "cache/server/command.h"
#include "cache/server/scan_args.h"
#include "pier/base/glob.h"

namespace pier::cache::server {

namespace {

std::vector<KeyRef> KeysFrom(CommandContext& c, size_t first) {
  std::vector<KeyRef> keys;
  keys.reserve(c.argc() - first);
  for (size_t i = first; i < c.argc(); ++i) keys.emplace_back(c.args[i]);
  return keys;
}

void Del(CommandContext& c) {
  auto keys = KeysFrom(c, 1);
  auto lock = c.db.Lock(keys.data(), keys.size());
  int64_t n = 0;
  const int64_t now = c.now_ms;
  for (const KeyRef& k : keys) {
    Keyspace& ks = c.db.ShardFor(k);
    if (Entry* e = ks.Find(k.key, k.hash, now)) {
      ks.Delete(e);
      ++n;
    }
  }
  c.out.Integer(n);
}

void ExistsGeneric(CommandContext& c, bool touch) {
  auto keys = KeysFrom(c, 1);
  auto lock = c.db.Lock(keys.data(), keys.size());
  int64_t n = 0;
  const int64_t now = c.now_ms;
  for (const KeyRef& k : keys) {
    Keyspace& ks = c.db.ShardFor(k);
    n += (touch ? ks.Lookup(k.key, k.hash, now) : ks.Find(k.key, k.hash, now)) != nullptr;
  }
  c.out.Integer(n);
}
void Exists(CommandContext& c) { ExistsGeneric(c, false); }
void Touch(CommandContext& c) { ExistsGeneric(c, true); }

// EXPIRE key n [NX|XX|GT|LT], and the PEXPIRE/EXPIREAT/PEXPIREAT variants.
void ExpireGeneric(CommandContext& c, bool millis, bool absolute) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (size_t i = 3; i < c.argc(); ++i) {
    std::string_view a = c.args[i];
    if (EqualsIgnoreCase(a, "NX"))
      nx = true;
    else if (EqualsIgnoreCase(a, "XX"))
      xx = true;
    else if (EqualsIgnoreCase(a, "GT"))
      gt = true;
    else if (EqualsIgnoreCase(a, "LT"))
      lt = true;
    else
      return c.out.Error("ERR Unsupported option " + std::string(a));
  }
  if (nx && (xx || gt || lt)) {
    return c.out.Error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if (gt && lt) return c.out.Error("ERR GT and LT options at the same time are not compatible");
  int64_t when;
  if (!ParseInt64(c.args[2], &when)) return c.out.Error(kErrNotInteger);
  const std::string bad = "ERR invalid expire time in '" + Lower(c.args[0]) + "' command";
  if (!millis) {
    if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) return c.out.Error(bad);
    when *= 1000;
  }
  const int64_t now = c.now_ms;
  if (!absolute) {
    if (when > LLONG_MAX - now) return c.out.Error(bad);
    when += now;
  }
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, now);
  if (!e) return c.out.Integer(0);
  const int64_t cur = e->expire_ms;  // 0: none
  if ((nx && cur != 0) || (xx && cur == 0) || (gt && (cur == 0 || when <= cur)) ||
      (lt && cur != 0 && when >= cur)) {
    return c.out.Integer(0);
  }
  if (when <= now)
    ks.Delete(e);
  else
    ks.SetExpire(e, when);
  c.out.Integer(1);
}
void Expire(CommandContext& c) { ExpireGeneric(c, false, false); }
void PExpire(CommandContext& c) { ExpireGeneric(c, true, false); }
void ExpireAt(CommandContext& c) { ExpireGeneric(c, false, true); }
void PExpireAt(CommandContext& c) { ExpireGeneric(c, true, true); }

void Persist(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  Keyspace& ks = c.db.ShardFor(k);
  Entry* e = ks.Find(k.key, k.hash, c.now_ms);
  if (!e || e->expire_ms == 0) return c.out.Integer(0);
  ks.SetExpire(e, 0);
  c.out.Integer(1);
}

enum class TtlKind { kTtl, kPTtl, kExpireTime, kPExpireTime };

void TtlGeneric(CommandContext& c, TtlKind kind) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  const int64_t now = c.now_ms;
  Entry* e = c.db.ShardFor(k).Find(k.key, k.hash, now);
  if (!e) return c.out.Integer(-2);
  if (e->expire_ms == 0) return c.out.Integer(-1);
  int64_t left = std::max<int64_t>(0, e->expire_ms - now);
  switch (kind) {
    case TtlKind::kTtl:
      return c.out.Integer((left + 500) / 1000);
    case TtlKind::kPTtl:
      return c.out.Integer(left);
    case TtlKind::kExpireTime:
      return c.out.Integer((e->expire_ms + 500) / 1000);  // as Redis, rounded
    case TtlKind::kPExpireTime:
      return c.out.Integer(e->expire_ms);
  }
}
void Ttl(CommandContext& c) { TtlGeneric(c, TtlKind::kTtl); }
void PTtl(CommandContext& c) { TtlGeneric(c, TtlKind::kPTtl); }
void ExpireTime(CommandContext& c) { TtlGeneric(c, TtlKind::kExpireTime); }
void PExpireTime(CommandContext& c) { TtlGeneric(c, TtlKind::kPExpireTime); }

std::string_view TypeName(const Entry* e) {
  if (!e) return "none";
  switch (e->type) {
    case ValueType::kString:
      return "string";
    case ValueType::kHash:
      return "hash";
    case ValueType::kList:
      return "list";
    case ValueType::kSet:
      return "set";
    case ValueType::kZSet:
      return "zset";
    case ValueType::kStream:
      return "stream";
  }
  return "none";
}

void Type(CommandContext& c) {
  KeyRef k(c.args[1]);
  auto lock = c.db.Lock(k);
  c.out.Simple(TypeName(c.db.ShardFor(k).Find(k.key, k.hash, c.now_ms)));
}

void Keys(CommandContext& c) {
  std::string_view pattern = c.args[1];
  const bool all = pattern == "*";
  std::vector<std::string> found;
  {
    auto lock = c.db.LockAll();
    const int64_t now = c.now_ms;
    for (size_t s = 0; s < c.db.shard_count(); ++s) {
      Keyspace& ks = c.db.shard(s);
      for (uint32_t id = 0; id < ks.id_limit(); ++id) {
        Entry* e = ks.entry(id);
        if (!e || (e->expire_ms != 0 && e->expire_ms <= now)) continue;
        if (all || GlobMatch(pattern, e->key())) found.emplace_back(e->key());
      }
    }
  }
  c.out.ArrayHeader(static_cast<int64_t>(found.size()));
  for (const auto& k : found) c.out.Bulk(k);
}

// Cursor: (next id << 8) | shard. Shards are at most 256.
void Scan(CommandContext& c) {
  ScanArgs a;
  if (!ParseScanArgs(c, 1, /*allow_type=*/true, &a)) return;
  const uint64_t cursor = a.cursor;
  const std::string_view pattern = a.pattern, type = a.type;
  const int64_t count = a.count;
  size_t shard = cursor & 0xff;
  uint32_t id = static_cast<uint32_t>(cursor >> 8);
  std::vector<std::string> keys;
  std::vector<Entry*> batch;
  size_t budget = static_cast<size_t>(count);  // ids to visit, over as many shards as it takes
  while (shard < c.db.shard_count() && budget > 0) {
    batch.clear();
    auto lock = c.db.LockShard(shard);
    Keyspace& ks = c.db.shard(shard);
    uint32_t next_id = ks.ScanIds(id, budget, c.now_ms, &batch);
    for (Entry* e : batch) {
      if (!pattern.empty() && !GlobMatch(pattern, e->key())) continue;
      if (!type.empty() && !EqualsIgnoreCase(type, TypeName(e))) continue;
      keys.emplace_back(e->key());
    }
    budget -= std::min<size_t>(budget, next_id > id ? next_id - id : 0);
    if (next_id >= ks.id_limit()) {
      ++shard;
      id = 0;
    } else {
      id = next_id;
    }
  }
  const uint64_t next = shard < c.db.shard_count() ? (uint64_t{id} << 8) | shard : 0;
  c.out.ArrayHeader(2);
  c.out.Bulk(std::to_string(next));
  c.out.ArrayHeader(static_cast<int64_t>(keys.size()));
  for (const auto& k : keys) c.out.Bulk(k);
}

void RandomKey(CommandContext& c) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const size_t n = c.db.shard_count();
  size_t start = rng() % n;
  for (size_t i = 0; i < n; ++i) {
    size_t s = (start + i) % n;
    auto lock = c.db.LockShard(s);
    Keyspace& ks = c.db.shard(s);
    for (int tries = 0; tries < 100 && ks.size() > 0; ++tries) {
      Entry* e = ks.Random(rng());
      if (e->expire_ms != 0 && e->expire_ms <= c.now_ms) {
        ks.Delete(e, Keyspace::Reason::kExpired);
        continue;
      }
      return c.out.Bulk(e->key());
    }
  }
  c.out.Null();
}

void RenameGeneric(CommandContext& c, bool nx) {
  KeyRef keys[2] = {KeyRef(c.args[1]), KeyRef(c.args[2])};
  auto lock = c.db.Lock(keys, 2);
  const int64_t now = c.now_ms;
  Keyspace& src = c.db.ShardFor(keys[0]);
  Keyspace& dst = c.db.ShardFor(keys[1]);
  Entry* e = src.Find(keys[0].key, keys[0].hash, now);
  if (!e) return c.out.Error(kErrNoSuchKey);
  if (keys[0].key == keys[1].key) return nx ? c.out.Integer(0) : c.out.Ok();
  Entry* target = dst.Find(keys[1].key, keys[1].hash, now);
  if (target && nx) return c.out.Integer(0);
  src.MoveTo(e, dst, keys[1].key, keys[1].hash);
  if (nx)
    c.out.Integer(1);
  else
    c.out.Ok();
}
void Rename(CommandContext& c) { RenameGeneric(c, false); }
void RenameNx(CommandContext& c) { RenameGeneric(c, true); }

}  // namespace

void RegisterKeyCommands(CommandTable& t) {
  t.Add({"del", -2, kWrite, 1, -1, 1, Del, "generic", "Deletes one or more keys.", "1.0.0"});
  t.Add({"unlink", -2, kWrite | kFast, 1, -1, 1, Del, "generic",
         "Asynchronously deletes one or more keys.", "4.0.0"});
  t.Add({"exists", -2, kReadonly | kFast, 1, -1, 1, Exists, "generic",
         "Determines whether one or more keys exist.", "1.0.0"});
  t.Add({"touch", -2, kReadonly | kFast, 1, -1, 1, Touch, "generic",
         "Returns the number of existing keys out of those specified after updating the time they "
         "were last accessed.",
         "3.2.1"});
  t.Add({"expire", -3, kWrite | kFast, 1, 1, 1, Expire, "generic",
         "Sets the expiration time of a key in seconds.", "1.0.0"});
  t.Add({"pexpire", -3, kWrite | kFast, 1, 1, 1, PExpire, "generic",
         "Sets the expiration time of a key in milliseconds.", "2.6.0"});
  t.Add({"expireat", -3, kWrite | kFast, 1, 1, 1, ExpireAt, "generic",
         "Sets the expiration time of a key to a Unix timestamp.", "1.2.0"});
  t.Add({"pexpireat", -3, kWrite | kFast, 1, 1, 1, PExpireAt, "generic",
         "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0"});
  t.Add({"persist", 2, kWrite | kFast, 1, 1, 1, Persist, "generic",
         "Removes the expiration time of a key.", "2.2.0"});
  t.Add({"ttl", 2, kReadonly | kFast, 1, 1, 1, Ttl, "generic",
         "Returns the expiration time in seconds of a key.", "1.0.0"});
  t.Add({"pttl", 2, kReadonly | kFast, 1, 1, 1, PTtl, "generic",
         "Returns the expiration time in milliseconds of a key.", "2.6.0"});
  t.Add({"expiretime", 2, kReadonly | kFast, 1, 1, 1, ExpireTime, "generic",
         "Returns the expiration time of a key as a Unix timestamp.", "7.0.0"});
  t.Add({"pexpiretime", 2, kReadonly | kFast, 1, 1, 1, PExpireTime, "generic",
         "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0"});
  t.Add({"type", 2, kReadonly | kFast, 1, 1, 1, Type, "generic",
         "Determines the type of value stored at a key.", "1.0.0"});
  t.Add({"keys", 2, kReadonly, 0, 0, 0, Keys, "generic",
         "Returns all key names that match a pattern.", "1.0.0"});
  t.Add({"scan", -2, kReadonly, 0, 0, 0, Scan, "generic",
         "Iterates over the key names in the database.", "2.8.0"});
  t.Add({"randomkey", 1, kReadonly, 0, 0, 0, RandomKey, "generic",
         "Returns a random key name from the database.", "1.0.0"});
  t.Add({"rename", 3, kWrite, 1, 2, 1, Rename, "generic",
         "Renames a key and overwrites the destination.", "1.0.0"});
  t.Add({"renamenx", 3, kWrite | kFast, 1, 2, 1, RenameNx, "generic",
         "Renames a key only when the target key name doesn't exist.", "1.0.0"});
}

}  // namespace pier::cache::server
