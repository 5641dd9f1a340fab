// Server commands of the keyspace (DBSIZE FLUSHDB FLUSHALL), and the keyspace's INFO sections
// and CONFIG parameters (the server's own: net/resp_server_commands.cc).
#include <fmt/format.h>
#include <unistd.h>

#include <fstream>

#include "cache/server/cluster.h"
#include "cache/server/command.h"
#include "cache/server/encoding_limits.h"
#include "pier/base/memory_units.h"
#include "pier/net/resp_server.h"

namespace pier::cache::server {

namespace {

uint64_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

void DbSize(CommandContext& c) { c.out.Integer(static_cast<int64_t>(c.db.KeyCount())); }

void Flush(CommandContext& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !EqualsIgnoreCase(c.args[1], "ASYNC") &&
                       !EqualsIgnoreCase(c.args[1], "SYNC"))) {
    return c.out.Error(kErrSyntax);
  }
  auto lock = c.db.LockAll();
  for (size_t i = 0; i < c.db.shard_count(); ++i) c.db.shard(i).Clear();
  c.server.tracking().InvalidateAll();
  c.out.Ok();
}

}  // namespace

bool AppendKeyspaceInfo(Database& db, const ClusterConfig* cluster, std::atomic<uint64_t>& peak,
                        std::string_view section, std::string* out) {
  if (section == "server") {
    *out += fmt::format("redis_mode:{}\r\n", cluster ? "cluster" : "standalone");
  } else if (section == "memory") {
    uint64_t used = db.UsedBytes();
    uint64_t p = peak.load();
    while (used > p && !peak.compare_exchange_weak(p, used)) {
    }
    p = std::max(p, used);
    uint64_t rss = RssBytes();
    *out += fmt::format(
        "used_memory:{}\r\nused_memory_human:{}\r\nused_memory_rss:{}\r\n"
        "used_memory_rss_human:{}\r\nused_memory_peak:{}\r\nused_memory_peak_human:{}\r\n"
        "maxmemory:{}\r\nmaxmemory_human:{}\r\nmaxmemory_policy:{}\r\n"
        "mem_fragmentation_ratio:{:.2f}\r\nmem_allocator:libc\r\nlazyfree_pending_objects:{}\r\n",
        used, HumanBytes(used), rss, HumanBytes(rss), p, HumanBytes(p), db.maxmemory(),
        HumanBytes(db.maxmemory()), db.policy_name(),
        used ? static_cast<double>(rss) / static_cast<double>(used) : 0.0,
        db.lazy_free().pending());
  } else if (section == "stats") {
    KeyspaceStats ks = db.Stats();
    *out += fmt::format(
        "expired_keys:{}\r\nevicted_keys:{}\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\n",
        ks.expired, ks.evicted, ks.hits, ks.misses);
  } else if (section == "cluster") {
    *out += fmt::format("cluster_enabled:{}\r\n", cluster ? 1 : 0);
  } else if (section == "keyspace") {
    if (size_t n = db.KeyCount(); n > 0) {
      *out += fmt::format("db0:keys={},expires={},avg_ttl=0\r\n", n, db.VolatileCount());
    }
  } else {
    return false;
  }
  return true;
}

std::vector<net::RespConfigParam> KeyspaceConfigParams(Database& db) {
  std::vector<net::RespConfigParam> params = {
      {"maxmemory", [&db] { return std::to_string(db.maxmemory()); },
       [&db](std::string_view v) {
         auto bytes = ParseMemory(v);
         if (!bytes.ok()) return Status::InvalidArgument("argument must be a memory value");
         return db.SetMaxMemory(*bytes);
       }},
      {"maxmemory-policy", [&db] { return db.policy_name(); },
       [&db](std::string_view v) {
         Status s = db.SetPolicy(Lower(v));
         return s.ok() ? s
                       : Status::InvalidArgument(
                             "argument(s) must be one of the following: noeviction, allkeys-lru, "
                             "allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, "
                             "volatile-random, volatile-ttl, allkeys-fifo, allkeys-s3fifo, "
                             "allkeys-sieve, allkeys-wtinylfu");
       }},
      {"maxmemory-samples", [] { return std::string("5"); }, nullptr},
      {"notify-keyspace-events", [&db] { return FormatKeyspaceEvents(db.notifier().flags()); },
       [&db](std::string_view v) {
         const auto flags = ParseKeyspaceEvents(v);
         if (!flags)
           return Status::InvalidArgument("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
         db.notifier().set_flags(*flags);
         return Status::Ok();
       }},
      {"busy-reply-threshold", [&db] { return std::to_string(db.scripts().busy_threshold_ms()); },
       [&db](std::string_view v) {
         int64_t ms;
         if (!ParseInt64(v, &ms) || ms < 0)
           return Status::InvalidArgument("argument couldn't be parsed into an integer");
         db.scripts().set_busy_threshold_ms(ms);
         return Status::Ok();
       }},
  };
  // Encoding thresholds under their Redis 7.0 names and the older ziplist aliases.
  using L = EncodingLimits;
  const std::pair<const char*, std::atomic<int64_t>*> limits[] = {
      {"hash-max-listpack-entries", &L::hash_max_listpack_entries},
      {"hash-max-ziplist-entries", &L::hash_max_listpack_entries},
      {"hash-max-listpack-value", &L::hash_max_listpack_value},
      {"hash-max-ziplist-value", &L::hash_max_listpack_value},
      {"set-max-intset-entries", &L::set_max_intset_entries},
      {"zset-max-listpack-entries", &L::zset_max_listpack_entries},
      {"zset-max-ziplist-entries", &L::zset_max_listpack_entries},
      {"zset-max-listpack-value", &L::zset_max_listpack_value},
      {"zset-max-ziplist-value", &L::zset_max_listpack_value},
      {"list-max-listpack-size", &L::list_max_listpack_size},
      {"list-max-ziplist-size", &L::list_max_listpack_size},
      {"list-compress-depth", &L::list_compress_depth},
  };
  for (const auto& [name, value] : limits) {
    const bool signed_ok = value == &L::list_max_listpack_size;
    params.push_back({name, [value] { return std::to_string(value->load()); },
                      [value, signed_ok](std::string_view v) {
                        int64_t n;
                        if (!ParseInt64(v, &n)) {
                          return Status::InvalidArgument(
                              "argument couldn't be parsed into an integer");
                        }
                        if (n < 0 && !signed_ok) {
                          return Status::InvalidArgument(
                              "argument must be between 0 and 9223372036854775807 inclusive");
                        }
                        value->store(n);
                        return Status::Ok();
                      }});
  }
  return params;
}

void RegisterServerCommands(CommandTable& t) {
  t.Add({"dbsize", 1, kReadonly | kFast, 0, 0, 0, DbSize, "server",
         "Returns the number of keys in the database.", "1.0.0"});
  t.Add({"flushdb", -1, kWrite, 0, 0, 0, Flush, "server",
         "Removes all keys from the current database.", "1.0.0"});
  t.Add({"flushall", -1, kWrite, 0, 0, 0, Flush, "server", "Removes all keys from all databases.",
         "1.0.0"});
}

}  // namespace pier::cache::server
